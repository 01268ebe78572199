package tokenserver_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/testing/tokenserver"
)

// token asks the registry's realm for a token for repos, as user (""
// for anonymous), and returns it and the status.
func token(t *testing.T, r *tokenserver.Registry, user, pass string, repos ...string) (string, int) {
	t.Helper()
	q := url.Values{"service": {r.Tokens.Service}}
	for _, repo := range repos {
		q.Add("scope", "repository:"+repo+":pull")
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+r.Addr+tokenserver.RealmPath+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&body)
	return body.Token, resp.StatusCode
}

// head asks the registry, through the front, for a manifest with tok and
// returns the status and the challenge.
func head(t *testing.T, r *tokenserver.Registry, tok, repo, tag string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodHead, "http://"+r.Addr+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate")
}

// TestDistributionVerifiesTokens: Distribution takes the server's tokens
// for the repositories they grant, and its challenge names the realm
// behind the front's own address.
func TestDistributionVerifiesTokens(t *testing.T) {
	r := tokenserver.StartRegistry(t, tokenserver.RegistryOptions{Tokens: tokenserver.Options{
		Anonymous: true, Users: map[string]string{"alice": "s3cret"},
	}})
	for _, ref := range []string{"acme/a:1", "acme/b:1"} {
		if _, err := r.Push(ref, ref); err != nil {
			t.Fatal(err)
		}
	}
	code, challenge := head(t, r, "", "acme/a", "1")
	if code != http.StatusUnauthorized || !strings.Contains(challenge, `realm="http://`+r.Addr+tokenserver.RealmPath+`"`) {
		t.Fatalf("without a token: %d %q, want 401 with the realm at %s", code, challenge, r.Addr)
	}
	anon, code := token(t, r, "", "", "acme/a", "acme/b")
	if code != http.StatusOK {
		t.Fatalf("anonymous token: status %d", code)
	}
	for _, repo := range []string{"acme/a", "acme/b"} {
		if code, ch := head(t, r, anon, repo, "1"); code != http.StatusOK {
			t.Errorf("HEAD %s with the two-repository token: %d %s", repo, code, ch)
		}
	}
	if code, ch := head(t, r, anon, "acme/c", "1"); code != http.StatusUnauthorized || !strings.Contains(ch, `error="insufficient_scope"`) {
		t.Errorf("HEAD of a repository the token does not grant: %d %q, want 401 insufficient_scope", code, ch)
	}
	if _, code := token(t, r, "alice", "wrong", "acme/a"); code != http.StatusUnauthorized {
		t.Errorf("a wrong password: status %d, want 401", code)
	}
	reqs := r.Tokens.Requests()
	if len(reqs) != 2 || !slices.Equal(reqs[0].Granted, []string{"acme/a", "acme/b"}) || reqs[1].User != "" || reqs[1].Status != 401 {
		t.Errorf("token requests %+v", reqs)
	}
	if c := r.Front.Counts(); c["token"] != 2 || c["head"] != 4 {
		t.Errorf("the front counted %v, want 2 token requests and 4 HEADs", c)
	}
}

func TestFirstScopeOnly(t *testing.T) {
	r := tokenserver.StartRegistry(t, tokenserver.RegistryOptions{Tokens: tokenserver.Options{Anonymous: true, FirstScopeOnly: true}})
	for _, ref := range []string{"acme/a:1", "acme/b:1"} {
		if _, err := r.Push(ref, ref); err != nil {
			t.Fatal(err)
		}
	}
	tok, _ := token(t, r, "", "", "acme/a", "acme/b")
	if code, _ := head(t, r, tok, "acme/a", "1"); code != http.StatusOK {
		t.Errorf("first scope: %d, want 200", code)
	}
	if code, _ := head(t, r, tok, "acme/b", "1"); code != http.StatusUnauthorized {
		t.Errorf("second scope: %d, want 401", code)
	}
}

// TestLifetime: Distribution refuses a token once its lifetime is over,
// saying it is invalid.
func TestLifetime(t *testing.T) {
	r := tokenserver.StartRegistry(t, tokenserver.RegistryOptions{Tokens: tokenserver.Options{Anonymous: true, Lifetime: time.Second}})
	if _, err := r.Push("acme/a:1", "a"); err != nil {
		t.Fatal(err)
	}
	tok, _ := token(t, r, "", "", "acme/a")
	if code, _ := head(t, r, tok, "acme/a", "1"); code != http.StatusOK {
		t.Fatalf("fresh token: %d", code)
	}
	time.Sleep(2100 * time.Millisecond)
	if code, ch := head(t, r, tok, "acme/a", "1"); code != http.StatusUnauthorized || !strings.Contains(ch, `error="invalid_token"`) {
		t.Errorf("expired token: %d %q, want 401 invalid_token", code, ch)
	}
}
