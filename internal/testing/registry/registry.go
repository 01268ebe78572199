// Package registry is test support: go-containerregistry's registry run
// in-process on loopback for tests and benchmarks, counting the requests it
// serves by kind, and the one way tests build and push images, to it or to
// any registry (the Distribution process, the engines' tests, the demo).
package registry

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Registry is a running in-process registry.
type Registry struct {
	Addr string // host:port on 127.0.0.1

	Counter // the requests it served, but for the harness's own pushes

	server *httptest.Server
	paused atomic.Bool // true while the harness itself talks to the registry
}

// Start starts a registry on a free loopback port.
func Start() *Registry {
	r := &Registry{}
	inner := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !r.paused.Load() {
			r.Count(req)
		}
		inner.ServeHTTP(w, req)
	}))
	r.Addr = r.server.Listener.Addr().(*net.TCPAddr).String()
	return r
}

// Close stops the registry; later requests to Addr are refused.
func (r *Registry) Close() { r.server.Close() }

// Push pushes Image(content, "linux/amd64") to ref (REPO:TAG on this
// registry, without the host) and returns its digest. Its requests are not
// counted.
func (r *Registry) Push(ref, content string) (string, error) {
	img, err := Image(content, "linux/amd64")
	if err != nil {
		return "", err
	}
	return r.push(ref, img)
}

// PushIndex pushes Index(content, platforms...) to ref on this registry and
// returns the index digest and each platform's manifest digest. Its
// requests are not counted.
func (r *Registry) PushIndex(ref, content string, platforms ...string) (string, map[string]string, error) {
	idx, digests, err := Index(content, platforms...)
	if err != nil {
		return "", nil, err
	}
	d, err := r.push(ref, idx)
	if err != nil {
		return "", nil, err
	}
	return d, digests, nil
}

func (r *Registry) push(ref string, img remote.Taggable) (string, error) {
	r.paused.Store(true)
	defer r.paused.Store(false)
	return Push(r.Addr+"/"+ref, img)
}
