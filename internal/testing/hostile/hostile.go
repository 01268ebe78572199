// Package hostile is test support: a registry that misbehaves on purpose,
// for tests of what imglock refuses: a real HTTP server that answers the
// /v2/ ping and lets each test decide how manifest requests are answered,
// with helpers for the ways a registry can lie about or flood a manifest.
package hostile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// Start starts a registry on loopback that answers GET /v2/ with 200 (no
// auth) and manifest HEAD and GET requests with head and get; a nil
// handler, and any other request, gets 404.
func Start(tb testing.TB, head, get http.HandlerFunc) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		manifest := strings.Contains(r.URL.Path, "/manifests/")
		switch {
		case r.URL.Path == "/v2/" || r.URL.Path == "/v2":
			w.WriteHeader(http.StatusOK)
		case manifest && r.Method == http.MethodHead && head != nil:
			head(w, r)
		case manifest && r.Method == http.MethodGet && get != nil:
			get(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// Digest is the sha256 digest of b.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Manifest sends body as an OCI manifest, claiming digest unless it is "".
func Manifest(body []byte, digest string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if digest != "" {
			w.Header().Set("Docker-Content-Digest", digest)
		}
		if r.Method == http.MethodGet {
			w.Write(body)
		}
	}
}

// WithHeader adds a header of n bytes to what h answers.
func WithHeader(n int, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Padding", strings.Repeat("a", n))
		h(w, r)
	}
}

// Endless streams manifest-looking bytes, claiming digest, until the client
// goes away.
func Endless(digest string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", digest)
		chunk := bytes.Repeat([]byte(" "), 64<<10)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
}

// RedirectTo redirects the request to the same path on host.
func RedirectTo(host string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+host+r.URL.Path, http.StatusTemporaryRedirect)
	}
}
