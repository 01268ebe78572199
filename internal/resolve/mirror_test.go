package resolve

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/imglock/imglock/internal/testing/faultproxy"
	"github.com/imglock/imglock/internal/testing/registry"
)

// warnings collects what a resolver warns about.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) add(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) list() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

func push(t *testing.T, reg *registry.Registry, ref, content string) string {
	t.Helper()
	d, err := reg.Push(ref, content)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestMirrorWithPath: a mirror serving the registry's repositories under a
// path, as a Harbor proxy-cache project does, answers for the registry,
// and the lock keeps the registry's names.
func TestMirrorWithPath(t *testing.T) {
	upstream, mirror := registry.Start(), registry.Start()
	defer upstream.Close()
	defer mirror.Close()
	d := push(t, mirror, "dockerhub/acme/base:1", "on the mirror")
	upstream.ResetCounts()
	r := newTestResolver(t, WithRegistry(upstream.Addr, RegistryOptions{Mirror: mirror.Addr + "/dockerhub"}))
	got, err := r.Resolve(context.Background(), []Request{mustRef(t, upstream.Addr+"/acme/base:1")})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Ref.Repo != upstream.Addr+"/acme/base" || got[0].Digest != d {
		t.Errorf("got %+v, want the registry's name and the mirror's digest %s", got[0], d)
	}
	if c := upstream.Counts(); c["total"] != 0 {
		t.Errorf("the registry got requests %v, want none", c)
	}
}

// TestMirrorTakesTheRegistrysSettings: the CA and the concurrency written
// for a registry apply to its mirror; without the CA, the mirror's
// failure names the mirror, and is reported once for all references.
func TestMirrorTakesTheRegistrysSettings(t *testing.T) {
	upstream, backing := registry.Start(), registry.Start()
	defer upstream.Close()
	defer backing.Close()
	mirror := faultproxy.StartTLS(backing.Addr)
	defer mirror.Close()
	var reqs []Request
	want := map[string]string{}
	for _, ref := range []string{"acme/a:1", "acme/b:1", "acme/c:1", "acme/d:1"} {
		want[upstream.Addr+"/"+ref] = push(t, backing, ref, ref)
		reqs = append(reqs, mustRef(t, upstream.Addr+"/"+ref))
	}

	got, err := newTestResolver(t, WithRegistry(upstream.Addr,
		RegistryOptions{Mirror: mirror.Addr, CAFile: mirror.CAFile, MirrorOnly: true})).Resolve(context.Background(), reqs)
	checkResults(t, got, err, want)

	plain := faultproxy.Start(backing.Addr)
	defer plain.Close()
	tr := &inFlight{inner: http.DefaultTransport}
	got, err = newTestResolver(t, WithTransport(tr), WithRegistry(upstream.Addr,
		RegistryOptions{Mirror: plain.Addr, Concurrency: 2, MirrorOnly: true})).Resolve(context.Background(), reqs)
	checkResults(t, got, err, want)
	if tr.peak > 2 {
		t.Errorf("%d requests in flight to the mirror, want at most the registry's 2", tr.peak)
	}

	_, err = newTestResolver(t, WithRegistry(upstream.Addr, RegistryOptions{Mirror: mirror.Addr, MirrorOnly: true})).Resolve(context.Background(), reqs)
	var re *RegistryError
	if !errors.As(err, &re) || len(re.Refs) != 4 || strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("error %v; want one RegistryError for the 4 references", err)
	}
	for _, s := range []string{"on mirror " + mirror.Addr, "https://" + mirror.Addr + "/v2/", "certificate signed by unknown authority", "and 3 more references"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if f := Failures(err); len(f) != 4 || len(Collapse([]error{f[reqs[0].Ref.String()], f[reqs[1].Ref.String()]})) != 1 {
		t.Errorf("Failures(err) = %v; want the 4, which Collapse makes one", f)
	}
	if c := upstream.Counts(); c["total"] != 0 {
		t.Errorf("the registry got requests %v with fallback off, want none", c)
	}
}

// TestMirrorFallsBackForWhatItLacks: a reference the mirror does not have
// is asked of the registry itself, and the fallback is reported once.
func TestMirrorFallsBackForWhatItLacks(t *testing.T) {
	upstream, mirror := registry.Start(registry.WithTokenAuth()), registry.Start()
	defer upstream.Close()
	defer mirror.Close()
	want := map[string]string{}
	var reqs []Request
	for _, ref := range []string{"acme/a:1", "acme/b:1", "acme/c:1"} {
		want[upstream.Addr+"/"+ref] = push(t, upstream, ref, ref)
		reqs = append(reqs, mustRef(t, upstream.Addr+"/"+ref))
	}
	push(t, mirror, "acme/a:1", "acme/a:1")
	upstream.ResetCounts()
	var w warnings
	got, err := newTestResolver(t, WithWarnings(w.add), WithRegistry(upstream.Addr, RegistryOptions{Mirror: mirror.Addr})).Resolve(context.Background(), reqs)
	checkResults(t, got, err, want)
	if msgs := w.list(); len(msgs) != 1 || !strings.Contains(msgs[0], "mirror "+mirror.Addr+" of "+upstream.Addr+" failed, asking "+upstream.Addr+" itself") ||
		!strings.Contains(msgs[0], "answered 404") {
		t.Errorf("warnings %q, want one naming the mirror and what it answered", msgs)
	}
	if c := upstream.Counts(); c["ping"] != 1 || c["head"] != 2 || c["token"] != 2 {
		t.Errorf("the registry got %v, want a ping, and a token and a HEAD for each of the 2 references the mirror lacks", c)
	}
}

// TestMirrorDownFallsBack: a mirror that cannot be reached leaves every
// reference to the registry, which then asks one token for them all.
func TestMirrorDownFallsBack(t *testing.T) {
	upstream, mirror := registry.Start(registry.WithTokenAuth()), registry.Start()
	defer upstream.Close()
	mirror.Close()
	reqs, want := pushRepos(t, upstream, upstream.Addr, 5, 1)
	var w warnings
	got, err := newTestResolver(t, WithWarnings(w.add), WithRetry(RetryPolicy{Attempts: 1}),
		WithRegistry(upstream.Addr, RegistryOptions{Mirror: mirror.Addr})).Resolve(context.Background(), reqs)
	checkResults(t, got, err, want)
	if msgs := w.list(); len(msgs) != 1 || !strings.Contains(msgs[0], "connection refused") {
		t.Errorf("warnings %q, want one, saying the mirror refused the connection", msgs)
	}
	if c := upstream.Counts(); c["ping"] != 1 || c["token"] != 1 || c["head"] != 5 {
		t.Errorf("the registry got %v, want 1 ping, 1 token request, 5 HEADs", c)
	}
}

// TestDockerHubAliases: settings written for index.docker.io or
// registry-1.docker.io are Docker Hub's, whatever name a reference uses.
func TestDockerHubAliases(t *testing.T) {
	mirror := registry.Start()
	defer mirror.Close()
	alpine := push(t, mirror, "hub/library/alpine:3", "alpine")
	busybox := push(t, mirror, "hub/library/busybox:1", "busybox")
	for _, key := range []string{"docker.io", "index.docker.io", "registry-1.docker.io"} {
		r := newTestResolver(t, WithRegistry(key, RegistryOptions{Mirror: mirror.Addr + "/hub", MirrorOnly: true}))
		got, err := r.Resolve(context.Background(), []Request{
			mustRef(t, "alpine:3"), mustRef(t, "index.docker.io/library/alpine:3"), mustRef(t, "registry-1.docker.io/library/busybox:1"),
		})
		if err != nil {
			t.Fatalf("settings for %s: %v", key, err)
		}
		if len(got) != 2 || got[0].Ref.String() != "docker.io/library/alpine:3" || got[0].Digest != alpine ||
			got[1].Ref.String() != "registry-1.docker.io/library/busybox:1" || got[1].Digest != busybox {
			t.Errorf("settings for %s: %+v", key, got)
		}
	}
}

// TestLoopbackAskedOverPlainHTTPFirst: a loopback registry's log opens
// with the ping that answers, not with a failed HTTPS one.
func TestLoopbackAskedOverPlainHTTPFirst(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	push(t, reg, "acme/a:1", "a")
	var log bytes.Buffer
	if _, err := newTestResolver(t, WithLog(&log)).Resolve(context.Background(), []Request{mustRef(t, reg.Addr+"/acme/a:1")}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "GET http://"+reg.Addr+"/v2/ -> 200 OK") {
		t.Errorf("log:\n%s\nwant the plain-HTTP ping, then the HEAD", log.String())
	}
}

// TestRateLimit: rate-limit headers show in the log, and a 429 that says
// nothing is left is not retried.
func TestRateLimit(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	proxy := faultproxy.Start(reg.Addr)
	defer proxy.Close()
	push(t, reg, "acme/a:1", "a")
	proxy.SetHeader("RateLimit-Limit", "100;w=21600")
	proxy.SetHeader("RateLimit-Remaining", "76;w=21600")
	var log bytes.Buffer
	if _, err := newTestResolver(t, WithLog(&log)).Resolve(context.Background(), []Request{mustRef(t, proxy.Addr+"/acme/a:1")}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "HEAD http://"+proxy.Addr+"/v2/acme/a/manifests/1 -> 200 OK (") ||
		!strings.Contains(log.String(), ", ratelimit-remaining 76;w=21600 of 100;w=21600)") {
		t.Errorf("log:\n%s\nwant the rate limit on the HEAD's line", log.String())
	}

	proxy.SetHeader("RateLimit-Remaining", "0;w=21600")
	proxy.Fail(5, http.StatusTooManyRequests, "")
	proxy.ResetCounts()
	_, err := newTestResolver(t).Resolve(context.Background(), []Request{mustRef(t, proxy.Addr+"/acme/a:1")})
	if err == nil || !strings.Contains(err.Error(), "429 Too Many Requests") || !strings.Contains(err.Error(), "after 1 attempt (the registry's rate limit: 100 pulls per 6 hours)") {
		t.Errorf("error %v, want the 429 at once, with the limit", err)
	}
	if c := proxy.Counts(); c["head"] != 1 {
		t.Errorf("%d HEADs, want 1: a used-up limit is not retried", c["head"])
	}
}

func TestDockerHubRateLimitExplained(t *testing.T) {
	r := newTestResolver(t)
	limited := &Error{Ref: "docker.io/library/alpine:3", Err: &RetryError{Attempts: 1, StatusCode: 429, Status: "429 Too Many Requests", RateLimit: "100;w=21600"}}
	hub := r.newEndpoint("docker.io", "", RegistryOptions{})
	msg := hub.explain(limited).Error()
	for _, s := range []string{"Docker Hub limits the pulls of anonymous users by IP address (100 pulls per 6 hours)", "docker login", "mirror"} {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q does not say %q", msg, s)
		}
	}
	if m := r.newEndpoint("docker.io", "mirror.example/hub", RegistryOptions{}); m.explain(limited).Error() == msg {
		t.Error("a mirror's 429 is explained as Docker Hub's")
	}
}
