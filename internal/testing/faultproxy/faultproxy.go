// Package faultproxy is test support: the one misbehaving registry, a
// reverse proxy on loopback in front of a real registry. It adds latency,
// error answers with Retry-After, connection resets, stalls and a missing
// Docker-Content-Digest; it serves one manifest in place of another under
// the other's digest; and it lets a test answer manifest requests itself,
// for the ways a registry can lie about or flood a manifest (Answer,
// StartHostile). Tests and benchmarks use it for what a real registry
// cannot be made to do; everything else is the real registry behind it.
//
// Faults apply by default only to manifest HEAD and GET requests, the ones
// that resolve tags, so that a test of tag resolution is not thrown off by
// its ping or token; FaultAllRequests widens them to every request. Faults
// queue in the order they are set: Fail(2, ...) then Reset(1) answers two
// errors, then resets one connection, then forwards.
package faultproxy

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/testing/registry"
	"github.com/imglock/imglock/internal/testing/testcert"
)

// Proxy is a running fault proxy.
type Proxy struct {
	Addr   string // host:port on 127.0.0.1; the registry as clients see it
	CAFile string // with StartTLS, the PEM file of the CA that signed its certificate

	// Counter counts the requests received, by kind as registry.Kind
	// classifies them; faulted requests count too.
	registry.Counter

	target   string
	ln       net.Listener
	dir      string // StartTLS's certificate files
	conns    atomic.Int64
	srv      *http.Server
	upstream *http.Transport
	closing  chan struct{}
	once     sync.Once

	mu          sync.Mutex
	latency     time.Duration
	faults      []fault // pending, in order
	all         bool
	strip       bool
	answers     map[string]http.HandlerFunc // by request kind (head, get)
	substitutes map[string]string           // digest -> the digest served in its place
	routes      map[string]string           // path prefix -> the host:port it goes to instead
	headers     http.Header                 // added to every response
}

type faultKind int

const (
	failStatus faultKind = iota
	resetConn
	stall
)

type fault struct {
	kind       faultKind
	n          int
	status     int
	retryAfter string
}

// Start starts a proxy on a free loopback port in front of target, the
// host:port of a registry served over plain HTTP. It panics if it cannot
// listen, as httptest does.
func Start(target string) *Proxy {
	p := newProxy(target)
	go p.srv.Serve(p.ln)
	return p
}

// StartTLS is Start serving HTTPS, and HTTP/2 to clients that offer it
// (as public registries do), with a certificate for 127.0.0.1, ::1 and
// localhost from a CA of its own: CAFile. It panics if it cannot.
func StartTLS(target string) *Proxy {
	p := newProxy(target)
	dir, err := os.MkdirTemp("", "faultproxy-")
	if err != nil {
		panic(fmt.Sprintf("faultproxy: %v", err))
	}
	p.dir = dir
	if _, err := testcert.Write(dir); err != nil {
		panic(fmt.Sprintf("faultproxy: %v", err))
	}
	p.CAFile = filepath.Join(dir, "ca.pem")
	go p.srv.ServeTLS(p.ln, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	return p
}

func newProxy(target string) *Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("faultproxy: listening: %v", err))
	}
	p := &Proxy{
		ln:      ln,
		Addr:    ln.Addr().String(),
		target:  target,
		closing: make(chan struct{}),
		// No proxy from the environment: the upstream is on loopback.
		upstream: &http.Transport{MaxIdleConnsPerHost: 100, IdleConnTimeout: 30 * time.Second},
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			to := p.upstreamFor(r.In.URL.Path)
			r.SetURL(&url.URL{Scheme: "http", Host: to})
			r.Out.Host = to
			// Answers name the proxy as the client named it.
			r.Out = r.Out.WithContext(context.WithValue(r.Out.Context(), inboundHostKey{}, r.In.Host))
			p.substitute(r)
		},
		Transport:      p.upstream,
		ModifyResponse: p.modifyResponse,
		ErrorLog:       log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "faultproxy: upstream: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{
		Handler:           p.handler(rp),
		ErrorLog:          log.New(io.Discard, "", 0),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				p.conns.Add(1)
			}
		},
	}
	return p
}

// Conns is how many connections clients opened to the proxy.
func (p *Proxy) Conns() int { return int(p.conns.Load()) }

// StartHostile starts a proxy whose manifest HEAD and GET requests head and
// get answer (see Answer), in front of an empty in-process registry of its
// own, which answers the rest; both stop when the test ends.
func StartHostile(tb testing.TB, head, get http.HandlerFunc) *Proxy {
	reg := registry.Start()
	tb.Cleanup(reg.Close)
	p := Start(reg.Addr)
	tb.Cleanup(p.Close)
	p.Answer(head, get)
	return p
}

// Route sends the requests whose path starts with prefix to target, the
// host:port of another plain-HTTP server, instead of the registry: a token
// server behind the registry's address, as Harbor serves /service/token.
// Latency, faults and counts apply to them as to the rest.
func (p *Proxy) Route(prefix, target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.routes == nil {
		p.routes = map[string]string{}
	}
	p.routes[prefix] = target
}

func (p *Proxy) upstreamFor(path string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	for prefix, to := range p.routes {
		if strings.HasPrefix(path, prefix) {
			return to
		}
	}
	return p.target
}

// SetHeader adds a header to every answer, forwarded or faulted, as a
// registry's rate-limit headers; an empty value removes it again.
func (p *Proxy) SetHeader(name, value string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.headers == nil {
		p.headers = http.Header{}
	}
	if value == "" {
		p.headers.Del(name)
		return
	}
	p.headers.Set(name, value)
}

// Close stops the proxy, ends stalled requests and closes every connection.
func (p *Proxy) Close() {
	p.once.Do(func() {
		// Connections first: a stalled handler that returned on an open
		// connection would answer 200.
		p.srv.Close()
		close(p.closing)
		p.upstream.CloseIdleConnections()
		if p.dir != "" {
			os.RemoveAll(p.dir)
		}
	})
}

// SetLatency delays every request by d before it is answered or forwarded.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// Fail answers the next n requests with status and, unless retryAfter is
// "", that Retry-After header, without reaching the registry. The body is a
// registry-style JSON error.
func (p *Proxy) Fail(n int, status int, retryAfter string) {
	p.add(fault{kind: failStatus, n: n, status: status, retryAfter: retryAfter})
}

// Reset resets the TCP connection of the next n requests (RST, not FIN),
// as a crashing registry or a middlebox would.
func (p *Proxy) Reset(n int) { p.add(fault{kind: resetConn, n: n}) }

// Stall leaves the next n requests unanswered until the client gives up or
// the proxy is closed.
func (p *Proxy) Stall(n int) { p.add(fault{kind: stall, n: n}) }

// ClearFaults drops the faults not yet applied.
func (p *Proxy) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

// FaultAllRequests makes faults apply to every request (pings, tokens,
// blobs), not only manifest HEAD and GET.
func (p *Proxy) FaultAllRequests(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.all = on
}

// StripDigest removes Docker-Content-Digest from every response.
func (p *Proxy) StripDigest(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.strip = on
}

// Answer has head answer manifest HEAD requests and get manifest GET
// requests in place of the registry, once latency and faults are applied;
// a nil handler forwards them again.
func (p *Proxy) Answer(head, get http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answers = map[string]http.HandlerFunc{"head": head, "get": get}
}

// Substitute serves, for manifest requests of digest, the manifest other
// from the registry, still labelled digest, as a compromised registry or
// mirror would.
func (p *Proxy) Substitute(digest, other string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.substitutes == nil {
		p.substitutes = map[string]string{}
	}
	p.substitutes[digest] = other
}

func (p *Proxy) add(f fault) {
	if f.n <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f)
}

// take counts r and returns the fault it gets, if any, the latency, and
// the handler that answers it in place of the registry, if any.
func (p *Proxy) take(r *http.Request) (f fault, ok bool, latency time.Duration, answer http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Count(r)
	kind := registry.Kind(r)
	answer = p.answers[kind]
	if len(p.faults) == 0 || !(p.all || kind == "head" || kind == "get") {
		return fault{}, false, p.latency, answer
	}
	f = p.faults[0]
	if p.faults[0].n--; p.faults[0].n == 0 {
		p.faults = p.faults[1:]
	}
	return f, true, p.latency, answer
}

// inboundHostKey carries, on an upstream request, the Host the client
// sent the proxy.
type inboundHostKey struct{}

// relabelKey marks an upstream request for a substitute manifest with the
// digest its answer is to claim.
type relabelKey struct{}

// substitute points a manifest request for a substituted digest at the
// manifest served in its place.
func (p *Proxy) substitute(r *httputil.ProxyRequest) {
	dir, digest := path.Split(r.Out.URL.Path)
	p.mu.Lock()
	other, ok := p.substitutes[digest]
	p.mu.Unlock()
	if !ok || !strings.HasSuffix(dir, "/manifests/") {
		return
	}
	r.Out.URL.Path, r.Out.URL.RawPath = dir+other, ""
	r.Out = r.Out.WithContext(context.WithValue(r.Out.Context(), relabelKey{}, digest))
}

func (p *Proxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, faulted, latency, answer := p.take(r)
		if latency > 0 {
			t := time.NewTimer(latency)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			case <-p.closing:
				return
			}
		}
		if !faulted {
			if answer == nil {
				answer = next.ServeHTTP
			}
			answer(w, r)
			return
		}
		switch f.kind {
		case failStatus:
			p.mu.Lock()
			for k, vs := range p.headers {
				w.Header()[k] = vs
			}
			p.mu.Unlock()
			writeError(w, r, f.status, f.retryAfter)
		case resetConn:
			resetConnection(w)
		case stall:
			select {
			case <-r.Context().Done():
			case <-p.closing:
			}
		}
	})
}

// writeError answers as a registry does: JSON error body, API version header.
func writeError(w http.ResponseWriter, r *http.Request, status int, retryAfter string) {
	code := "UNKNOWN"
	switch status {
	case http.StatusTooManyRequests:
		code = "TOOMANYREQUESTS"
	case http.StatusServiceUnavailable:
		code = "UNAVAILABLE"
	}
	body := fmt.Sprintf(`{"errors":[{"code":%q,"message":"faultproxy: injected %d"}]}`+"\n", code, status)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	h.Set("Docker-Distribution-API-Version", "registry/2.0")
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		io.WriteString(w, body)
	}
}

// resetConnection closes the client's connection with linger 0, which sends
// a TCP RST: the client reads "connection reset by peer".
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: connection cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// modifyResponse makes upstream URLs in headers (Location, the realm of
// a WWW-Authenticate challenge) name the proxy as the client named it, so
// clients keep talking to it, labels a substitute manifest with the digest
// asked for, strips the digest header when asked, and adds the headers set.
func (p *Proxy) modifyResponse(resp *http.Response) error {
	ctx := resp.Request.Context()
	if d, ok := ctx.Value(relabelKey{}).(string); ok {
		resp.Header.Set("Docker-Content-Digest", d)
	}
	self, _ := ctx.Value(inboundHostKey{}).(string)
	if self == "" {
		self = p.Addr
	}
	for _, k := range []string{"Location", "Content-Location"} {
		if v := resp.Header.Get(k); v != "" {
			resp.Header.Set(k, p.rewriteURL(v, self))
		}
	}
	if vs := resp.Header.Values("Www-Authenticate"); len(vs) > 0 {
		scheme := "http" // the realm is served as the proxy serves the rest
		if p.CAFile != "" {
			scheme = "https"
		}
		resp.Header.Del("Www-Authenticate")
		for _, v := range vs {
			v = strings.ReplaceAll(v, "http://"+p.target, scheme+"://"+self)
			resp.Header.Add("Www-Authenticate", strings.ReplaceAll(v, "://"+p.target, "://"+self))
		}
	}
	p.mu.Lock()
	strip := p.strip
	for k, vs := range p.headers {
		resp.Header[k] = vs
	}
	p.mu.Unlock()
	if strip {
		resp.Header.Del("Docker-Content-Digest")
	}
	return nil
}

func (p *Proxy) rewriteURL(v, self string) string {
	u, err := url.Parse(v)
	if err != nil || u.Host != p.target {
		return v // relative, or elsewhere (a CDN): leave it
	}
	u.Host = self
	return u.String()
}
