// Package registry is test support: go-containerregistry's registry run
// in-process on loopback for tests and benchmarks, counting the requests it
// serves by kind, and the one way tests build and push images, to it or to
// any registry (the Distribution process, the engines' tests, the demo).
package registry

import (
	"fmt"
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

// Option configures a registry Start starts.
type Option func(*settings)

type settings struct{ tokens bool }

// WithTokenAuth makes the registry ask for a bearer token, as Docker Hub
// and most public registries do: a request without one is answered 401
// with a challenge naming the registry's own /token endpoint, which gives
// a token to anyone who asks.
func WithTokenAuth() Option { return func(s *settings) { s.tokens = true } }

// token is the one bearer token WithTokenAuth's /token hands out.
const token = "testregistry-token"

// Start starts a registry on a free loopback port.
func Start(opts ...Option) *Registry {
	var set settings
	for _, o := range opts {
		o(&set)
	}
	r := &Registry{}
	var inner http.Handler = ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	if set.tokens {
		inner = tokenAuth(inner)
	}
	r.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !r.paused.Load() {
			r.Count(req)
		}
		inner.ServeHTTP(w, req)
	}))
	r.Addr = r.server.Listener.Addr().(*net.TCPAddr).String()
	return r
}

// tokenAuth serves /token and lets through only requests bearing its token.
func tokenAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/token" {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"token":%q,"access_token":%q,"expires_in":300}`, token, token)
			return
		}
		if req.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="http://%s/token",service="testregistry"`, req.Host))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		next.ServeHTTP(w, req)
	})
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
