package resolve_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/testing/tokenserver"
)

// These tests run the CNCF Distribution registry with token auth behind a
// front that serves the token server at its own address, as Harbor does
// (tokenserver.StartRegistry), and count what reaches the registry and
// the token server there.

func tokenRegistry(t testing.TB, opts tokenserver.Options, repos, tags int) (*tokenserver.Registry, []resolve.Request, map[string]string) {
	t.Helper()
	reg := tokenserver.StartRegistry(t, tokenserver.RegistryOptions{Tokens: opts})
	var reqs []resolve.Request
	want := map[string]string{}
	for i := range repos {
		for j := range tags {
			ref := fmt.Sprintf("acme/r%02d:%d", i, j)
			d, err := reg.Push(ref, ref)
			if err != nil {
				t.Fatal(err)
			}
			r, err := imageref.Parse(reg.Addr + "/" + ref)
			if err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, resolve.Request{Ref: r})
			want[r.String()] = d
		}
	}
	reg.ResetCounts()
	return reg, reqs, want
}

func resolveAll(t testing.TB, reqs []resolve.Request, want map[string]string, opts ...resolve.Option) {
	t.Helper()
	r, err := resolve.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Resolve(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	for _, res := range got {
		if want[res.Ref.String()] != res.Digest {
			t.Errorf("%s: %s, want %s", res.Ref, res.Digest, want[res.Ref.String()])
		}
	}
}

// TestDistributionAnonymousTokens: anonymous pull tokens from the realm,
// one token request for 50 repositories, which Distribution takes.
func TestDistributionAnonymousTokens(t *testing.T) {
	reg, reqs, want := tokenRegistry(t, tokenserver.Options{Anonymous: true}, 60, 1)
	resolveAll(t, reqs, want)
	if c := reg.Front.Counts(); c["ping"] != 1 || c["token"] != 2 || c["head"] != 60 || c["total"] != 63 {
		t.Errorf("requests %v, want 1 ping, 2 token requests, 60 HEADs", c)
	}
	for _, tr := range reg.Tokens.Requests() {
		if tr.Auth != "" || tr.User != "" || len(tr.Granted) != len(tr.Scopes) {
			t.Errorf("token request %+v, want anonymous, granted all it asked", tr)
		}
	}
}

// TestDistributionFirstScopeOnly: a token server that grants only the
// first repository asked still gives a complete lock; what its tokens
// grant is read from them, so no HEAD goes out with a token that does not
// cover it.
func TestDistributionFirstScopeOnly(t *testing.T) {
	reg, reqs, want := tokenRegistry(t, tokenserver.Options{Anonymous: true, FirstScopeOnly: true}, 60, 1)
	for range 3 {
		reg.ResetCounts()
		resolveAll(t, reqs, want)
		if c := reg.Front.Counts(); c["token"] != 60 || c["head"] != 60 {
			t.Errorf("requests %v, want 60 token requests and 60 HEADs", c)
		}
	}
}

// TestDistributionTokenExpiresMidRun: Distribution stops taking the token
// halfway through a run; it is renewed, and the run completes.
func TestDistributionTokenExpiresMidRun(t *testing.T) {
	reg, reqs, want := tokenRegistry(t, tokenserver.Options{Anonymous: true, Lifetime: 2 * time.Second}, 2, 6)
	reg.Front.SetLatency(300 * time.Millisecond)
	resolveAll(t, reqs, want, resolve.WithConcurrency(1))
	c := reg.Front.Counts()
	t.Logf("requests %v", c)
	if c["token"] < 2 || c["head"] != 12+c["token"]-1 {
		t.Errorf("requests %v, want renewals, each after one refused HEAD", c)
	}
}

// TestDistributionCredentialsOnlyToTheRealm: the credentials the Docker
// config holds for the registry go to its realm alone.
func TestDistributionCredentialsOnlyToTheRealm(t *testing.T) {
	reg, reqs, want := tokenRegistry(t, tokenserver.Options{Users: map[string]string{"alice": "s3cret"}}, 3, 1)
	dir := t.TempDir()
	config := fmt.Sprintf(`{"auths": {%q: {"auth": "YWxpY2U6czNjcmV0"}}}`, reg.Addr) // alice:s3cret
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	resolveAll(t, reqs, want)
	for _, r := range reg.Front.Requests() {
		want := map[string]string{"ping": "", "token": "Basic", "head": "Bearer"}[r.Kind]
		if r.Auth != want {
			t.Errorf("%s %s: Authorization %q, want %q", r.Method, r.Path, r.Auth, want)
		}
	}
	if trs := reg.Tokens.Requests(); len(trs) != 1 || trs[0].User != "alice" {
		t.Errorf("token requests %+v, want one, as alice", trs)
	}
}

// BenchmarkTokenAuth is a cold resolve of 60 repositories (a tag each) on
// Distribution with token auth, 20 ms from the client: the default (a
// token request for 50 repositories), one token per repository, and a
// token server that grants only the first repository of a request.
// Requests are counted at the registry's address.
func BenchmarkTokenAuth(b *testing.B) {
	for _, tc := range []struct {
		name     string
		server   tokenserver.Options
		perToken int
	}{
		{"scopes=50", tokenserver.Options{Anonymous: true}, 50},
		{"scopes=1", tokenserver.Options{Anonymous: true}, 1},
		{"first-scope-only-server", tokenserver.Options{Anonymous: true, FirstScopeOnly: true}, 50},
	} {
		b.Run(tc.name+"/repos=60", func(b *testing.B) {
			reg, reqs, _ := tokenRegistry(b, tc.server, 60, 1)
			reg.Front.SetLatency(20 * time.Millisecond)
			reg.ResetCounts()
			runs := 0
			for b.Loop() {
				r, err := resolve.New(resolve.WithScopesPerToken(tc.perToken))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.Resolve(context.Background(), reqs); err != nil {
					b.Fatal(err)
				}
				runs++
			}
			c := reg.Front.Counts()
			for _, kind := range []string{"ping", "token", "head"} {
				b.ReportMetric(float64(c[kind])/float64(runs), kind+"-reqs/op")
			}
		})
	}
}
