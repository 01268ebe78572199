package project

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/testing/faultproxy"
	"github.com/imglock/imglock/internal/testing/registry"
)

// requestLatency is what the proxy adds to every request: a registry across
// a continent, rather than on loopback.
const requestLatency = 20 * time.Millisecond

// latencySetup pushes tags unique tags spread over repos repositories to an
// in-process registry behind a proxy adding latency to each request, and
// returns their references through the proxy.
func latencySetup(b *testing.B, tags, repos int, latency time.Duration) (*faultproxy.Proxy, []dockerfile.Reference, []string) {
	return latencySetupWith(b, tags, repos, latency, faultproxy.Start)
}

// latencySetupWith is latencySetup with the registry's options (token
// auth) and the proxy started by start (faultproxy.StartTLS).
func latencySetupWith(b *testing.B, tags, repos int, latency time.Duration, start func(string) *faultproxy.Proxy, opts ...registry.Option) (*faultproxy.Proxy, []dockerfile.Reference, []string) {
	b.Helper()
	reg := registry.Start(opts...)
	b.Cleanup(reg.Close)
	proxy := start(reg.Addr)
	b.Cleanup(proxy.Close)
	var refs []dockerfile.Reference
	var names []string
	for i := range tags {
		tag := fmt.Sprintf("repo%02d/img:%d", i%repos, i)
		if _, err := reg.Push(tag, tag); err != nil {
			b.Fatal(err)
		}
		names = append(names, proxy.Addr+"/"+tag)
		refs = append(refs, ref(b, "Dockerfile", i+1, proxy.Addr+"/"+tag))
	}
	proxy.SetLatency(latency)
	return proxy, refs, names
}

func reportRequests(b *testing.B, proxy *faultproxy.Proxy, runs int) {
	c := proxy.Counts()
	for _, kind := range []string{"total", "ping", "token", "head", "get"} {
		b.ReportMetric(float64(c[kind])/float64(runs), kind+"-reqs/op")
	}
}

// coldLock runs a cold `imglock lock` of refs as often as b asks, with a
// resolver made with opts.
func coldLock(b *testing.B, proxy *faultproxy.Proxy, refs []dockerfile.Reference, opts ...resolve.Option) {
	lockPath := filepath.Join(b.TempDir(), "images.lock")
	proxy.ResetCounts()
	conns := proxy.Conns()
	runs := 0
	for b.Loop() {
		if err := os.Remove(lockPath); err != nil && !os.IsNotExist(err) {
			b.Fatal(err)
		}
		p := testProject(b, refs, nil, lockPath)
		p.newResolver = func() (resolve.Resolver, error) { return resolve.New(opts...) }
		res, err := p.Tidy(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Changes) != len(refs) {
			b.Fatalf("%d changes, want %d", len(res.Changes), len(refs))
		}
		runs++
	}
	reportRequests(b, proxy, runs)
	b.ReportMetric(float64(proxy.Conns()-conns)/float64(runs), "conns/op")
}

// BenchmarkLockLatency is `imglock lock` against a registry 20 ms away:
// cold (nothing locked), warm (up to date: no request at all), and two
// baselines resolving the same tags with go-containerregistry: its
// remote.Puller, which authenticates once per repository, asked for every
// tag at once within imglock's concurrency (ggcr-concurrent), and a
// sequential loop of crane.Digest, a new connection, /v2/ ping and HEAD
// per tag, as a shell loop over `crane digest` does (crane-one-by-one);
// and a cold lock on loopback
// with no added latency, for imglock's own cost. The floor of a cold lock
// is a round trip for the ping and one for every HEAD at once, and one
// more for the token where the registry wants one (cold-tokens); over TLS
// (cold-tls), HTTP/2 carries every request on one connection (conns/op).
func BenchmarkLockLatency(b *testing.B) {
	b.Run("cold-loopback/tags=100/repos=10", func(b *testing.B) {
		proxy, refs, _ := latencySetup(b, 100, 10, 0)
		coldLock(b, proxy, refs)
	})
	b.Run("cold-tokens/tags=100/repos=10", func(b *testing.B) {
		proxy, refs, _ := latencySetupWith(b, 100, 10, requestLatency, faultproxy.Start, registry.WithTokenAuth())
		coldLock(b, proxy, refs)
	})
	b.Run("ggcr-concurrent-tokens/tags=100/repos=10", func(b *testing.B) {
		proxy, _, names := latencySetupWith(b, 100, 10, requestLatency, faultproxy.Start, registry.WithTokenAuth())
		ggcrConcurrent(b, proxy, names)
	})
	b.Run("cold-tls/tags=100/repos=10", func(b *testing.B) {
		proxy, refs, _ := latencySetupWith(b, 100, 10, requestLatency, faultproxy.StartTLS)
		coldLock(b, proxy, refs, resolve.WithRegistry(proxy.Addr, resolve.RegistryOptions{CAFile: proxy.CAFile}))
	})
	b.Run("cold-tls-tokens/tags=100/repos=10", func(b *testing.B) {
		proxy, refs, _ := latencySetupWith(b, 100, 10, requestLatency, faultproxy.StartTLS, registry.WithTokenAuth())
		coldLock(b, proxy, refs, resolve.WithRegistry(proxy.Addr, resolve.RegistryOptions{CAFile: proxy.CAFile}))
	})
	for _, tc := range []struct{ tags, repos int }{{100, 10}, {200, 20}} {
		name := fmt.Sprintf("tags=%d/repos=%d", tc.tags, tc.repos)
		b.Run("cold/"+name, func(b *testing.B) {
			proxy, refs, _ := latencySetup(b, tc.tags, tc.repos, requestLatency)
			coldLock(b, proxy, refs)
		})
		b.Run("warm/"+name, func(b *testing.B) {
			proxy, refs, _ := latencySetup(b, tc.tags, tc.repos, requestLatency)
			lockPath := filepath.Join(b.TempDir(), "images.lock")
			if _, err := testProject(b, refs, nil, lockPath).Tidy(context.Background()); err != nil {
				b.Fatal(err)
			}
			proxy.ResetCounts()
			runs := 0
			for b.Loop() {
				res, err := testProject(b, refs, nil, lockPath).Tidy(context.Background())
				if err != nil || len(res.Changes) != 0 {
					b.Fatalf("warm lock: %v, %d changes", err, len(res.Changes))
				}
				runs++
			}
			reportRequests(b, proxy, runs)
		})
		b.Run("ggcr-concurrent/"+name, func(b *testing.B) {
			proxy, _, names := latencySetup(b, tc.tags, tc.repos, requestLatency)
			ggcrConcurrent(b, proxy, names)
		})
		b.Run("crane-one-by-one/"+name, func(b *testing.B) {
			proxy, _, names := latencySetup(b, tc.tags, tc.repos, requestLatency)
			proxy.ResetCounts()
			runs := 0
			for b.Loop() {
				for _, n := range names {
					d, err := crane.Digest(n)
					if err != nil || !strings.HasPrefix(d, "sha256:") {
						b.Fatalf("crane digest %s: %q, %v", n, d, err)
					}
				}
				runs++
			}
			reportRequests(b, proxy, runs)
		})
	}
}

// ggcrConcurrent resolves names as often as b asks with a new
// remote.Puller each run (a cold client), every HEAD at once within
// resolve.DefaultConcurrency.
func ggcrConcurrent(b *testing.B, proxy *faultproxy.Proxy, names []string) {
	proxy.ResetCounts()
	runs := 0
	for b.Loop() {
		t := remote.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = resolve.DefaultConcurrency
		puller, err := remote.NewPuller(remote.WithTransport(t))
		if err != nil {
			b.Fatal(err)
		}
		sem := make(chan struct{}, resolve.DefaultConcurrency)
		var wg sync.WaitGroup
		for _, n := range names {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				ref, err := name.ParseReference(n)
				if err == nil {
					var d *v1.Descriptor
					if d, err = puller.Head(context.Background(), ref); err == nil && d.Digest.Algorithm != "sha256" {
						err = fmt.Errorf("digest %s", d.Digest)
					}
				}
				if err != nil {
					b.Errorf("head %s: %v", n, err)
				}
			})
		}
		wg.Wait()
		t.CloseIdleConnections()
		runs++
	}
	reportRequests(b, proxy, runs)
}
