// Package resolve turns image tags into the content digests a registry serves
// for them, over go-containerregistry, with the fewest requests: one /v2/
// ping and one token per registry, one HEAD per unique tag, bounded
// concurrency per registry.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/imglock/imglock/internal/imageref"
)

// Resolver resolves tags to digests.
type Resolver interface {
	Resolve(ctx context.Context, refs []imageref.Ref) ([]Result, error)
}

// Result is one tag and the digest it resolved to.
type Result struct {
	Ref    imageref.Ref // repository and tag, without digest
	Digest string
}

// Error is a failure to resolve one reference (or to reach its registry).
// Callers branch on it to tell network failures from bad input.
type Error struct {
	Ref string // the reference being resolved, REPO:TAG
	Err error
}

func (e *Error) Error() string { return fmt.Sprintf("resolving %s: %v", e.Ref, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// DefaultConcurrency is how many requests go to one registry at once.
const DefaultConcurrency = 32

// scopesPerToken bounds the repository scopes asked for in one token request,
// keeping the token URL well under common URL-length limits.
const scopesPerToken = 50

// Remote resolves against registries over the network.
type Remote struct {
	keychain    authn.Keychain
	base        http.RoundTripper
	concurrency int
	insecure    map[string]bool
}

var _ Resolver = (*Remote)(nil)

// Option configures a Remote.
type Option func(*Remote) error

// WithKeychain sets where credentials come from (default authn.DefaultKeychain).
func WithKeychain(k authn.Keychain) Option {
	return func(r *Remote) error {
		if k == nil {
			return errors.New("nil keychain")
		}
		r.keychain = k
		return nil
	}
}

// WithTransport sets the HTTP transport every request goes through.
func WithTransport(t http.RoundTripper) Option {
	return func(r *Remote) error {
		if t == nil {
			return errors.New("nil transport")
		}
		r.base = t
		return nil
	}
}

// WithConcurrency bounds the requests in flight to one registry.
func WithConcurrency(n int) Option {
	return func(r *Remote) error {
		if n < 1 {
			return fmt.Errorf("concurrency must be at least 1, not %d", n)
		}
		r.concurrency = n
		return nil
	}
}

// WithInsecure allows plain HTTP for the named registries (host[:port]).
func WithInsecure(registries ...string) Option {
	return func(r *Remote) error {
		for _, h := range registries {
			r.insecure[h] = true
		}
		return nil
	}
}

// New returns a Remote resolver.
func New(opts ...Option) (*Remote, error) {
	r := &Remote{
		keychain:    authn.DefaultKeychain,
		base:        remote.DefaultTransport,
		concurrency: DefaultConcurrency,
		insecure:    map[string]bool{},
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// Resolve resolves each unique repository:tag once. Digests written in refs
// are ignored: the tag is what is resolved. Results are sorted by reference;
// the error lists every reference that failed.
func (r *Remote) Resolve(ctx context.Context, refs []imageref.Ref) ([]Result, error) {
	byRegistry := map[string][]imageref.Ref{}
	seen := map[string]bool{}
	for _, ref := range refs {
		ref.Digest = ""
		if ref.Tag == "" || seen[ref.String()] {
			continue
		}
		seen[ref.String()] = true
		byRegistry[ref.Registry()] = append(byRegistry[ref.Registry()], ref)
	}

	var (
		mu      sync.Mutex
		results []Result
		errs    []error
		wg      sync.WaitGroup
	)
	for _, group := range byRegistry {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.resolveRegistry(ctx, group)
			mu.Lock()
			defer mu.Unlock()
			results = append(results, res...)
			errs = append(errs, err...)
		}()
	}
	wg.Wait()

	sort.Slice(results, func(i, j int) bool { return results[i].Ref.String() < results[j].Ref.String() })
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return results, errors.Join(errs...)
}

// resolveRegistry resolves refs that all live on one registry.
func (r *Remote) resolveRegistry(ctx context.Context, refs []imageref.Ref) ([]Result, []error) {
	host := refs[0].Registry()
	failAll := func(err error) []error {
		errs := make([]error, len(refs))
		for i, ref := range refs {
			errs[i] = &Error{Ref: ref.String(), Err: err}
		}
		return errs
	}

	reg, err := r.registry(host)
	if err != nil {
		return nil, failAll(err)
	}
	transports, err := r.connect(ctx, reg, refs)
	if err != nil {
		return nil, failAll(err)
	}

	results := make([]Result, len(refs))
	errs := make([]error, len(refs))
	sem := make(chan struct{}, r.concurrency)
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			digest, err := head(ctx, reg, ref, transports[ref.Repo])
			if err != nil {
				errs[i] = &Error{Ref: ref.String(), Err: err}
				return
			}
			results[i] = Result{Ref: ref, Digest: digest}
		}()
	}
	wg.Wait()

	var ok []Result
	var failed []error
	for i := range refs {
		if errs[i] != nil {
			failed = append(failed, errs[i])
		} else {
			ok = append(ok, results[i])
		}
	}
	return ok, failed
}

func (r *Remote) registry(host string) (name.Registry, error) {
	var opts []name.Option
	if r.plainHTTPAllowed(host) {
		opts = append(opts, name.Insecure)
	}
	// Docker Hub's API lives at index.docker.io; name does that mapping.
	return name.NewRegistry(host, opts...)
}

// plainHTTPAllowed: HTTPS always, except loopback and registries marked
// insecure.
func (r *Remote) plainHTTPAllowed(host string) bool {
	if r.insecure[host] {
		return true
	}
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return ip != nil && ip.IsLoopback()
}

// connect pings the registry once and, when it asks for bearer tokens, fetches
// one token covering every repository resolved on it. It returns the
// authenticated transport for each repository.
func (r *Remote) connect(ctx context.Context, reg name.Registry, refs []imageref.Ref) (map[string]http.RoundTripper, error) {
	auth, err := authn.Resolve(ctx, r.keychain, reg)
	if err != nil {
		return nil, fmt.Errorf("reading credentials for %s: %w", reg.RegistryStr(), err)
	}
	ch, err := transport.Ping(ctx, reg, r.base)
	if err != nil {
		return nil, err
	}
	scheme := "https"
	if ch.Insecure {
		if !r.plainHTTPAllowed(reg.RegistryStr()) {
			return nil, fmt.Errorf("registry %s answered only over plain HTTP; mark it insecure in imglock.toml to allow that", reg.RegistryStr())
		}
		scheme = "http"
	}
	base := &schemeTransport{scheme: scheme, host: reg.RegistryStr(), inner: r.base}

	var repos []string
	for _, ref := range refs {
		if !contains(repos, ref.Repo) {
			repos = append(repos, ref.Repo)
		}
	}
	out := make(map[string]http.RoundTripper, len(repos))
	if !strings.EqualFold(ch.Scheme, "bearer") {
		t, err := transport.FromToken(reg, auth, base, ch, nil)
		if err != nil {
			return nil, err
		}
		for _, repo := range repos {
			out[repo] = t
		}
		return out, nil
	}
	for len(repos) > 0 {
		chunk := repos[:min(scopesPerToken, len(repos))]
		repos = repos[len(chunk):]
		scopes := make([]string, len(chunk))
		for i, repo := range chunk {
			scopes[i] = reg.Repo(strings.TrimPrefix(repo, "docker.io/")).Scope(transport.PullScope)
		}
		tok, err := transport.Exchange(ctx, reg, auth, base, scopes, ch)
		if err != nil {
			return nil, fmt.Errorf("getting a token from %s: %w", reg.RegistryStr(), err)
		}
		t, err := transport.FromToken(reg, auth, base, ch, tok)
		if err != nil {
			return nil, err
		}
		for _, repo := range chunk {
			out[repo] = t
		}
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// head asks the registry for the digest a tag points at, without pulling it.
func head(ctx context.Context, reg name.Registry, ref imageref.Ref, t http.RoundTripper) (string, error) {
	tag, err := name.NewTag(ref.String(), nameOptions(reg)...)
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(tag, remote.WithTransport(t), remote.WithContext(ctx))
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return "", fmt.Errorf("not found: %s has no tag %q (HEAD answered 404)", ref.Repo, ref.Tag)
	}
	if err != nil {
		return "", err
	}
	d := desc.Digest.String()
	if err := imageref.CheckDigest(d); err != nil {
		return "", fmt.Errorf("registry answered an unusable digest: %w", err)
	}
	return d, nil
}

func nameOptions(reg name.Registry) []name.Option {
	if reg.Scheme() == "http" {
		return []name.Option{name.Insecure}
	}
	return nil
}

// schemeTransport sends requests for one registry host with the scheme its
// ping settled on; requests to other hosts (token servers) pass unchanged.
type schemeTransport struct {
	scheme string
	host   string
	inner  http.RoundTripper
}

func (t *schemeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == t.host && req.URL.Scheme != t.scheme {
		req = req.Clone(req.Context())
		req.URL.Scheme = t.scheme
	}
	return t.inner.RoundTrip(req)
}
