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
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

type settings struct{ tokens *TokenPolicy }

// WithTokenAuth makes the registry ask for a bearer token, as Docker Hub
// and most public registries do: a request without one is answered 401
// with a challenge naming the registry's own /token endpoint, which gives
// anyone who asks a token for every repository asked.
func WithTokenAuth() Option { return WithTokens(TokenPolicy{}) }

// WithTokens is WithTokenAuth with tokens that p says more of. Its tokens
// are opaque strings, not JWTs: a client learns what one grants only by
// using it.
func WithTokens(p TokenPolicy) Option { return func(s *settings) { s.tokens = &p } }

// TokenPolicy says what the /token endpoint of a registry grants.
type TokenPolicy struct {
	// FirstScopeOnly grants only the first repository a token request
	// asks for, as some token servers do.
	FirstScopeOnly bool
	// Lifetime is how long a token works once issued; 0 is for ever.
	Lifetime time.Duration
	// ExpiresIn is the expires_in the token response reports, in
	// seconds; 0 leaves it out.
	ExpiresIn int
}

// Start starts a registry on a free loopback port.
func Start(opts ...Option) *Registry {
	var set settings
	for _, o := range opts {
		o(&set)
	}
	r := &Registry{}
	var inner http.Handler = ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	if set.tokens != nil {
		inner = (&tokenAuth{policy: *set.tokens, next: inner, issued: map[string]issued{}}).handler()
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

// tokenAuth serves /token and lets through only requests bearing a token
// that grants their repository and has not expired.
type tokenAuth struct {
	policy TokenPolicy
	next   http.Handler

	mu     sync.Mutex
	n      int
	issued map[string]issued
}

type issued struct {
	repos   map[string]bool
	expires time.Time // zero: never
}

// repoPath is the repository of a /v2/NAME/(manifests|blobs|tags)/... path.
var repoPath = regexp.MustCompile(`^/v2/(.+)/(?:manifests|blobs|tags)/`)

func (a *tokenAuth) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/token" {
			a.token(w, req)
			return
		}
		repo := ""
		if m := repoPath.FindStringSubmatch(req.URL.Path); m != nil {
			repo = m[1]
		}
		bearer, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		a.mu.Lock()
		tok, ok := a.issued[bearer]
		a.mu.Unlock()
		problem := ""
		switch {
		case !ok:
			problem = "" // no token, or none of ours: only the challenge
		case !tok.expires.IsZero() && time.Now().After(tok.expires):
			problem = "invalid_token"
		case repo != "" && !tok.repos[repo]:
			problem = "insufficient_scope"
		default:
			a.next.ServeHTTP(w, req)
			return
		}
		challenge := fmt.Sprintf(`Bearer realm="http://%s/token",service="testregistry"`, req.Host)
		if repo != "" {
			challenge += fmt.Sprintf(`,scope="repository:%s:pull"`, repo)
		}
		if problem != "" {
			challenge += fmt.Sprintf(`,error=%q`, problem)
		}
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		w.Header().Set("WWW-Authenticate", challenge)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
	})
}

// token issues a token for the repositories of the request's scope
// parameters (repository:NAME:ACTIONS), as the policy allows.
func (a *tokenAuth) token(w http.ResponseWriter, req *http.Request) {
	tok := issued{repos: map[string]bool{}}
	for _, scope := range req.URL.Query()["scope"] {
		for _, s := range strings.Fields(scope) {
			parts := strings.Split(s, ":")
			if len(parts) < 3 || parts[0] != "repository" {
				continue
			}
			tok.repos[strings.Join(parts[1:len(parts)-1], ":")] = true
			if a.policy.FirstScopeOnly {
				break
			}
		}
		if a.policy.FirstScopeOnly && len(tok.repos) > 0 {
			break
		}
	}
	if a.policy.Lifetime > 0 {
		tok.expires = time.Now().Add(a.policy.Lifetime)
	}
	a.mu.Lock()
	a.n++
	name := fmt.Sprintf("testregistry-token-%d", a.n)
	a.issued[name] = tok
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if a.policy.ExpiresIn > 0 {
		fmt.Fprintf(w, `{"token":%q,"expires_in":%d}`, name, a.policy.ExpiresIn)
		return
	}
	fmt.Fprintf(w, `{"token":%q}`, name)
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
