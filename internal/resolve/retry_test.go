package resolve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/testing/faultproxy"
	"github.com/imglock/imglock/internal/testing/registry"
)

// fastPolicy keeps backoffs short; Retry-After still sets its own waits.
var fastPolicy = RetryPolicy{Attempts: 5, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Second, HeaderTimeout: 10 * time.Second}

// scripted is a real HTTP server that answers each request with the next
// of its handlers (the last one repeats), recording when requests came.
type scripted struct {
	*httptest.Server
	mu    sync.Mutex
	times []time.Time
	conns atomic.Int32 // connections opened
}

func serveScript(t *testing.T, steps ...http.HandlerFunc) *scripted {
	t.Helper()
	s := &scripted{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		i := len(s.times)
		s.times = append(s.times, time.Now())
		s.mu.Unlock()
		steps[min(i, len(steps)-1)](w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *scripted) requests() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times...)
}

func status(code int, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if code != http.StatusOK {
			fmt.Fprintf(w, `{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}`)
		} else {
			io.WriteString(w, "ok")
		}
	}
}

func do(t *testing.T, ctx context.Context, rt http.RoundTripper, method, url string, body io.Reader) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer s3cret-token")
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

func TestRetryAfterThenSuccess(t *testing.T) {
	s := serveScript(t, status(http.StatusTooManyRequests, "1"), status(http.StatusOK, ""))
	resp, err := do(t, context.Background(), NewRetryTransport(http.DefaultTransport, fastPolicy), http.MethodGet, s.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	reqs := s.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	// The backoff alone would be a millisecond: the wait is Retry-After's.
	if gap := reqs[1].Sub(reqs[0]); gap < 900*time.Millisecond {
		t.Errorf("retried after %s, before Retry-After: 1", gap)
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	now := time.Now()
	d, ok := parseRetryAfter(now.Add(3*time.Second).UTC().Format(http.TimeFormat), now)
	if !ok || d < 2*time.Second || d > 4*time.Second {
		t.Errorf("HTTP-date Retry-After: %s %v, want about 3s", d, ok)
	}
	for _, bad := range []string{"", "-1", "soon"} {
		if _, ok := parseRetryAfter(bad, now); ok {
			t.Errorf("Retry-After %q accepted", bad)
		}
	}
}

func TestUnavailableTwiceThenSuccessReusesConnection(t *testing.T) {
	s := serveScript(t, status(http.StatusServiceUnavailable, ""), status(http.StatusBadGateway, ""), status(http.StatusOK, ""))
	resp, err := do(t, context.Background(), NewRetryTransport(&http.Transport{}, fastPolicy), http.MethodGet, s.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "ok" || resp.StatusCode != http.StatusOK {
		t.Fatalf("got %s %q %v", resp.Status, body, err)
	}
	if n := len(s.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	// Discarded answers were drained, so one connection served all three.
	if n := s.conns.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestPermanentUnavailableGivesUp(t *testing.T) {
	s := serveScript(t, status(http.StatusServiceUnavailable, ""))
	_, err := do(t, context.Background(), NewRetryTransport(http.DefaultTransport, fastPolicy), http.MethodHead, s.URL+"/v2/a/b/manifests/1", nil)
	want := fmt.Sprintf(`Head "%s/v2/a/b/manifests/1": 503 Service Unavailable after 5 attempts`, s.URL)
	if err == nil || err.Error() != want {
		t.Fatalf("error %v\nwant      %s", err, want)
	}
	var rerr *RetryError
	if !errors.As(err, &rerr) || rerr.StatusCode != http.StatusServiceUnavailable || rerr.Attempts != 5 {
		t.Errorf("error %#v, want a *RetryError for 503 after 5 attempts", rerr)
	}
	if n := len(s.requests()); n != 5 {
		t.Errorf("%d requests, want 5", n)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error shows credentials: %v", err)
	}
}

func TestGivesUpWithRegistryMessage(t *testing.T) {
	s := serveScript(t, status(http.StatusServiceUnavailable, ""))
	p := fastPolicy
	p.Attempts = 2
	_, err := do(t, context.Background(), NewRetryTransport(http.DefaultTransport, p), http.MethodGet, s.URL, nil)
	if err == nil || !strings.HasSuffix(err.Error(), ": 503 Service Unavailable (UNAVAILABLE: try later) after 2 attempts") {
		t.Errorf("error %v, want the registry's message and the attempts", err)
	}
}

func TestNotFoundNotRetried(t *testing.T) {
	s := serveScript(t, status(http.StatusNotFound, ""))
	resp, err := do(t, context.Background(), NewRetryTransport(http.DefaultTransport, fastPolicy), http.MethodHead, s.URL, nil)
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("got %v %v, want the 404 itself", resp, err)
	}
	if n := len(s.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestBodyNotRetried(t *testing.T) {
	s := serveScript(t, status(http.StatusServiceUnavailable, ""))
	resp, err := do(t, context.Background(), NewRetryTransport(http.DefaultTransport, fastPolicy), http.MethodPost, s.URL, strings.NewReader("payload"))
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("got %v %v, want the 503 itself", resp, err)
	}
	if n := len(s.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestRetryAfterPastDeadlineStopsNow(t *testing.T) {
	s := serveScript(t, status(http.StatusTooManyRequests, "30"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := do(t, ctx, NewRetryTransport(http.DefaultTransport, fastPolicy), http.MethodHead, s.URL, nil)
	if err == nil || !strings.HasSuffix(err.Error(), ": 429 Too Many Requests: registry asked to retry after 30s, past the deadline") {
		t.Errorf("error %v", err)
	}
	if ctx.Err() != nil {
		t.Error("returned only at the deadline, not at once")
	}
	if n := len(s.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestCancelStopsWaiting(t *testing.T) {
	s := serveScript(t, status(http.StatusServiceUnavailable, "3600"))
	p := fastPolicy
	p.MaxDelay = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once the first answer is in: the transport is then waiting.
	inner := &countingTransport{inner: http.DefaultTransport, answered: cancel}
	errc := make(chan error, 1)
	go func() {
		_, err := do(t, ctx, NewRetryTransport(inner, p), http.MethodGet, s.URL, nil)
		errc <- err
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "while waiting to retry 503 Service Unavailable") {
			t.Errorf("error %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still waiting after the context was cancelled")
	}
	if n := len(s.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// countingTransport counts the attempts that reach the network, and calls
// answered, if set, after each answer.
type countingTransport struct {
	inner    http.RoundTripper
	n        atomic.Int32
	answered func()
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c.n.Add(1)
	resp, err := c.inner.RoundTrip(req)
	if err == nil && c.answered != nil {
		c.answered()
	}
	return resp, err
}

func pushedBehindProxy(t *testing.T) (*faultproxy.Proxy, string) {
	t.Helper()
	reg := registry.Start()
	t.Cleanup(reg.Close)
	d, err := reg.Push("acme/base:1", "v1")
	if err != nil {
		t.Fatal(err)
	}
	p := faultproxy.Start(reg.Addr)
	t.Cleanup(p.Close)
	return p, d
}

func TestConnectionResetRetried(t *testing.T) {
	p, digest := pushedBehindProxy(t)
	p.Reset(2)
	// No keep-alive: net/http would otherwise retry a reset on a reused
	// connection itself, hiding whether this transport does.
	inner := &countingTransport{inner: &http.Transport{DisableKeepAlives: true}}
	resp, err := do(t, context.Background(), NewRetryTransport(inner, fastPolicy), http.MethodHead, "http://"+p.Addr+"/v2/acme/base/manifests/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != digest {
		t.Errorf("digest %q, want %s", got, digest)
	}
	if n := inner.n.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestConnectionRefusedGivesUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := fastPolicy
	p.Attempts = 3
	inner := &countingTransport{inner: http.DefaultTransport}
	_, err = do(t, context.Background(), NewRetryTransport(inner, p), http.MethodGet, "http://"+addr+"/v2/", nil)
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.HasSuffix(err.Error(), "connection refused after 3 attempts") {
		t.Errorf("error %v", err)
	}
	if n := inner.n.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

func TestStallAbandonedAndRetried(t *testing.T) {
	p, digest := pushedBehindProxy(t)
	p.Stall(1)
	pol := fastPolicy
	pol.HeaderTimeout = 200 * time.Millisecond
	resp, err := do(t, context.Background(), NewRetryTransport(newTransport(pol), pol), http.MethodGet, "http://"+p.Addr+"/v2/acme/base/manifests/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("Docker-Content-Digest"); got != digest {
		t.Errorf("digest %q, want %s", got, digest)
	}
	// At least the stalled GET and its retry; on a loaded machine the retry
	// itself may be slow enough to be abandoned too.
	if got := p.Counts(); got["get"] < 2 {
		t.Errorf("proxy saw %v, want the stalled GET and its retry", got)
	}
}

func TestStallGivesUpAsATimeout(t *testing.T) {
	p, _ := pushedBehindProxy(t)
	p.Stall(100)
	pol := fastPolicy
	pol.Attempts, pol.HeaderTimeout = 2, 100*time.Millisecond
	_, err := do(t, context.Background(), NewRetryTransport(newTransport(pol), pol), http.MethodHead, "http://"+p.Addr+"/v2/acme/base/manifests/1", nil)
	var rerr *RetryError
	var ne net.Error
	if !errors.As(err, &rerr) || !errors.As(rerr.Err, &ne) || !ne.Timeout() ||
		!strings.HasSuffix(err.Error(), ": net/http: timeout awaiting response headers after 2 attempts") {
		t.Errorf("error %v, want a timeout after 2 attempts", err)
	}
	if got := p.Counts(); got["head"] != 2 {
		t.Errorf("proxy saw %v, want 2 HEADs", got)
	}
}

func TestHeaderTimeoutSparesTheBody(t *testing.T) {
	// Headers at once, the body slowly: reading it outlasts HeaderTimeout.
	s := serveScript(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "late body")
	})
	pol := fastPolicy
	pol.HeaderTimeout = 100 * time.Millisecond
	resp, err := do(t, context.Background(), NewRetryTransport(newTransport(pol), pol), http.MethodGet, s.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "late body" {
		t.Errorf("body %q, %v", body, err)
	}
}

func TestResolveThroughFaults(t *testing.T) {
	p, digest := pushedBehindProxy(t)
	ref, err := imageref.Parse(p.Addr + "/acme/base:1")
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(WithRetry(fastPolicy))
	if err != nil {
		t.Fatal(err)
	}

	p.Fail(2, http.StatusServiceUnavailable, "")
	got, err := r.Resolve(context.Background(), []Request{{Ref: ref}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Digest != digest {
		t.Errorf("got %v, want %s", got, digest)
	}
	if c := p.Counts(); c["head"] != 3 {
		t.Errorf("proxy saw %v, want 3 HEADs", c)
	}

	// A stall: New's transport abandons the HEAD after HeaderTimeout and
	// the retry gets the answer.
	pol := fastPolicy
	pol.HeaderTimeout = 200 * time.Millisecond
	stalled, err := New(WithRetry(pol))
	if err != nil {
		t.Fatal(err)
	}
	p.ResetCounts()
	p.Stall(1)
	got, err = stalled.Resolve(context.Background(), []Request{{Ref: ref}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Digest != digest {
		t.Errorf("got %v, want %s", got, digest)
	}
	if c := p.Counts(); c["head"] < 2 {
		t.Errorf("proxy saw %v, want the stalled HEAD and its retry", c)
	}

	p.Fail(100, http.StatusServiceUnavailable, "")
	_, err = r.Resolve(context.Background(), []Request{{Ref: ref}})
	var rerr *Error
	if !errors.As(err, &rerr) || !strings.HasPrefix(err.Error(), "resolving "+p.Addr+"/acme/base:1: ") ||
		!strings.HasSuffix(err.Error(), ": 503 Service Unavailable after 5 attempts") {
		t.Errorf("error %v", err)
	}
}

func TestRegistryMessageIsOnePrintableLine(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}`, "UNAVAILABLE: try later"},
		{`{"errors":[{"code":"DENIED","message":""}]}`, "DENIED"},
		{`{"errors":[{"code":"X","message":"a\n\tb\u001b[2Jc"}]}`, `X: a b\x1b[2Jc`},
		{`{"errors":[{"code":"X","message":"` + strings.Repeat("é", 100) + `"}]}`, "X: " + strings.Repeat("é", 58) + "..."},
		{`not json`, ""},
		{`{"errors":[]}`, ""},
	} {
		resp := &http.Response{Body: io.NopCloser(strings.NewReader(tc.body))}
		if got := discard(resp); got != tc.want {
			t.Errorf("discard(%s) = %q, want %q", tc.body, got, tc.want)
		}
	}
}
