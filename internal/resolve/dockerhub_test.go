package resolve_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/testing/distribution"
	"github.com/imglock/imglock/internal/testing/testcert"
	"github.com/imglock/imglock/internal/testing/tokenserver"
)

// TestDockerHubLookAlike resolves alpine:3.20 as it would on Docker Hub,
// with nothing leaving this machine: CNCF Distribution answers as
// index.docker.io (token auth, Docker Hub's realm and service, its
// rate-limit headers) and a token server as auth.docker.io, both over
// TLS with certificates for those names from a test CA, reached through
// a dialer that sends those two names to loopback and refuses the rest.
func TestDockerHubLookAlike(t *testing.T) {
	tokens, err := tokenserver.New(tokenserver.Options{Service: "registry.docker.io", Issuer: "auth.docker.io", Anonymous: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tokens.Close()
	auth := httptest.NewUnstartedServer(tokens)
	certs := t.TempDir()
	authPool, err := testcert.Write(certs, "auth.docker.io")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(certs, "cert.pem"), filepath.Join(certs, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	auth.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	auth.StartTLS()
	defer auth.Close()

	hub := distribution.Start(t, distribution.Options{
		TLS: true, Host: "index.docker.io",
		Headers: map[string]string{"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "99;w=21600", "Docker-RateLimit-Source": "127.0.0.1"},
		Token: &distribution.TokenAuth{Realm: "https://auth.docker.io/token", Service: tokens.Service, Issuer: tokens.Issuer, CertFile: tokens.CertFile,
			Mint: func(repo string) (string, error) {
				return tokens.Mint("harness", tokenserver.Access{Type: "repository", Name: repo, Actions: []string{"pull", "push"}})
			}},
	})
	want, err := hub.Push("library/alpine:3.20", "alpine")
	if err != nil {
		t.Fatal(err)
	}

	roots := authPool.Clone()
	pem, err := os.ReadFile(hub.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(pem)
	_, hubPort, _ := net.SplitHostPort(hub.Addr)
	to := map[string]string{"index.docker.io:443": "127.0.0.1:" + hubPort, "auth.docker.io:443": auth.Listener.Addr().String()}
	var dialed []string
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: roots},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed = append(dialed, addr)
			lo, ok := to[addr]
			if !ok {
				return nil, fmt.Errorf("test: refusing to dial %s", addr)
			}
			return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, lo)
		},
	}
	var log bytes.Buffer
	r, err := resolve.New(resolve.WithTransport(tr), resolve.WithLog(&log), resolve.WithConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := imageref.Parse("alpine:3.20")
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Resolve(context.Background(), []resolve.Request{{Ref: ref}})
	if err != nil {
		t.Fatalf("%v\nlog:\n%s", err, log.String())
	}
	if got[0].Ref.String() != "docker.io/library/alpine:3.20" || got[0].Digest != want {
		t.Errorf("got %+v, want docker.io/library/alpine:3.20 at %s", got[0], want)
	}
	t.Logf("requests:\n%s", log.String())
	// The flow: the ping's 401 names the realm; an anonymous GET of the
	// realm for the repository's pull scope; a HEAD with the token.
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	wantLines := []string{
		"GET https://index.docker.io/v2/ -> 401 Unauthorized",
		"GET https://auth.docker.io/token?scope=repository%3Alibrary%2Falpine%3Apull&service=registry.docker.io -> 200 OK",
		"HEAD https://index.docker.io/v2/library/alpine/manifests/3.20 -> 200 OK",
	}
	if len(lines) != len(wantLines) {
		t.Fatalf("log:\n%s\nwant %d lines", log.String(), len(wantLines))
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, wantLines[i]) {
			t.Errorf("request %d: %s\nwant %s ...", i+1, l, wantLines[i])
		}
	}
	if !strings.HasSuffix(lines[2], ", ratelimit-remaining 99;w=21600 of 100;w=21600 for 127.0.0.1)") {
		t.Errorf("the HEAD's log line does not show the rate limit: %s", lines[2])
	}
	reqs := tokens.Requests()
	if len(reqs) != 1 || reqs[0].Auth != "" || !slices.Equal(reqs[0].Scopes, []string{"repository:library/alpine:pull"}) {
		t.Errorf("token requests %+v, want one, anonymous, for library/alpine", reqs)
	}
	for _, a := range dialed {
		if a != "index.docker.io:443" && a != "auth.docker.io:443" {
			t.Errorf("dialed %s", a)
		}
	}
}
