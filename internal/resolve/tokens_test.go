package resolve

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/testing/faultproxy"
	"github.com/imglock/imglock/internal/testing/registry"
)

// pushRepos pushes one tag to each of n repositories of reg and returns
// the requests for them and the digest each should resolve to.
func pushRepos(t *testing.T, reg *registry.Registry, host string, repos, tagsPerRepo int) ([]Request, map[string]string) {
	t.Helper()
	var reqs []Request
	want := map[string]string{}
	for i := range repos {
		for j := range tagsPerRepo {
			ref := fmt.Sprintf("acme/r%02d:%d", i, j)
			d, err := reg.Push(ref, ref)
			if err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, mustRef(t, host+"/"+ref))
			want[host+"/"+ref] = d
		}
	}
	reg.ResetCounts()
	return reqs, want
}

func checkResults(t *testing.T, got []Result, err error, want map[string]string) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d results, want %d", len(got), len(want))
	}
	for _, r := range got {
		if want[r.Ref.String()] != r.Digest {
			t.Errorf("%s: %s, want %s", r.Ref, r.Digest, want[r.Ref.String()])
		}
	}
}

// TestOneTokenRequestForManyRepositories: a token server that grants every
// scope asked gets one request per 50 repositories, all at once.
func TestOneTokenRequestForManyRepositories(t *testing.T) {
	reg := registry.Start(registry.WithTokenAuth())
	defer reg.Close()
	reqs, want := pushRepos(t, reg, reg.Addr, 60, 1)
	got, err := newTestResolver(t).Resolve(context.Background(), reqs)
	checkResults(t, got, err, want)
	if c := reg.Counts(); c["ping"] != 1 || c["token"] != 2 || c["head"] != 60 || c["total"] != 63 {
		t.Errorf("requests %v, want 1 ping, 2 token requests (50+10 repositories) and 60 HEADs", c)
	}
}

// TestTokenPerRepositoryWhereOnlyTheFirstScopeIsGranted: a token server
// that grants only the first repository of a request (its tokens opaque,
// so only the registry's 401s tell) still gives every digest, every time;
// each repository left out gets a token of its own.
func TestTokenPerRepositoryWhereOnlyTheFirstScopeIsGranted(t *testing.T) {
	reg := registry.Start(registry.WithTokens(registry.TokenPolicy{FirstScopeOnly: true}))
	defer reg.Close()
	reqs, want := pushRepos(t, reg, reg.Addr, 60, 2)
	for run := range 4 {
		reg.ResetCounts()
		got, err := newTestResolver(t).Resolve(context.Background(), reqs)
		checkResults(t, got, err, want)
		c := reg.Counts()
		t.Logf("run %d: %v", run, c)
		// 2 requests for 50+10 scopes, then one for each of the 58
		// repositories they did not cover; a HEAD per tag, and one more
		// for each tag that went out with a token that did not cover it.
		if c["token"] != 60 || c["head"] > 120+58*2 || c["ping"] != 1 {
			t.Errorf("run %d: requests %v, want 1 ping, 60 token requests and at most 236 HEADs", run, c)
		}
	}
}

// TestTokenPerRepositoryOnceLearned: once the server is seen to grant one
// repository per token, the repositories not yet asked about get their
// own token before their first request.
func TestTokenPerRepositoryOnceLearned(t *testing.T) {
	reg := registry.Start(registry.WithTokens(registry.TokenPolicy{FirstScopeOnly: true}))
	defer reg.Close()
	reqs, want := pushRepos(t, reg, reg.Addr, 20, 1)
	got, err := newTestResolver(t, WithConcurrency(1)).Resolve(context.Background(), reqs)
	checkResults(t, got, err, want)
	// One at a time: the first repository other than the first asked
	// meets a 401 and learns; the 18 others ask for their own token first.
	if c := reg.Counts(); c["token"] != 20 || c["head"] != 21 {
		t.Errorf("requests %v, want 20 token requests and 21 HEADs", c)
	}
}

// TestTokenExpiredMidRunRenewed: a token the registry stops taking halfway
// through is renewed once, for every repository it covered, and the
// request it failed is sent again.
func TestTokenExpiredMidRunRenewed(t *testing.T) {
	reg := registry.Start(registry.WithTokens(registry.TokenPolicy{Lifetime: 300 * time.Millisecond}))
	defer reg.Close()
	proxy := faultproxy.Start(reg.Addr)
	defer proxy.Close()
	reqs, want := pushRepos(t, reg, proxy.Addr, 2, 5)
	proxy.SetLatency(100 * time.Millisecond)
	got, err := newTestResolver(t, WithConcurrency(1)).Resolve(context.Background(), reqs)
	checkResults(t, got, err, want)
	c := proxy.Counts()
	t.Logf("requests %v", c)
	// Each renewal is one token request for both repositories, after
	// the one HEAD the old token failed.
	if c["token"] < 2 || c["head"] != 10+c["token"]-1 {
		t.Errorf("requests %v, want renewals, each after one refused HEAD", c)
	}
}

// TestTokenRenewedBeforeItExpires: a token whose expires_in has (almost)
// passed is renewed before it is used, so no request is refused.
func TestTokenRenewedBeforeItExpires(t *testing.T) {
	reg := registry.Start(registry.WithTokens(registry.TokenPolicy{Lifetime: time.Second, ExpiresIn: 1}))
	defer reg.Close()
	proxy := faultproxy.Start(reg.Addr)
	defer proxy.Close()
	reqs, want := pushRepos(t, reg, proxy.Addr, 1, 16)
	proxy.SetLatency(100 * time.Millisecond)
	got, err := newTestResolver(t, WithConcurrency(1)).Resolve(context.Background(), reqs)
	checkResults(t, got, err, want)
	if c := proxy.Counts(); c["token"] < 2 || c["head"] != 16 {
		t.Errorf("requests %v, want renewals and no refused HEAD", c)
	}
}

// TestCredentialsOnlyToTheRealm: the Docker config's credentials for a
// registry go to its token server, in exchange for a token; the registry
// itself sees only the token.
func TestCredentialsOnlyToTheRealm(t *testing.T) {
	reg := registry.Start(registry.WithTokenAuth())
	defer reg.Close()
	reqs, want := pushRepos(t, reg, reg.Addr, 3, 1)
	dir := t.TempDir()
	config := fmt.Sprintf(`{"auths": {%q: {"auth": "YWxpY2U6czNjcjN0"}}}`, reg.Addr)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	got, err := newTestResolver(t).Resolve(context.Background(), reqs)
	checkResults(t, got, err, want)
	for _, r := range reg.Requests() {
		want := map[string]string{"ping": "", "token": "Basic", "head": "Bearer"}[r.Kind]
		if r.Auth != want {
			t.Errorf("%s %s: Authorization %q, want %q", r.Method, r.Path, r.Auth, want)
		}
	}
}

func TestGrantedRepos(t *testing.T) {
	enc := func(s string) string { return "eyJhbGciOiJFUzI1NiJ9." + b64(s) + ".c2ln" }
	for _, tc := range []struct {
		tok  string
		want map[string]bool
	}{
		{"opaque-token", nil},
		{enc(`{"sub":"x"}`), nil},
		{enc(`{"access":[]}`), map[string]bool{}},
		{enc(`{"access":[{"type":"repository","name":"library/alpine","actions":["pull"]},{"type":"repository","name":"a/b","actions":["push"]},{"type":"registry","name":"catalog","actions":["*"]}]}`),
			map[string]bool{"library/alpine": true}},
		{"a.!!!.c", nil},
	} {
		got := grantedRepos(tc.tok)
		if (got == nil) != (tc.want == nil) || len(got) != len(tc.want) {
			t.Errorf("grantedRepos(%q) = %v, want %v", tc.tok, got, tc.want)
			continue
		}
		for k := range tc.want {
			if !got[k] {
				t.Errorf("grantedRepos(%q) = %v, want %v", tc.tok, got, tc.want)
			}
		}
	}
}

func TestChallenges(t *testing.T) {
	h := map[string][]string{"Www-Authenticate": {
		`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull",error="insufficient_scope"`,
		`Basic realm="x \"y\""`,
	}}
	cs := challenges(h)
	if len(cs) != 2 || cs[0].scheme != "bearer" || cs[0].params["realm"] != "https://auth.docker.io/token" ||
		cs[0].params["scope"] != "repository:library/alpine:pull" || cs[0].params["error"] != "insufficient_scope" ||
		cs[1].scheme != "basic" || cs[1].params["realm"] != `x "y"` {
		t.Errorf("challenges = %+v", cs)
	}
	if c, ok := pick(cs); !ok || c.scheme != "bearer" {
		t.Errorf("pick = %+v", c)
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
