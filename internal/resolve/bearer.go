package resolve

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// The bearer token flow of the distribution token specification
// (distribution/docs/spec/auth/token.md): the registry's 401 names a realm
// and a service; a GET of the realm with one scope parameter per
// repository gives a token; requests carry it as "Authorization: Bearer".
//
// A token server grants the intersection of what was asked and what the
// client may have, and a subset "must not be considered an error"
// (token.md, "Requesting a Token"). So one token request covers many
// repositories where the server grants them, and where it grants fewer
// (some grant only the first scope of a request), the repositories left
// out get a token each. What a token grants is read from its access claim
// when it is a JWT as the specification describes (jwt.md); otherwise the
// registry's 401 with error="insufficient_scope" tells. Once a server is
// seen to grant one repository per token, the tokens of that host are asked
// for one repository at a time. A token is renewed when it is about to
// expire (expires_in) or when the registry says it is invalid.

// tokens hands out the bearer tokens of one registry host, by repository
// path on that host.
type tokens struct {
	ctx      context.Context // the run's: a token fetched for one request serves others
	reg      name.Registry
	auth     authn.Authenticator
	base     http.RoundTripper // to the token server
	ch       *transport.Challenge
	perToken int
	log      func(string) // nil: no log
	now      func() time.Time

	mu       sync.Mutex
	byRepo   map[string]*grant
	oneScope bool // learned: the server grants one repository per token
}

// grant is one token request and what it gave.
type grant struct {
	repos    []string      // repository paths asked for
	replaces *grant        // the many-repository grant that did not cover repos[0]
	done     chan struct{} // closed once the fields below are set

	token   string
	expiry  time.Time
	life    time.Duration
	granted map[string]bool // repositories the token says it grants; nil when it does not say
	err     error           // a *hostError

	worked map[string]bool // repositories a request succeeded for with it; under tokens.mu
}

func newTokens(ctx context.Context, reg name.Registry, auth authn.Authenticator, base http.RoundTripper, ch *transport.Challenge, perToken int, log func(string)) *tokens {
	return &tokens{ctx: ctx, reg: reg, auth: auth, base: base, ch: ch, perToken: max(perToken, 1), log: log,
		now: time.Now, byRepo: map[string]*grant{}}
}

// prefetch asks for the tokens of repos now, as many repositories to a
// request as allowed, each request on its own, so that no request waits
// on a token it does not need.
func (t *tokens) prefetch(repos []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var missing []string
	for _, r := range repos {
		if t.byRepo[r] == nil && !slices.Contains(missing, r) {
			missing = append(missing, r)
		}
	}
	for chunk := range slices.Chunk(missing, t.chunkLocked()) {
		t.startLocked(chunk, nil)
	}
}

func (t *tokens) chunkLocked() int {
	if t.oneScope {
		return 1
	}
	return t.perToken
}

// startLocked starts a token request for repos, which it then covers.
func (t *tokens) startLocked(repos []string, replaces *grant) *grant {
	g := &grant{repos: repos, replaces: replaces, done: make(chan struct{})}
	for _, r := range repos {
		t.byRepo[r] = g
	}
	go t.fetch(g)
	return g
}

func (t *tokens) fetch(g *grant) {
	defer close(g.done)
	scopes := make([]string, len(g.repos))
	for i, r := range g.repos {
		scopes[i] = t.reg.Repo(r).Scope(transport.PullScope)
	}
	start := t.now() // the token was issued after this: expiry counts from here
	tok, err := transport.Exchange(t.ctx, t.reg, t.auth, t.base, scopes, t.ch)
	if err != nil {
		g.err = &hostError{t.tokenError(err)}
		return
	}
	g.token = cmp.Or(tok.Token, tok.AccessToken)
	// "When omitted, this defaults to 60 seconds" (token.md, Token Response Fields).
	g.life = time.Duration(cmp.Or(tok.ExpiresIn, 60)) * time.Second
	g.expiry = start.Add(g.life)
	g.granted = grantedRepos(g.token)
}

// tokenError says which token server failed, without the query of its URL
// (a scope per repository) that go-containerregistry's message repeats.
func (t *tokens) tokenError(err error) error {
	realm := t.ch.Parameters["realm"]
	if u, perr := url.Parse(realm); perr == nil {
		u.RawQuery = ""
		realm = u.Redacted()
	}
	var te *transport.Error
	if errors.As(err, &te) {
		msg := http.StatusText(te.StatusCode)
		if len(te.Errors) > 0 {
			msg = te.Errors[0].String()
		}
		return fmt.Errorf("getting a token from %s: %d %s", realm, te.StatusCode, msg)
	}
	return fmt.Errorf("getting a token from %s: %w", realm, err)
}

// get returns the token for repo: the one a request covering it gave,
// unless that one is known not to grant it or is about to expire.
func (t *tokens) get(ctx context.Context, repo string) (*grant, error) {
	var g *grant
	for range 3 { // a fresh token ends it; the bound only guards against a server's nonsense
		t.mu.Lock()
		g = t.byRepo[repo]
		if g == nil {
			g = t.startLocked([]string{repo}, nil)
		}
		t.mu.Unlock()
		select {
		case <-g.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if g.err != nil {
			return nil, g.err
		}
		switch {
		case len(g.repos) > 1 && g.granted != nil && !g.granted[repo]:
			t.replace(repo, g)
		case len(g.repos) > 1 && t.learnedOneScope(g, repo):
			t.replace(repo, g)
		case !t.now().Before(g.expiry.Add(-min(g.life/10, 10*time.Second))):
			t.renew(repo, g)
		default:
			if g.replaces != nil && g.granted[repo] {
				t.learn(repo)
			}
			return g, nil
		}
	}
	return g, nil
}

// learnedOneScope reports whether the server is known to grant one
// repository per token and g, asked for several, has not served repo yet
// (nor is likely to: such servers grant the first repository asked).
func (t *tokens) learnedOneScope(g *grant, repo string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.oneScope && !g.worked[repo] && repo != g.repos[0]
}

// replace gives repo a token of its own in place of old, unless another
// request did already.
func (t *tokens) replace(repo string, old *grant) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byRepo[repo] == old {
		t.startLocked([]string{repo}, old)
	}
}

// renew asks again for the repositories old covers, unless another request
// did already.
func (t *tokens) renew(repo string, old *grant) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byRepo[repo] != old {
		return
	}
	repos := []string{repo}
	if !t.oneScope {
		repos = slices.DeleteFunc(slices.Clone(old.repos), func(r string) bool { return t.byRepo[r] != old })
	}
	for chunk := range slices.Chunk(repos, t.chunkLocked()) {
		t.startLocked(chunk, nil)
	}
}

// rejected handles the registry refusing g's token for repo with c; it
// reports whether asking again with another token may succeed.
func (t *tokens) rejected(repo string, g *grant, c challenge) bool {
	switch {
	case c.params["error"] == "invalid_token":
		t.renew(repo, g) // expired, or revoked: a new one for all it covered
	case len(g.repos) > 1:
		t.replace(repo, g) // the server may grant fewer repositories per token than asked
	case c.params["error"] == "insufficient_scope":
		return false // its own token does not grant it: the registry's answer stands
	default:
		t.renew(repo, g) // no reason given: perhaps expired
	}
	return true
}

// worked records that a request for repo succeeded with g.
func (t *tokens) worked(repo string, g *grant) {
	t.mu.Lock()
	if g.worked == nil {
		g.worked = map[string]bool{}
	}
	g.worked[repo] = true
	t.mu.Unlock()
	if g.replaces != nil {
		t.learn(repo)
	}
}

// learn notes that the server granted repo alone what it did not grant
// with other repositories: from now on, a token per repository.
func (t *tokens) learn(repo string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.oneScope {
		return
	}
	t.oneScope = true
	if t.log != nil {
		t.log(fmt.Sprintf("%s: the token server grants fewer repositories per token than asked (%s alone); asking a token per repository", t.reg.RegistryStr(), repo))
	}
}

// grantedRepos reads what a token grants from its access claim (jwt.md):
// the repositories it may pull. nil when the token is no such JWT:
// tokens are opaque to clients, and this is only a hint.
func grantedRepos(tok string) map[string]bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil
	}
	var claims struct {
		Access *[]struct {
			Type    string   `json:"type"`
			Name    string   `json:"name"`
			Actions []string `json:"actions"`
		} `json:"access"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Access == nil {
		return nil
	}
	out := map[string]bool{}
	for _, a := range *claims.Access {
		if a.Type == "repository" && (slices.Contains(a.Actions, "pull") || slices.Contains(a.Actions, "*")) {
			out[a.Name] = true
		}
	}
	return out
}

// repoKey carries, in a request's context, the repository path it is
// about, which picks its token.
type repoKey struct{}

func withRepo(ctx context.Context, path string) context.Context {
	return context.WithValue(ctx, repoKey{}, path)
}

// bearerTransport sends each request to the registry host with the token of
// its repository, and asks once more with another token when the registry
// refuses it. Requests to other hosts (a CDN a blob redirects to) go
// without.
type bearerTransport struct {
	host   string
	tokens *tokens
	inner  http.RoundTripper
}

func (b *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	repo, _ := req.Context().Value(repoKey{}).(string)
	if repo == "" || req.URL.Host != b.host {
		return b.inner.RoundTrip(req)
	}
	g, err := b.tokens.get(req.Context(), repo)
	if err != nil {
		return nil, err
	}
	resp, err := b.send(req, g)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		b.accepted(repo, g, resp)
		return resp, err
	}
	c, ok := pick(challenges(resp.Header))
	if !ok || c.scheme != "bearer" || !replayable(req) || !b.tokens.rejected(repo, g, c) {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, discardLimit))
	resp.Body.Close()
	if g, err = b.tokens.get(req.Context(), repo); err != nil {
		return nil, err
	}
	resp, err = b.send(req, g)
	b.accepted(repo, g, resp)
	return resp, err
}

func (b *bearerTransport) send(req *http.Request, g *grant) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+g.token)
	return b.inner.RoundTrip(r)
}

// accepted records that the registry took g's token for repo: it answered
// other than 401 or 403.
func (b *bearerTransport) accepted(repo string, g *grant, resp *http.Response) {
	if resp != nil && resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		b.tokens.worked(repo, g)
	}
}
