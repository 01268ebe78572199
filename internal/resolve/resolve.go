// Package resolve turns image tags into the content digests a registry serves
// for them, over go-containerregistry, with the fewest requests and round
// trips: one /v2/ ping per host, bearer tokens covering many repositories
// each (one per repository where the token server grants no more), one
// HEAD per unique tag (a GET only when per-platform digests are wanted or
// the registry omits the digest header), all of them at once up to a bound
// per registry, with per-platform digests read from an index and retries
// with backoff on rate limits, server errors and connection errors.
//
// A registry may have a mirror (HOST[:PORT][/PATH], as Docker's
// registry-mirrors and Harbor's proxy-cache projects): its settings apply
// to the mirror, and a reference the mirror fails is asked of the registry
// itself unless the settings say not to.
package resolve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

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

// Error is a failure to resolve one reference.
// Its DiagKind tells bad input from a registry or network failure.
type Error struct {
	Ref    string // the reference being resolved, REPO:TAG
	Mirror string // the mirror that was asked and failed, HOST[:PORT][/PATH]; "" when it was the registry
	Err    error  // a *RegistryError when the whole registry failed
}

var _ diag.ExitKind = (*Error)(nil)

func (e *Error) Error() string {
	err := e.Err
	if re, ok := err.(*RegistryError); ok {
		err = re.Err // its references are named here one by one
	}
	return fmt.Sprintf("resolving %s%s: %v", e.Ref, onMirror(e.Mirror), err)
}

func (e *Error) Unwrap() error { return e.Err }

// DiagKind is diag.Input when the registry answered that it does not have
// the tag, the manifest or the platform asked for: the reference or the
// configured platforms are wrong, and asking again will not help. Any
// other failure is the registry's or the network's: diag.Registry.
func (e *Error) DiagKind() diag.Kind { return kindOf(e.Err) }

func kindOf(err error) diag.Kind {
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNoPlatform) {
		return diag.Input
	}
	return diag.Registry
}

// RegistryError is a failure that every reference asked of one host met:
// the host could not be reached, answered no usable /v2/, or its token
// server refused. It is reported once for all of them.
type RegistryError struct {
	Registry string   // as image names write it: docker.io
	Mirror   string   // the mirror asked, HOST[:PORT][/PATH]; "" when it was the registry
	Refs     []string // the references not resolved, sorted
	Err      error
}

var _ diag.ExitKind = (*RegistryError)(nil)

func (e *RegistryError) Error() string {
	what := e.Refs[0]
	if n := len(e.Refs) - 1; n > 0 {
		of := " on "
		if e.Mirror != "" {
			of = " of "
		}
		what += fmt.Sprintf(" and %s%s%s", diag.Count(n, "more reference"), of, e.Registry)
	}
	return fmt.Sprintf("resolving %s%s: %v", what, onMirror(e.Mirror), e.Err)
}

func (e *RegistryError) Unwrap() error       { return e.Err }
func (e *RegistryError) DiagKind() diag.Kind { return kindOf(e.Err) }

func onMirror(m string) string {
	if m == "" {
		return ""
	}
	return " on mirror " + m
}

// Failures returns the *Error of each reference that failed in an error
// Resolve returned, keyed by the reference as requested (Ref.String()):
// every reference a RegistryError names has one, wrapping it.
func Failures(err error) map[string]*Error {
	out := map[string]*Error{}
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case *Error:
			out[e.Ref] = e
		case *RegistryError:
			for _, ref := range e.Refs {
				out[ref] = &Error{Ref: ref, Mirror: e.Mirror, Err: e}
			}
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return out
}

// Collapse returns errs with the failures of each RegistryError replaced
// by that RegistryError, once, where its first reference was: what to
// print so that a registry's failure reads once, not once per reference.
func Collapse(errs []error) []error {
	var out []error
	seen := map[*RegistryError]bool{}
	for _, err := range errs {
		var re *RegistryError
		if errors.As(err, &re) {
			if !seen[re] {
				seen[re] = true
				out = append(out, re)
			}
			continue
		}
		out = append(out, err)
	}
	return out
}

// DefaultConcurrency is how many requests go to one registry at once:
// a hundred tags in one round trip (over HTTP/2, on one connection), few
// enough not to look like abuse to a public registry.
const DefaultConcurrency = 128

// scopesPerToken bounds the repository scopes asked for in one token request,
// keeping the token URL well under common URL-length limits.
const scopesPerToken = 50

// RegistryOptions are the settings of one registry. Insecure, CAFile and
// Concurrency apply to whatever answers for it: its mirror, and the
// registry itself when the mirror fails.
type RegistryOptions struct {
	Insecure    bool   // plain HTTP allowed
	Mirror      string // HOST[:PORT][/PATH] that serves this registry's repositories instead
	MirrorOnly  bool   // a reference the mirror fails is not asked of the registry itself
	Concurrency int    // requests in flight; 0 means the resolver's default
	CAFile      string // PEM bundle of CAs trusted for this registry, besides the system's
}

// Remote resolves against registries over the network.
type Remote struct {
	keychain    authn.Keychain
	base        http.RoundTripper
	retry       *RetryPolicy
	concurrency int
	perToken    int // repository scopes asked in one token request
	registries  map[string]RegistryOptions
	log         io.Writer
	warn        func(string)
	progress    func(done, total int)
	userAgent   string

	memo      manifestMemo // manifests the run downloaded, for ReadContent
	mu        sync.Mutex
	endpoints map[string]*registryHosts // by registry: connected once a run
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

// WithRegistry sets the options of one registry host as image names write
// it (docker.io, localhost:5000); Docker Hub's other names
// (index.docker.io, registry-1.docker.io) are docker.io.
func WithRegistry(host string, o RegistryOptions) Option {
	return func(r *Remote) error {
		if o.Concurrency < 0 {
			return fmt.Errorf("registry %s: concurrency must not be negative", host)
		}
		if o.Mirror != "" {
			if err := imageref.CheckHostPath(o.Mirror); err != nil {
				return fmt.Errorf("registry %s: mirror: %w", host, err)
			}
		}
		r.registries[imageref.CanonicalHost(host)] = o
		return nil
	}
}

// WithLog writes one line per HTTP request (method, URL, status, time, and
// the rate-limit headers a registry sent) to w. Other headers are never
// written: they carry credentials.
func WithLog(w io.Writer) Option {
	return func(r *Remote) error {
		r.log = w
		return nil
	}
}

// WithWarnings calls f with what a run went past but the user should
// know, such as a mirror that failed and was fallen back from: each once.
func WithWarnings(f func(msg string)) Option {
	return func(r *Remote) error {
		r.warn = f
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
		perToken:    scopesPerToken,
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
// the environment: HTTP_PROXY, HTTPS_PROXY, NO_PROXY; dial and TLS
// handshake timeouts; HTTP/2 over TLS) with the response headers bounded
// in size and in time: a registry that takes a request and sends no
// headers within the policy's HeaderTimeout gets a timeout error, a
// net.Error the retry transport retries.
func newTransport(p RetryPolicy) *http.Transport {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.MaxResponseHeaderBytes = headerLimit
	t.ResponseHeaderTimeout = p.withDefaults().HeaderTimeout
	// Every request of a run may be in flight at once: keep their
	// connections for the next ones instead of closing all but 50. No
	// limit across hosts either: the default's 100 closes connections a
	// request was about to reuse ("putIdleConn: too many idle
	// connections"); concurrency bounds them already.
	t.MaxIdleConnsPerHost = maxIdlePerHost
	t.MaxIdleConns = 0
	return t
}

// maxIdlePerHost is the most concurrency imglock.toml allows.
const maxIdlePerHost = 1024

// Resolve resolves each unique reference once, asking for the union of the
// platforms its requests name. Results are sorted by reference; the
// error lists every reference that failed, a registry's failure once
// (RegistryError).
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
	byRegistry := map[string][]Request{}
	for _, key := range order {
		u := unique[key]
		sort.Strings(u.Platforms)
		reg := imageref.CanonicalHost(u.Ref.Registry())
		byRegistry[reg] = append(byRegistry[reg], *u)
	}

	var (
		mu      sync.Mutex
		results []Result
		errs    []error
		wg      sync.WaitGroup
	)
	tick := progressTicker(r.progress, len(order))
	for reg, group := range byRegistry {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := r.resolveRegistry(ctx, reg, group, tick)
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
