package resolve

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/testing/registry"
)

func newTestResolver(t testing.TB, opts ...Option) *Remote {
	t.Helper()
	r, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustRef(t testing.TB, s string) Request {
	t.Helper()
	r, err := imageref.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return Request{Ref: r}
}

func TestResolveDigestsAndRequestCount(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	want := map[string]string{}
	for i := range 6 {
		ref := fmt.Sprintf("repo%d/img:%d", i%3, i)
		d, err := reg.Push(ref, fmt.Sprintf("content %d", i))
		if err != nil {
			t.Fatal(err)
		}
		want[reg.Addr+"/"+ref] = d
	}
	var refs []Request
	for s := range want {
		refs = append(refs, mustRef(t, s), mustRef(t, s)) // each twice: resolved once
	}

	reg.ResetCounts()
	got, err := newTestResolver(t).Resolve(context.Background(), refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %d results, want %d: %v", len(got), len(want), got)
	}
	for _, r := range got {
		if want[r.Ref.String()] != r.Digest {
			t.Errorf("%s: digest %s, want %s", r.Ref, r.Digest, want[r.Ref.String()])
		}
	}
	counts := reg.Counts()
	if counts["ping"] != 1 || counts["head"] != 6 || counts["total"] != 7 {
		t.Errorf("requests %v, want one ping and one HEAD per unique tag", counts)
	}
}

func TestResolveReportsEveryFailure(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	if _, err := reg.Push("ok/img:1", "x"); err != nil {
		t.Fatal(err)
	}
	refs := []Request{
		mustRef(t, reg.Addr+"/ok/img:1"),
		mustRef(t, reg.Addr+"/missing/img:1"),
		mustRef(t, reg.Addr+"/ok/img:nope"),
	}
	got, err := newTestResolver(t).Resolve(context.Background(), refs)
	if len(got) != 1 {
		t.Errorf("got %d results, want the 1 that exists", len(got))
	}
	var rerr *Error
	if !errors.As(err, &rerr) {
		t.Fatalf("error %v is not a *resolve.Error", err)
	}
	for _, bad := range []string{"missing/img:1", "ok/img:nope"} {
		if !strings.Contains(err.Error(), bad) {
			t.Errorf("error does not name %s:\n%v", bad, err)
		}
	}
}

func TestResolveRegistryDown(t *testing.T) {
	reg := registry.Start()
	addr := reg.Addr
	reg.Close()
	_, err := newTestResolver(t).Resolve(context.Background(), []Request{mustRef(t, addr+"/a/b:1")})
	if f := Failures(err)[addr+"/a/b:1"]; f == nil || !strings.HasPrefix(err.Error(), "resolving "+addr+"/a/b:1: ") {
		t.Fatalf("error %v does not name the reference", err)
	}
}

// TestPlainHTTPOnlyOnLoopback: without insecure = true, only loopback
// hosts are asked over plain HTTP.
func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost:5000": true, "127.0.0.1:5000": true, "127.1.2.3": true, "[::1]:5000": true,
		"10.0.0.1:5000": false, "registry.local": false, "ghcr.io": false,
	} {
		if got := loopback(host); got != want {
			t.Errorf("loopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// inFlight counts the most requests a transport had open at once.
type inFlight struct {
	inner     http.RoundTripper
	mu        sync.Mutex
	now, peak int
}

func (t *inFlight) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	t.now++
	t.peak = max(t.peak, t.now)
	t.mu.Unlock()
	defer func() { t.mu.Lock(); t.now--; t.mu.Unlock() }()
	return t.inner.RoundTrip(req)
}

func TestResolveBoundsConcurrency(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	var refs []Request
	for i := range 40 {
		ref := fmt.Sprintf("c/img:%d", i)
		if _, err := reg.Push(ref, ref); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, mustRef(t, reg.Addr+"/"+ref))
	}
	tr := &inFlight{inner: http.DefaultTransport}
	if _, err := newTestResolver(t, WithTransport(tr), WithConcurrency(3)).Resolve(context.Background(), refs); err != nil {
		t.Fatal(err)
	}
	if tr.peak > 3 {
		t.Errorf("%d requests in flight, want at most 3", tr.peak)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Option{WithConcurrency(0), WithTransport(nil), WithRegistry("r.example", RegistryOptions{Concurrency: -1}), WithUserAgent("imglock/1\r\nX-Evil: 1")} {
		if _, err := New(o); err == nil {
			t.Error("invalid option accepted")
		}
	}
}

// TestProgressSerialised: the progress callback, which draws on a
// terminal, is called one call at a time, with the count rising by one,
// and never after the call that reports everything done. Run with -race:
// calls records without a lock of its own.
func TestProgressSerialised(t *testing.T) {
	regs := []*registry.Registry{registry.Start(), registry.Start()}
	var refs []Request
	for i, reg := range regs {
		defer reg.Close()
		for j := range 20 {
			ref := fmt.Sprintf("p/img:%d", j)
			if _, err := reg.Push(ref, fmt.Sprintf("%d %d", i, j)); err != nil {
				t.Fatal(err)
			}
			refs = append(refs, mustRef(t, reg.Addr+"/"+ref))
		}
	}
	down := registry.Start()
	down.Close()
	for j := range 5 {
		refs = append(refs, mustRef(t, fmt.Sprintf("%s/gone/img:%d", down.Addr, j)))
	}

	var calls [][2]int
	var inside atomic.Int32
	progress := func(done, total int) {
		if inside.Add(1) != 1 {
			t.Error("progress called while another call was running")
		}
		calls = append(calls, [2]int{done, total})
		time.Sleep(100 * time.Microsecond) // widen the window for an overlap
		inside.Add(-1)
	}
	_, err := newTestResolver(t, WithProgress(progress), WithRetry(RetryPolicy{Attempts: 1})).Resolve(context.Background(), refs)
	if err == nil {
		t.Fatal("the references on the stopped registry resolved")
	}
	n := len(calls)
	if n != len(refs) {
		t.Fatalf("%d progress calls, want %d", n, len(refs))
	}
	for i, c := range calls {
		if c != [2]int{i + 1, len(refs)} {
			t.Fatalf("call %d was %v, want %v", i, c, [2]int{i + 1, len(refs)})
		}
	}
}

func TestProgressTickerStopsAtTotal(t *testing.T) {
	var got []int
	tick := progressTicker(func(done, total int) { got = append(got, done) }, 2)
	for range 4 {
		tick()
	}
	if !slices.Equal(got, []int{1, 2}) {
		t.Errorf("progress %v, want [1 2] and nothing after the last", got)
	}
	progressTicker(nil, 1)() // no callback: nothing to call
}

// TestUserAgentOnEveryRequest: the ping, the token request, HEADs, GETs of
// manifests and of a config blob all name the client.
func TestUserAgentOnEveryRequest(t *testing.T) {
	reg := registry.Start(registry.WithTokenAuth())
	defer reg.Close()
	for _, ref := range []string{"acme/single:1", "acme/single:2"} {
		if _, err := reg.Push(ref, ref); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := reg.PushIndex("acme/multi:1", "m", "linux/amd64", "linux/arm64"); err != nil {
		t.Fatal(err)
	}
	head := mustRef(t, reg.Addr+"/acme/single:1")
	single := mustRef(t, reg.Addr+"/acme/single:2")
	single.Platforms = []string{"linux/amd64"}
	multi := mustRef(t, reg.Addr+"/acme/multi:1")
	multi.Platforms = []string{"linux/arm64"}

	reg.ResetCounts()
	r := newTestResolver(t, WithUserAgent("imglock/v1.2.3"))
	if _, err := r.Resolve(context.Background(), []Request{head, single, multi}); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, req := range reg.Requests() {
		kinds[req.Kind] = true
		if !strings.HasPrefix(req.UserAgent, "imglock/v1.2.3 go-containerregistry") {
			t.Errorf("%s %s: User-Agent %q", req.Method, req.Path, req.UserAgent)
		}
	}
	for _, k := range []string{"ping", "token", "head", "get", "blob"} {
		if !kinds[k] {
			t.Errorf("no %s request among %v; the test misses a kind", k, reg.Requests())
		}
	}
}
