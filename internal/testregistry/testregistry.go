// Package testregistry runs go-containerregistry's registry in-process on
// loopback for tests and benchmarks, optionally behind bearer-token auth,
// counts the requests it serves by kind, and pushes small real images
// (with an os/architecture config) to it.
package testregistry

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
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
	var inner http.Handler = registry.New(registry.Logger(log.New(io.Discard, "", 0)))
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

// Push pushes a one-layer linux/amd64 image holding /base.txt with content
// to ref (REPO:TAG on this registry, without the host) and returns its
// digest. Its requests are not counted.
func (r *Registry) Push(ref, content string) (string, error) {
	r.paused.Store(true)
	defer r.paused.Store(false)
	return PushImage(r.Addr+"/"+ref, content)
}

// PushImage pushes the image Push describes to a full reference on any
// registry.
func PushImage(ref, content string) (string, error) {
	img, err := Image(content, "linux", "amd64")
	if err != nil {
		return "", err
	}
	tag, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	if err := remote.Write(tag, img); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// PushIndex pushes a multi-platform index to ref on this registry, with one
// image per platform ("linux/arm64", "linux/arm/v7") holding /base.txt with
// content and its platform. It returns the index digest and each
// platform's manifest digest. Its requests are not counted.
func (r *Registry) PushIndex(ref, content string, platforms ...string) (string, map[string]string, error) {
	r.paused.Store(true)
	defer r.paused.Store(false)
	return PushIndexImage(r.Addr+"/"+ref, content, platforms...)
}

// PushIndexImage pushes the index PushIndex describes to a full reference.
func PushIndexImage(ref, content string, platforms ...string) (string, map[string]string, error) {
	var idx v1.ImageIndex = empty.Index
	digests := map[string]string{}
	for _, p := range platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			return "", nil, err
		}
		img, err := Image(content+" "+p, plat.OS, plat.Architecture)
		if err != nil {
			return "", nil, err
		}
		if plat.Variant != "" {
			cfg, err := img.ConfigFile()
			if err != nil {
				return "", nil, err
			}
			cfg = cfg.DeepCopy()
			cfg.Variant = plat.Variant
			if img, err = mutate.ConfigFile(img, cfg); err != nil {
				return "", nil, err
			}
		}
		d, err := img.Digest()
		if err != nil {
			return "", nil, err
		}
		digests[p] = d.String()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	tag, err := name.ParseReference(ref)
	if err != nil {
		return "", nil, err
	}
	if err := remote.WriteIndex(tag, idx); err != nil {
		return "", nil, fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		return "", nil, err
	}
	return d.String(), digests, nil
}

// Image is a one-layer image holding /base.txt with content, whose config
// names os and architecture so that engines accept it.
func Image(content, os, arch string) (v1.Image, error) {
	img, err := crane.Image(map[string][]byte{"base.txt": []byte(content + "\n")})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = os, arch
	return mutate.ConfigFile(img, cfg)
}
