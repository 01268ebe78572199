package registry

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Counter counts registry requests by kind and keeps what each said of
// itself. Its zero value is ready.
type Counter struct {
	mu       sync.Mutex
	counts   map[string]int
	requests []Request
}

// Request is one request a Counter counted.
type Request struct {
	Kind      string // as Kind classifies it
	Method    string
	Path      string
	UserAgent string
	Auth      string // the scheme of its Authorization header (Basic, Bearer); "" without; never the credential
}

// Count records one request.
func (c *Counter) Count(req *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	kind := Kind(req)
	c.counts[kind]++
	c.counts["total"]++
	auth, _, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	c.requests = append(c.requests, Request{Kind: kind, Method: req.Method, Path: req.URL.Path, UserAgent: req.UserAgent(), Auth: auth})
}

// Requests returns the requests counted since the last ResetCounts, in
// the order they came.
func (c *Counter) Requests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.requests)
}

// Counts returns the requests counted since the last ResetCounts, by kind,
// with "total" for all of them.
func (c *Counter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// ResetCounts zeroes the counts and forgets the requests.
func (c *Counter) ResetCounts() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = nil
	c.requests = nil
}

// Kind classifies a registry request: ping, head (manifest), get (manifest),
// blob, token (a path ending in /token: /token, /service/token), or other
// (catalog, uploads).
func Kind(req *http.Request) string {
	p := req.URL.Path
	switch {
	case p == "/v2/" || p == "/v2":
		return "ping"
	case strings.Contains(p, "/manifests/") && req.Method == http.MethodHead:
		return "head"
	case strings.Contains(p, "/manifests/") && req.Method == http.MethodGet:
		return "get"
	case strings.Contains(p, "/blobs/"):
		return "blob"
	case strings.HasSuffix(p, "/token"):
		return "token"
	}
	return "other"
}
