package tokenserver

import (
	"errors"
	"net"
	"testing"

	"github.com/imglock/imglock/internal/testing/distribution"
	"github.com/imglock/imglock/internal/testing/faultproxy"
	"github.com/imglock/imglock/internal/testing/testenv"
)

// RealmPath is where StartRegistry serves the token server behind the
// registry's address, as Harbor does.
const RealmPath = "/service/token"

// RegistryOptions configure StartRegistry.
type RegistryOptions struct {
	Tokens Options
	// Host is the name clients reach the registry by, in place of
	// 127.0.0.1: one that resolves to loopback (testenv.LoopbackName).
	Host string
}

// Registry is a Harbor in miniature: a CNCF Distribution process with
// token auth, and in front of it, on the address clients use, a proxy
// that sends RealmPath to the token server and the rest to Distribution.
// The front is a fault proxy: it counts what reaches the registry and the
// realm (manifest requests, token requests) and can add latency.
type Registry struct {
	Addr   string // host:port clients use: the front's
	Tokens *Server
	Dist   *distribution.Registry
	Front  *faultproxy.Proxy
}

// StartRegistry starts a token server, a Distribution process trusting it
// and the front, all on loopback, for the test; it skips the test when
// there is no Distribution binary, or fails it under CI=true.
func StartRegistry(tb testing.TB, o RegistryOptions) *Registry {
	tb.Helper()
	r, err := StartRegistryProcess(o)
	if errors.Is(err, distribution.ErrNoBinary) {
		testenv.Missing(tb, err.Error())
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			if out := r.Dist.Problems(); out != "" {
				tb.Logf("Distribution registry output:\n%s", out)
			}
		}
		r.Close()
	})
	return r
}

// StartRegistryProcess is StartRegistry for callers that are no test (a
// script command): the caller must Close the registry. The error wraps
// distribution.ErrNoBinary when there is no Distribution binary.
func StartRegistryProcess(o RegistryOptions) (*Registry, error) {
	tokens, err := Start(o.Tokens)
	if err != nil {
		return nil, err
	}
	dist, err := distribution.StartProcess(distribution.Options{
		Host: o.Host,
		Token: &distribution.TokenAuth{
			RealmPath: RealmPath, Service: tokens.Service, Issuer: tokens.Issuer, CertFile: tokens.CertFile,
			Mint: func(repo string) (string, error) {
				return tokens.Mint("harness", Access{Type: "repository", Name: repo, Actions: []string{"pull", "push"}})
			},
		},
	})
	if err != nil {
		tokens.Close()
		return nil, err
	}
	front := faultproxy.Start(dist.Addr)
	front.Route(RealmPath, tokens.Addr)
	addr := front.Addr
	if o.Host != "" {
		_, port, _ := net.SplitHostPort(front.Addr)
		addr = net.JoinHostPort(o.Host, port)
	}
	return &Registry{Addr: addr, Tokens: tokens, Dist: dist, Front: front}, nil
}

// Close stops the front, the registry and the token server.
func (r *Registry) Close() {
	r.Front.Close()
	r.Dist.Close()
	r.Tokens.Close()
}

// Push pushes an image holding /base.txt with content to repoTag (REPO:TAG,
// without the host) and returns its digest. It goes to Distribution
// directly with a token of its own: neither the front nor the token
// server counts it.
func (r *Registry) Push(repoTag, content string) (string, error) {
	return r.Dist.Push(repoTag, content)
}

// ResetCounts forgets the requests the front and the token server saw.
func (r *Registry) ResetCounts() {
	r.Front.ResetCounts()
	r.Tokens.ResetCounts()
}
