package faultproxy

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

// The answers below are for Answer and StartHostile: the ways a registry
// can lie about or flood a manifest.

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
