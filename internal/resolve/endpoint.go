package resolve

import (
	"cmp"
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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/imglock/imglock/internal/imageref"
)

// endpoint is one host that answers for a registry: the registry itself,
// or its mirror, which serves the registry's repositories under a path.
// It connects once, on the first request: one ping, and tokens as
// repositories need them.
type endpoint struct {
	r        *Remote
	registry string          // as image names write it: docker.io
	host     string          // host[:port] asked
	prefix   string          // the path a mirror serves the repositories under; "" for the registry
	mirror   string          // HOST[:PORT][/PATH] when a mirror; "" for the registry
	opts     RegistryOptions // the registry's settings, which apply here
	sem      chan struct{}   // requests in flight

	once   sync.Once
	conn   *conn
	tokens *tokens // nil unless the host asks for bearer tokens
	err    error
}

// newEndpoint is the registry itself (mirror "") or its mirror. A mirror
// host with a table of its own, as configurations written before mirrors
// took their registry's settings have, adds what the registry's lacks.
func (r *Remote) newEndpoint(registry, mirror string, opts RegistryOptions) *endpoint {
	e := &endpoint{r: r, registry: registry, host: registry, mirror: mirror, opts: opts}
	if mirror != "" {
		e.host, e.prefix, _ = strings.Cut(mirror, "/")
		if own, ok := r.registries[e.host]; ok {
			e.opts.Insecure = e.opts.Insecure || own.Insecure
			e.opts.CAFile = cmp.Or(e.opts.CAFile, own.CAFile)
			e.opts.Concurrency = cmp.Or(e.opts.Concurrency, own.Concurrency)
		}
	}
	e.sem = make(chan struct{}, cmp.Or(e.opts.Concurrency, r.concurrency))
	return e
}

// path is where the host serves repo, a canonical repository of the
// registry: library/alpine for docker.io/library/alpine, under the
// mirror's path when a mirror.
func (e *endpoint) path(repo string) string {
	_, p, _ := strings.Cut(repo, "/")
	if e.prefix != "" {
		return e.prefix + "/" + p
	}
	return p
}

// prepare connects and starts fetching the tokens of repos (canonical),
// as many to a token request as the server allows, before the requests
// for them need them.
func (e *endpoint) prepare(ctx context.Context, repos []string) {
	if _, err := e.connect(ctx); err != nil || e.tokens == nil {
		return
	}
	paths := make([]string, len(repos))
	for i, repo := range repos {
		paths[i] = e.path(repo)
	}
	e.tokens.prefetch(paths)
}

// use runs f on this host's connection, within its bound on requests in
// flight.
func (e *endpoint) use(ctx context.Context, f func(c *conn) error) error {
	c, err := e.connect(ctx)
	if err != nil {
		return err
	}
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-e.sem }()
	return e.explain(f(c))
}

// target is repo (canonical) as this host serves it.
func (e *endpoint) target(repo string) target {
	return target{path: e.path(repo), canonical: repo}
}

// resolve answers req on this host.
func (e *endpoint) resolve(ctx context.Context, req Request) (Result, error) {
	res := Result{Ref: req.Ref}
	err := e.use(ctx, func(c *conn) (err error) {
		res, err = c.resolve(ctx, e.target(req.Ref.Repo), req)
		return err
	})
	return res, err
}

// connect pings the host once; the error is a *hostError, shared by every
// request.
func (e *endpoint) connect(ctx context.Context) (*conn, error) {
	e.once.Do(func() {
		e.conn, e.err = e.dial(ctx)
		if e.err != nil {
			e.err = &hostError{e.err}
		}
	})
	return e.conn, e.err
}

func (e *endpoint) dial(ctx context.Context) (*conn, error) {
	// Docker Hub's API lives at index.docker.io; name does that mapping.
	reg, err := name.NewRegistry(e.host)
	if err != nil {
		return nil, err
	}
	base, err := e.transport()
	if err != nil {
		return nil, err
	}
	p, err := e.ping(ctx, reg, base)
	if err != nil {
		return nil, err
	}
	c := &conn{scheme: p.scheme, reg: reg, host: e.host, mirror: e.mirror, memo: &e.r.memo}
	inner := &schemeTransport{scheme: p.scheme, host: reg.RegistryStr(), inner: base}
	var rt http.RoundTripper = inner
	if p.challenge != nil {
		auth, err := e.credentials(ctx, reg)
		if err != nil {
			return nil, err
		}
		ch := p.challenge.asTransport(p.scheme == "http")
		switch p.challenge.scheme {
		case "bearer":
			var log func(string)
			if e.r.log != nil {
				log = func(s string) { fmt.Fprintln(e.r.log, s) }
			}
			e.tokens = newTokens(ctx, reg, auth, base, ch, e.r.perToken, log)
			rt = &bearerTransport{host: reg.RegistryStr(), tokens: e.tokens, inner: inner}
		default:
			if rt, err = transport.FromToken(reg, auth, inner, ch, nil); err != nil {
				return nil, err
			}
		}
	}
	c.http = &http.Client{Transport: rt, CheckRedirect: sameHostRedirect}
	return c, nil
}

// credentials reads the host's credentials from the Docker config once, so
// that a credential helper runs once per host, not once per token.
func (e *endpoint) credentials(ctx context.Context, reg name.Registry) (authn.Authenticator, error) {
	a, err := authn.Resolve(ctx, e.r.keychain, reg)
	if err != nil {
		return nil, fmt.Errorf("reading credentials for %s: %w", e.host, err)
	}
	cfg, err := authn.Authorization(ctx, a)
	if err != nil {
		return nil, fmt.Errorf("reading credentials for %s: %w", e.host, err)
	}
	if *cfg == (authn.AuthConfig{}) {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(*cfg), nil
}

// pinged is what a host's /v2/ said: the scheme it answered on, and how
// it wants requests authenticated (nil when it does not).
type pinged struct {
	scheme    string
	challenge *challenge
}

// ping asks the host for /v2/: over HTTPS, except that a loopback host
// with no CA bundle is asked over plain HTTP first (most are: a registry
// container on a developer's machine), and a loopback host or one marked
// insecure is asked over plain HTTP when HTTPS fails.
func (e *endpoint) ping(ctx context.Context, reg name.Registry, base http.RoundTripper) (*pinged, error) {
	schemes := []string{"https"}
	switch {
	case loopback(e.host) && e.opts.CAFile == "":
		schemes = []string{"http", "https"}
	case loopback(e.host) || e.opts.Insecure:
		schemes = []string{"https", "http"}
	}
	var errs []error
	for _, scheme := range schemes {
		p, err := pingOnce(ctx, reg, scheme, base)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
		if errors.Is(err, syscall.ECONNREFUSED) && scheme == "http" || ctx.Err() != nil {
			break // nothing listens: no use trying the other scheme on the same port
		}
	}
	// The attempt that met a server speaking its scheme says what is wrong.
	spoke := slices.DeleteFunc(slices.Clone(errs), wrongScheme)
	if len(spoke) == 0 {
		spoke = errs
	}
	err := spoke[0]
	if len(spoke) == 2 { // one line, unlike errors.Join
		err = fmt.Errorf("%w; %w", spoke[0], spoke[1])
	}
	if len(errs) == 1 && errors.Is(err, http.ErrSchemeMismatch) {
		err = fmt.Errorf("%w; to allow plain HTTP, set insecure = true in [registries.%q]", err, e.registry)
	}
	return nil, err
}

// wrongScheme reports whether a ping failed for asking in the scheme the
// server does not speak: HTTPS of a plain-HTTP server, or plain HTTP of an
// HTTPS server (which answers 400).
func wrongScheme(err error) bool {
	var te *transport.Error
	return errors.Is(err, http.ErrSchemeMismatch) || errors.As(err, &te) && te.StatusCode == http.StatusBadRequest
}

func pingOnce(ctx context.Context, reg name.Registry, scheme string, base http.RoundTripper) (*pinged, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: base}).Do(req)
	if err != nil {
		return nil, err
	}
	defer func() {
		// Drained, the connection carries the requests that follow.
		io.Copy(io.Discard, io.LimitReader(resp.Body, discardLimit))
		resp.Body.Close()
	}()
	// A redirect may have changed the scheme.
	p := &pinged{scheme: resp.Request.URL.Scheme}
	switch resp.StatusCode {
	case http.StatusOK:
		return p, nil
	case http.StatusUnauthorized:
		c, ok := pick(challenges(resp.Header))
		if !ok {
			return nil, fmt.Errorf("GET %s: 401 Unauthorized with no Basic or Bearer challenge (WWW-Authenticate %q)", req.URL, resp.Header.Get("WWW-Authenticate"))
		}
		p.challenge = &c
		return p, nil
	}
	return nil, transport.CheckError(resp, http.StatusOK, http.StatusUnauthorized)
}

// explain adds to a failure what the user can do about it: Docker Hub's
// rate limit is lifted by logging in.
func (e *endpoint) explain(err error) error {
	var re *RetryError
	if !errors.As(err, &re) || re.StatusCode != http.StatusTooManyRequests {
		return err
	}
	limit := describeLimit(re.RateLimit)
	if e.mirror == "" && imageref.CanonicalHost(e.host) == "docker.io" {
		if limit != "" {
			limit = " (" + limit + ")"
		}
		return fmt.Errorf("%w\nDocker Hub limits the pulls of anonymous users by IP address%s; "+
			"log in (docker login) for a higher limit, or set a mirror for docker.io in imglock.toml", err, limit)
	}
	if limit != "" {
		return fmt.Errorf("%w (the registry's rate limit: %s)", err, limit)
	}
	return err
}

// describeLimit reads a RateLimit-Limit header ("100;w=21600"): "100
// pulls per 6 hours"; "" when it cannot.
func describeLimit(v string) string {
	n, params, _ := strings.Cut(v, ";")
	n = strings.TrimSpace(n)
	if _, err := strconv.Atoi(n); err != nil {
		return ""
	}
	w, ok := strings.CutPrefix(strings.TrimSpace(params), "w=")
	secs, err := strconv.Atoi(w)
	if !ok || err != nil || secs <= 0 {
		return n + " pulls"
	}
	per := (time.Duration(secs) * time.Second).String()
	if secs%3600 == 0 {
		per = strconv.Itoa(secs/3600) + " hours"
	}
	return n + " pulls per " + per
}

// loopback reports whether host is localhost or a loopback IP address:
// plain HTTP is allowed there without configuration, as Docker does.
func loopback(host string) bool {
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

// transport is the base transport for this host: the CA bundle configured
// for it, request logging, retries, and the User-Agent. Every request to
// the host and its token server goes through it.
func (e *endpoint) transport() (http.RoundTripper, error) {
	t := e.r.base
	if ca := e.opts.CAFile; ca != "" {
		ht, ok := t.(*http.Transport)
		if !ok {
			return nil, fmt.Errorf("registry %s: a CA bundle needs an *http.Transport", e.registry)
		}
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("registry %s: reading CA bundle: %w", e.registry, err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("registry %s: CA bundle %s holds no PEM certificate", e.registry, ca)
		}
		ht = ht.Clone()
		if ht.TLSClientConfig == nil {
			ht.TLSClientConfig = &tls.Config{}
		}
		ht.TLSClientConfig.RootCAs = pool
		t = ht
	}
	if e.r.log != nil {
		t = &logTransport{inner: t, w: e.r.log}
	}
	return transport.NewUserAgent(NewRetryTransport(t, *e.r.retry), e.r.userAgent), nil
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
