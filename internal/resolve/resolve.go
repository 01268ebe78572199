// Package resolve turns image tags into the content digests a registry serves
// for them, over go-containerregistry, with the fewest requests: one /v2/
// ping and one token per registry, one HEAD per unique tag (a GET only when
// per-platform digests are wanted or the registry omits the digest header),
// bounded concurrency per registry.
package resolve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/imageref"
)

// Resolver resolves tags to digests.
type Resolver interface {
	Resolve(ctx context.Context, reqs []Request) ([]Result, error)
}

// Request asks for the digest of one tag and, optionally, of the manifests
// it holds for some platforms.
type Request struct {
	Ref       imageref.Ref // repository and tag; with a digest, that manifest is read instead of the tag's
	Platforms []string     // OS/ARCH[/VARIANT] whose manifest digests are wanted
}

// Result is one tag and the digests it resolved to.
type Result struct {
	Ref       imageref.Ref      // as requested
	Digest    string            // what the tag points at: an index or a manifest
	Platforms map[string]string // requested platform -> its manifest digest
}

// Error is a failure to resolve one reference (or to reach its registry).
// Its DiagKind tells bad input from a registry or network failure.
type Error struct {
	Ref string // the reference being resolved, REPO:TAG
	Err error
}

var _ diag.ExitKind = (*Error)(nil)

func (e *Error) Error() string { return fmt.Sprintf("resolving %s: %v", e.Ref, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// DiagKind is diag.Input when the registry answered that it does not have
// the tag, the manifest or the platform asked for: the reference or the
// configured platforms are wrong, and asking again will not help. Any
// other failure is the registry's or the network's: diag.Registry.
func (e *Error) DiagKind() diag.Kind {
	if errors.Is(e.Err, ErrNotFound) || errors.Is(e.Err, ErrNoPlatform) {
		return diag.Input
	}
	return diag.Registry
}

// Failures returns the *Error of each reference that failed in an error
// Resolve returned, keyed by the reference as requested (Ref.String()).
func Failures(err error) map[string]*Error {
	out := map[string]*Error{}
	var walk func(error)
	walk = func(err error) {
		if e, ok := err.(*Error); ok {
			out[e.Ref] = e
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return out
}

// DefaultConcurrency is how many requests go to one registry at once: enough
// to resolve a hundred tags in a few round trips, few enough not to look
// like abuse to a public registry.
const DefaultConcurrency = 64

// scopesPerToken bounds the repository scopes asked for in one token request,
// keeping the token URL well under common URL-length limits.
const scopesPerToken = 50

// RegistryOptions are the settings of one registry host.
type RegistryOptions struct {
	Insecure    bool   // plain HTTP allowed
	Mirror      string // host[:port] that serves this registry's content instead
	Concurrency int    // requests in flight; 0 means the resolver's default
	CAFile      string // PEM bundle of CAs trusted for this registry, besides the system's
}

// Remote resolves against registries over the network.
type Remote struct {
	keychain    authn.Keychain
	base        http.RoundTripper
	retry       *RetryPolicy
	concurrency int
	registries  map[string]RegistryOptions
	log         io.Writer
	progress    func(done, total int)
	userAgent   string
	reuse       clients // connected clients, for ReadContent
}

var _ Resolver = (*Remote)(nil)

// Option configures a Remote.
type Option func(*Remote) error

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

// WithRegistry sets the options of one registry host (as in image names:
// docker.io, localhost:5000).
func WithRegistry(host string, o RegistryOptions) Option {
	return func(r *Remote) error {
		if o.Concurrency < 0 {
			return fmt.Errorf("registry %s: concurrency must not be negative", host)
		}
		r.registries[host] = o
		return nil
	}
}

// WithLog writes one line per HTTP request (method, URL, status, time) to
// w. Headers are never written: they carry credentials.
func WithLog(w io.Writer) Option {
	return func(r *Remote) error {
		r.log = w
		return nil
	}
}

// WithProgress calls f as tags resolve, with the count done and the total:
// one call at a time, with done rising by one each call; the last call has
// done == total.
func WithProgress(f func(done, total int)) Option {
	return func(r *Remote) error {
		r.progress = f
		return nil
	}
}

// WithUserAgent names the client in the User-Agent of every request
// (ping, token, HEAD, GET), as PRODUCT/VERSION; go-containerregistry
// appends its own name and version.
func WithUserAgent(ua string) Option {
	return func(r *Remote) error {
		if strings.ContainsFunc(ua, unicode.IsControl) {
			return fmt.Errorf("user agent %s has a control character", diag.Quote(ua))
		}
		r.userAgent = ua
		return nil
	}
}

// New returns a Remote resolver.
func New(opts ...Option) (*Remote, error) {
	r := &Remote{
		keychain:    authn.DefaultKeychain,
		concurrency: DefaultConcurrency,
		registries:  map[string]RegistryOptions{},
	}
	for _, o := range opts {
		if err := o(r); err != nil {
			return nil, err
		}
	}
	if r.retry == nil {
		p := DefaultRetryPolicy()
		r.retry = &p
	}
	if r.base == nil {
		r.base = newTransport(*r.retry)
	}
	return r, nil
}

// newTransport is go-containerregistry's default transport (proxies from
// the environment, dial and TLS handshake timeouts, HTTP/2) with the
// response headers bounded in size and in time: a registry that takes a
// request and sends no headers within the policy's HeaderTimeout gets a
// timeout error, a net.Error the retry transport retries.
func newTransport(p RetryPolicy) *http.Transport {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.MaxResponseHeaderBytes = headerLimit
	t.ResponseHeaderTimeout = p.withDefaults().HeaderTimeout
	return t
}

// Resolve resolves each unique reference once, asking for the union of the
// platforms its requests name. Results are sorted by reference; the
// error lists every reference that failed.
func (r *Remote) Resolve(ctx context.Context, reqs []Request) ([]Result, error) {
	unique := map[string]*Request{}
	var order []string
	for _, req := range reqs {
		if req.Ref.Tag == "" && req.Ref.Digest == "" {
			continue
		}
		key := req.Ref.String()
		u, ok := unique[key]
		if !ok {
			u = &Request{Ref: req.Ref}
			unique[key] = u
			order = append(order, key)
		}
		for _, p := range req.Platforms {
			if !slices.Contains(u.Platforms, p) {
				u.Platforms = append(u.Platforms, p)
			}
		}
	}
	byEndpoint := map[string][]Request{}
	for _, key := range order {
		u := unique[key]
		sort.Strings(u.Platforms)
		ep := r.endpoint(u.Ref.Registry())
		byEndpoint[ep] = append(byEndpoint[ep], *u)
	}

	var (
		mu      sync.Mutex
		results []Result
		errs    []error
		wg      sync.WaitGroup
	)
	tick := progressTicker(r.progress, len(order))
	for ep, group := range byEndpoint {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.resolveOn(ctx, ep, group, tick)
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

// progressTicker returns the function each reference calls once it is
// resolved or has failed. It calls f with the count done so far, one call
// at a time and in order, so that a display never draws a stale count
// over a later one nor anything after the last call (done == total),
// which may clear it.
func progressTicker(f func(done, total int), total int) func() {
	if f == nil {
		return func() {}
	}
	var mu sync.Mutex
	done := 0
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if done == total {
			return
		}
		done++
		f(done, total)
	}
}

// endpoint is the host requests for a registry go to: its mirror, if any.
func (r *Remote) endpoint(host string) string {
	if m := r.registries[host].Mirror; m != "" {
		return m
	}
	return host
}

// resolveOn resolves reqs, whose requests all go to the host ep.
func (r *Remote) resolveOn(ctx context.Context, ep string, reqs []Request, tick func()) ([]Result, []error) {
	failAll := func(err error) []error {
		errs := make([]error, len(reqs))
		for i, req := range reqs {
			errs[i] = &Error{Ref: req.Ref.String(), Err: err}
			tick()
		}
		return errs
	}
	c, err := r.connect(ctx, ep, reqs)
	if err != nil {
		return nil, failAll(err)
	}
	r.reuse.put(ep, c)

	limit := r.concurrency
	if n := r.registries[ep].Concurrency; n > 0 {
		limit = n
	}
	results := make([]Result, len(reqs))
	errs := make([]error, len(reqs))
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer tick()
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := c.resolve(ctx, req)
			if err != nil {
				errs[i] = &Error{Ref: req.Ref.String(), Err: err}
				return
			}
			results[i] = res
		}()
	}
	wg.Wait()

	var ok []Result
	var failed []error
	for i := range reqs {
		if errs[i] != nil {
			failed = append(failed, errs[i])
		} else {
			ok = append(ok, results[i])
		}
	}
	return ok, failed
}

// plainHTTPAllowed: HTTPS always, except loopback and registries marked
// insecure.
func (r *Remote) plainHTTPAllowed(host string) bool {
	if r.registries[host].Insecure {
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

// transportFor is the base transport for one host: the CA bundle configured
// for it, request logging, retries, and the User-Agent. Every request to
// the host and its token server goes through it.
func (r *Remote) transportFor(host string) (http.RoundTripper, error) {
	t := r.base
	if ca := r.registries[host].CAFile; ca != "" {
		ht, ok := t.(*http.Transport)
		if !ok {
			return nil, fmt.Errorf("registry %s: a CA bundle needs an *http.Transport", host)
		}
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("registry %s: reading CA bundle: %w", host, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("registry %s: CA bundle %s holds no PEM certificate", host, ca)
		}
		ht = ht.Clone()
		if ht.TLSClientConfig == nil {
			ht.TLSClientConfig = &tls.Config{}
		}
		ht.TLSClientConfig.RootCAs = pool
		t = ht
	}
	if r.log != nil {
		t = &logTransport{inner: t, w: r.log}
	}
	return transport.NewUserAgent(NewRetryTransport(t, *r.retry), r.userAgent), nil
}

// connect pings the registry once and, when it asks for bearer tokens, fetches
// one token covering every repository resolved on it.
func (r *Remote) connect(ctx context.Context, ep string, reqs []Request) (*client, error) {
	var nameOpts []name.Option
	if r.plainHTTPAllowed(ep) {
		nameOpts = append(nameOpts, name.Insecure)
	}
	// Docker Hub's API lives at index.docker.io; name does that mapping.
	reg, err := name.NewRegistry(ep, nameOpts...)
	if err != nil {
		return nil, err
	}
	base, err := r.transportFor(ep)
	if err != nil {
		return nil, err
	}
	auth, err := authn.Resolve(ctx, r.keychain, reg)
	if err != nil {
		return nil, fmt.Errorf("reading credentials for %s: %w", ep, err)
	}
	ch, err := transport.Ping(ctx, reg, base)
	if err != nil {
		return nil, err
	}
	scheme := "https"
	if ch.Insecure {
		if !r.plainHTTPAllowed(ep) {
			return nil, fmt.Errorf("registry %s answered only over plain HTTP; mark it insecure in imglock.toml to allow that", ep)
		}
		scheme = "http"
	}
	base = &schemeTransport{scheme: scheme, host: reg.RegistryStr(), inner: base}
	c := &client{reg: reg, scheme: scheme, nameOpts: nameOpts, transports: map[string]*http.Client{}}

	var repos []string
	for _, req := range reqs {
		if !slices.Contains(repos, req.Ref.Repo) {
			repos = append(repos, req.Ref.Repo)
		}
	}
	if !strings.EqualFold(ch.Scheme, "bearer") {
		t, err := transport.FromToken(reg, auth, base, ch, nil)
		if err != nil {
			return nil, err
		}
		for _, repo := range repos {
			c.transports[repo] = &http.Client{Transport: t, CheckRedirect: sameHostRedirect}
		}
		return c, nil
	}
	for chunk := range slices.Chunk(repos, scopesPerToken) {
		scopes := make([]string, len(chunk))
		for i, repo := range chunk {
			scopes[i] = c.repository(repo).Scope(transport.PullScope)
		}
		tok, err := transport.Exchange(ctx, reg, auth, base, scopes, ch)
		if err != nil {
			return nil, fmt.Errorf("getting a token for %s: %w", ep, err)
		}
		t, err := transport.FromToken(reg, auth, base, ch, tok)
		if err != nil {
			return nil, err
		}
		for _, repo := range chunk {
			c.transports[repo] = &http.Client{Transport: t, CheckRedirect: sameHostRedirect}
		}
	}
	return c, nil
}

// sameHostRedirect keeps manifest requests on the registry asked: a tag's
// manifest has no business elsewhere. Blobs may go to a CDN (Docker Hub
// does that); the bearer token is only ever sent to the registry's host.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("stopped after 5 redirects")
	}
	if strings.Contains(via[0].URL.Path, "/manifests/") && req.URL.Host != via[0].URL.Host {
		return fmt.Errorf("refusing a redirect of a manifest request from %s to another host, %s", via[0].URL.Host, req.URL.Host)
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

// NewSchemeTransport sends requests for host with scheme, whatever scheme
// go-containerregistry picked (plain HTTP for every loopback host); requests
// to other hosts pass unchanged.
func NewSchemeTransport(host, scheme string, inner http.RoundTripper) http.RoundTripper {
	return &schemeTransport{scheme: scheme, host: host, inner: inner}
}

func (t *schemeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host == t.host && req.URL.Scheme != t.scheme {
		req = req.Clone(req.Context())
		req.URL.Scheme = t.scheme
	}
	return t.inner.RoundTrip(req)
}
