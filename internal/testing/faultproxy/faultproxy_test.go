package faultproxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imglock/imglock/internal/testing/registry"
)

func start(t *testing.T) (*registry.Registry, *Proxy, string) {
	t.Helper()
	reg := registry.Start()
	t.Cleanup(reg.Close)
	p := Start(reg.Addr)
	t.Cleanup(p.Close)
	d, err := reg.Push("acme/base:1", "v1")
	if err != nil {
		t.Fatal(err)
	}
	return reg, p, d
}

// head sends one HEAD for acme/base:1 on a fresh connection, so net/http
// does not quietly retry it.
func head(t *testing.T, ctx context.Context, p *Proxy) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+p.Addr+"/v2/acme/base/manifests/1", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

func TestForwardsForRegistryClients(t *testing.T) {
	reg, p, digest := start(t)
	// A push and a HEAD through the proxy, with go-containerregistry.
	img, err := registry.Image("v2", "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := registry.Push(p.Addr+"/acme/other:2", img); err != nil {
		t.Fatal(err)
	}
	p.ResetCounts()
	reg.ResetCounts()
	ref, err := name.ParseReference(p.Addr + "/acme/base:1")
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(ref)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != digest {
		t.Errorf("digest through the proxy %s, want %s", desc.Digest, digest)
	}
	if got := p.Counts(); got["head"] != 1 || got["ping"] != 1 || got["total"] != 2 {
		t.Errorf("proxy counts %v", got)
	}
	if reg.Counts()["head"] != 1 {
		t.Errorf("registry counts %v, want the HEAD forwarded", reg.Counts())
	}
	p.ResetCounts()
	if got := p.Counts(); got["total"] != 0 {
		t.Errorf("counts after reset %v", got)
	}
}

func TestFailThenForward(t *testing.T) {
	reg, p, _ := start(t)
	p.Fail(2, http.StatusTooManyRequests, "7")
	reg.ResetCounts()
	// A ping is not a manifest request: not faulted.
	resp, err := http.Get("http://" + p.Addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ping: %s", resp.Status)
	}
	for i := range 3 {
		resp, err := head(t, context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		want, wantRA := http.StatusTooManyRequests, "7"
		if i == 2 {
			want, wantRA = http.StatusOK, ""
		}
		if resp.StatusCode != want || resp.Header.Get("Retry-After") != wantRA {
			t.Errorf("request %d: %s Retry-After %q, want %d %q", i, resp.Status, resp.Header.Get("Retry-After"), want, wantRA)
		}
	}
	if got := p.Counts(); got["head"] != 3 || got["ping"] != 1 {
		t.Errorf("proxy counts %v, want faulted requests counted", got)
	}
	if got := reg.Counts(); got["head"] != 1 {
		t.Errorf("registry counts %v, want only the last HEAD to reach it", got)
	}
}

func TestFaultAllRequests(t *testing.T) {
	_, p, _ := start(t)
	p.FaultAllRequests(true)
	p.Fail(1, http.StatusBadGateway, "")
	resp, err := http.Get("http://" + p.Addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("ping: %s, want 502", resp.Status)
	}
}

func TestReset(t *testing.T) {
	_, p, _ := start(t)
	p.Reset(1)
	_, err := head(t, context.Background(), p)
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("error %v, want connection reset", err)
	}
	if resp, err := head(t, context.Background(), p); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("after the reset: %v %v", resp, err)
	}
}

func TestStallUntilClientGivesUp(t *testing.T) {
	_, p, _ := start(t)
	p.Stall(1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := head(t, ctx, p); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v, want the client's deadline", err)
	}
	if resp, err := head(t, context.Background(), p); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("after the stall: %v %v", resp, err)
	}
}

func TestCloseEndsStall(t *testing.T) {
	_, p, _ := start(t)
	p.Stall(1)
	errc := make(chan error, 1)
	go func() {
		_, err := head(t, context.Background(), p)
		errc <- err
	}()
	for p.Counts()["head"] == 0 {
		time.Sleep(time.Millisecond)
	}
	p.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("stalled request succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close left the stalled request hanging")
	}
}

func TestStripDigestAndLatency(t *testing.T) {
	_, p, _ := start(t)
	resp, err := head(t, context.Background(), p)
	if err != nil || resp.Header.Get("Docker-Content-Digest") == "" {
		t.Fatalf("without strip: %v %v", resp, err)
	}
	p.StripDigest(true)
	p.SetLatency(50 * time.Millisecond)
	start := time.Now()
	resp, err = head(t, context.Background(), p)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("with strip: %v %v", resp, err)
	}
	if d := resp.Header.Get("Docker-Content-Digest"); d != "" {
		t.Errorf("Docker-Content-Digest %q still there", d)
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Errorf("answered in %s, before the latency", time.Since(start))
	}
}

func TestRewritesUpstreamLocation(t *testing.T) {
	var upstream *httptest.Server
	upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "http://"+upstream.Listener.Addr().String()+"/v2/a/blobs/uploads/1")
		w.Header().Add("Www-Authenticate", `Bearer realm="http://`+upstream.Listener.Addr().String()+`/token"`)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer upstream.Close()
	p := Start(upstream.Listener.Addr().String())
	defer p.Close()
	resp, err := http.Post("http://"+p.Addr+"/v2/a/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Header.Get("Location"), "http://"+p.Addr+"/v2/a/blobs/uploads/1"; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}
	if got := resp.Header.Get("Www-Authenticate"); !strings.Contains(got, "http://"+p.Addr+"/token") {
		t.Errorf("Www-Authenticate %q does not name the proxy", got)
	}
}

// manifest sends one request for a manifest of acme/base through p and
// returns the status, the digest header and the body.
func manifest(t *testing.T, p *Proxy, method, ref string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+p.Addr+"/v2/acme/base/manifests/"+ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Docker-Content-Digest"), body
}

func TestSubstitute(t *testing.T) {
	reg, p, locked := start(t)
	other, err := reg.Push("acme/base:other", "v2")
	if err != nil {
		t.Fatal(err)
	}
	p.Substitute(locked, other)
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		code, d, body := manifest(t, p, method, locked)
		if code != http.StatusOK || d != locked {
			t.Errorf("%s %s: %d, labelled %s; want 200 labelled with the digest asked for", method, locked, code, d)
		}
		if method == http.MethodGet && Digest(body) != other {
			t.Errorf("GET %s: the manifest's digest is %s, want the substitute's, %s", locked, Digest(body), other)
		}
	}
	// The tag and the substitute itself pass through as they are.
	if _, d, _ := manifest(t, p, http.MethodHead, "1"); d != locked {
		t.Errorf("HEAD of the tag: %s, want %s", d, locked)
	}
	if _, d, body := manifest(t, p, http.MethodGet, other); d != other || Digest(body) != other {
		t.Errorf("GET %s: labelled %s, digest %s", other, d, Digest(body))
	}
}

func TestStartHostile(t *testing.T) {
	const claimed = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	p := StartHostile(t, Manifest(nil, claimed), nil)
	resp, err := http.Get("http://" + p.Addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("ping: %s, want 200 from the registry behind", resp.Status)
	}
	if code, d, _ := manifest(t, p, http.MethodHead, "1"); code != http.StatusOK || d != claimed {
		t.Errorf("HEAD: %d %s, want head's answer", code, d)
	}
	if code, _, _ := manifest(t, p, http.MethodGet, "1"); code != http.StatusNotFound {
		t.Errorf("GET with no get handler: %d, want the empty registry's 404", code)
	}
	if c := p.Counts(); c["ping"] != 1 || c["head"] != 1 || c["get"] != 1 {
		t.Errorf("counts %v", c)
	}
}
