package registry

import (
	"maps"
	"net/http"
	"strings"
	"sync"
)

// Counter counts registry requests by kind. Its zero value is ready.
type Counter struct {
	mu     sync.Mutex
	counts map[string]int
}

// Count records one request.
func (c *Counter) Count(req *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[Kind(req)]++
	c.counts["total"]++
}

// Counts returns the requests counted since the last ResetCounts, by kind,
// with "total" for all of them.
func (c *Counter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// ResetCounts zeroes the counts.
func (c *Counter) ResetCounts() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = nil
}

// Kind classifies a registry request: ping, head (manifest), get (manifest),
// blob, or other (tokens, catalog).
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
	}
	return "other"
}
