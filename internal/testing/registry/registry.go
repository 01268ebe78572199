// Package registry is test support: go-containerregistry's registry run
// in-process on loopback for tests and benchmarks, counting the requests it
// serves by kind, and the small real images (with an os/architecture
// config) that tests push to it.
package registry

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
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
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
