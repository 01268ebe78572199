// Package fwdproxy is test support: an HTTP forward proxy on loopback, the
// kind HTTP_PROXY and HTTPS_PROXY name (a company's squid): it forwards
// requests written with an absolute URL (plain HTTP) and tunnels CONNECT
// requests (HTTPS), and counts both by the host they go to. It refuses
// to reach anything but loopback addresses, so that no test sends traffic
// elsewhere through it.
package fwdproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"sync"
	"time"
)

// Proxy is a running forward proxy.
type Proxy struct {
	Addr string // host:port on 127.0.0.1

	srv *http.Server

	mu       sync.Mutex
	requests []Request
	tunnels  map[net.Conn]bool // both ends of each open tunnel, for Close
}

// Request is one request the proxy was asked to forward.
type Request struct {
	Method string // CONNECT for a tunnel
	Host   string // host:port it was for
	Path   string // "" for a tunnel: what goes through it is encrypted
	Auth   string // the scheme of its Authorization header, "" without; never the credential
}

// Start starts a proxy on a free loopback port. It panics if it cannot
// listen, as httptest does.
func Start() *Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("fwdproxy: listening: %v", err))
	}
	p := &Proxy{Addr: ln.Addr().String()}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		if err := loopbackOnly(ctx, addr); err != nil {
			return nil, err
		}
		return dialer.DialContext(ctx, network, addr)
	}
	forward := &httputil.ReverseProxy{
		// The request names its destination in full; forward it as it is.
		Rewrite:   func(r *httputil.ProxyRequest) { r.Out.Host = r.In.Host },
		Transport: &http.Transport{Proxy: nil, DialContext: dial},
		ErrorLog:  log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			http.Error(w, "fwdproxy: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{
		ErrorLog:          log.New(io.Discard, "", 0),
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.record(r)
			switch {
			case r.Method == http.MethodConnect:
				p.tunnel(w, r, dial)
			case r.URL.IsAbs():
				forward.ServeHTTP(w, r)
			default:
				http.Error(w, "fwdproxy: a forward proxy: ask for an absolute URL, or CONNECT", http.StatusBadRequest)
			}
		}),
	}
	go p.srv.Serve(ln)
	return p
}

// URL is the proxy as HTTP_PROXY and HTTPS_PROXY name it.
func (p *Proxy) URL() string { return "http://" + p.Addr }

// Close stops the proxy and closes its connections, tunnels included.
func (p *Proxy) Close() {
	p.srv.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.tunnels {
		c.Close()
	}
}

// track keeps c to be closed by Close, until it is done with.
func (p *Proxy) track(c net.Conn, open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tunnels == nil {
		p.tunnels = map[net.Conn]bool{}
	}
	if open {
		p.tunnels[c] = true
	} else {
		delete(p.tunnels, c)
	}
}

// Requests returns the requests the proxy was asked to forward since the
// last ResetCounts, in order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.requests)
}

// Counts returns how many requests went to each host, tunnels counting
// once each.
func (p *Proxy) Counts() map[string]int {
	out := map[string]int{}
	for _, r := range p.Requests() {
		out[r.Host]++
		out["total"]++
	}
	return out
}

// ResetCounts forgets the requests so far.
func (p *Proxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = nil
}

func (p *Proxy) record(r *http.Request) {
	rec := Request{Method: r.Method, Host: r.Host}
	if r.Method != http.MethodConnect {
		rec.Host, rec.Path = r.URL.Host, r.URL.Path
	}
	if scheme, _, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok {
		rec.Auth = scheme
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = append(p.requests, rec)
}

// tunnel answers CONNECT: 200, then bytes both ways until either side
// closes.
func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request, dial func(context.Context, string, string) (net.Conn, error)) {
	up, err := dial(r.Context(), "tcp", r.Host)
	if err != nil {
		http.Error(w, "fwdproxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "fwdproxy: cannot tunnel", http.StatusInternalServerError)
		return
	}
	down, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	if _, err := io.WriteString(down, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		up.Close()
		down.Close()
		return
	}
	p.track(up, true)
	p.track(down, true)
	go func() {
		defer func() {
			up.Close()
			down.Close()
			p.track(up, false)
			p.track(down, false)
		}()
		done := make(chan struct{}, 2)
		go func() { io.Copy(up, buf.Reader); done <- struct{}{} }() // what the client sent past the request, then the rest
		go func() { io.Copy(down, up); done <- struct{}{} }()
		<-done
	}()
}

// loopbackOnly refuses an address that is not, or does not resolve only
// to, loopback addresses.
func loopbackOnly(ctx context.Context, addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return errors.New("refusing " + addr + ": not a loopback address")
		}
	}
	return nil
}
