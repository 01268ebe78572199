package distribution_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imglock/imglock/internal/testing/distribution"
)

// head asks for a manifest and returns the status and digest header.
func head(t *testing.T, r *distribution.Registry, repoRef, user, pass string) (int, string) {
	t.Helper()
	parts := strings.SplitN(repoRef, ":", 2)
	req, err := http.NewRequest(http.MethodHead, r.URL()+"/v2/"+parts[0]+"/manifests/"+parts[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := r.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Docker-Content-Digest")
}

func push(t *testing.T, r *distribution.Registry, repoTag, content string) string {
	t.Helper()
	d, err := r.Push(repoTag, content)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPlain(t *testing.T) {
	t.Parallel()
	r := distribution.Start(t, distribution.Options{})
	if !strings.HasPrefix(r.Addr, "127.0.0.1:") || r.CAFile != "" {
		t.Fatalf("Addr %q, CAFile %q; want 127.0.0.1:PORT and no CA", r.Addr, r.CAFile)
	}
	d := push(t, r, "acme/base:1", "one")
	if code, got := head(t, r, "acme/base:1", "", ""); code != http.StatusOK || got != d {
		t.Errorf("HEAD acme/base:1 = %d %s, want 200 %s", code, got, d)
	}
	// Pushing again re-points the tag.
	d2 := push(t, r, "acme/base:1", "two")
	if _, got := head(t, r, "acme/base:1", "", ""); got != d2 || d2 == d {
		t.Errorf("after re-push: digest %s, want %s (was %s)", got, d2, d)
	}
	if code, _ := head(t, r, "acme/base:nothere", "", ""); code != http.StatusNotFound {
		t.Errorf("HEAD of a missing tag = %d, want 404", code)
	}
	// The 404s that pushes and the HEAD above provoke are no problem.
	if !strings.Contains(r.Output(), "http.response.status=404") || r.Problems() != "" {
		t.Errorf("Output:\n%s\nProblems:\n%s\nwant 404 lines in Output only", r.Output(), r.Problems())
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	r := distribution.Start(t, distribution.Options{Htpasswd: map[string]string{"bob": "b0b-pw", "alice": "s3cr3t"}})
	if u, p := r.Credentials(); u != "alice" || p != "s3cr3t" {
		t.Errorf("Credentials() = %q, %q; want the first user in order", u, p)
	}
	d := push(t, r, "acme/base:1", "one")

	resp, err := r.Client().Get(r.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Errorf("anonymous /v2/: %d %q, want 401 with a Basic challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	for _, c := range []struct {
		user, pass string
		want       int
	}{
		{"", "", http.StatusUnauthorized},
		{"alice", "wrong", http.StatusUnauthorized},
		{"alice", "s3cr3t", http.StatusOK},
		{"bob", "b0b-pw", http.StatusOK},
	} {
		if code, got := head(t, r, "acme/base:1", c.user, c.pass); code != c.want || (code == http.StatusOK && got != d) {
			t.Errorf("HEAD as %q/%q = %d %s, want %d", c.user, c.pass, code, got, c.want)
		}
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	r := distribution.Start(t, distribution.Options{TLS: true})
	if !strings.HasPrefix(r.URL(), "https://") {
		t.Fatalf("URL() = %s, want https", r.URL())
	}
	pem, err := os.ReadFile(r.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", r.CAFile)
	}
	d := push(t, r, "acme/base:1", "one")
	if code, got := head(t, r, "acme/base:1", "", ""); code != http.StatusOK || got != d {
		t.Errorf("HEAD = %d %s, want 200 %s", code, got, d)
	}

	// Without the CA the certificate is refused.
	_, err = http.Get(r.URL() + "/v2/")
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("GET with the system roots: %v, want x509.UnknownAuthorityError", err)
	}
	// Plain HTTP gets Go's answer for HTTP spoken to an HTTPS server.
	resp, err := http.Get("http://" + r.Addr + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP: %d, want 400", resp.StatusCode)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	for _, enabled := range []bool{false, true} {
		r := distribution.Start(t, distribution.Options{Delete: enabled, Htpasswd: map[string]string{"u": "p"}})
		d := push(t, r, "acme/base:1", "one")
		ref, err := name.NewDigest(r.Addr + "/acme/base@" + d)
		if err != nil {
			t.Fatal(err)
		}
		err = remote.Delete(ref, remote.WithAuth(&authn.Basic{Username: "u", Password: "p"}))
		code, _ := head(t, r, "acme/base:1", "u", "p")
		if enabled && (err != nil || code != http.StatusNotFound) {
			t.Errorf("delete enabled: Delete: %v, then HEAD %d; want success then 404", err, code)
		}
		if !enabled && (err == nil || code != http.StatusOK) {
			t.Errorf("delete disabled: Delete: %v, then HEAD %d; want an error and 200", err, code)
		}
	}
}

func TestClose(t *testing.T) {
	t.Parallel()
	r := distribution.Start(t, distribution.Options{})
	r.Close()
	if _, err := http.Get(r.URL() + "/v2/"); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("GET after Close: %v, want connection refused", err)
	}
	if _, err := os.Stat(r.Dir); !os.IsNotExist(err) {
		t.Errorf("%s still there after Close: %v", r.Dir, err)
	}
	r.Close() // twice is fine
}

// fakeTB records how Start ends a test.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()             {}
func (f *fakeTB) Skip(args ...any)    { f.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Fatal(args ...any)   { f.failed = fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Cleanup(fn func())   { fn() }
func (f *fakeTB) Logf(string, ...any) {}

// Without a binary Start skips, except under CI=true, where it fails.
func TestStartWithoutBinary(t *testing.T) {
	t.Setenv(distribution.EnvBinary, "")
	t.Setenv("PATH", t.TempDir())
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		f := &fakeTB{TB: t}
		done := make(chan struct{})
		go func() {
			defer close(done)
			distribution.Start(f, distribution.Options{})
		}()
		<-done
		msg, other := f.skipped, f.failed
		if ci == "true" {
			msg, other = f.failed, f.skipped
		}
		if !strings.Contains(msg, distribution.EnvBinary) || other != "" {
			t.Errorf("CI=%q: skipped %q, failed %q; want only a %s naming %s", ci, f.skipped, f.failed,
				map[string]string{"": "skip", "true": "failure"}[ci], distribution.EnvBinary)
		}
	}
}

func TestBinary(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "registry")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	t.Setenv(distribution.EnvBinary, notExec)
	if _, err := distribution.Binary(); err == nil || errors.Is(err, distribution.ErrNoBinary) {
		t.Errorf("Binary() with %s naming a non-executable: %v; want an error other than ErrNoBinary", distribution.EnvBinary, err)
	}

	t.Setenv(distribution.EnvBinary, "")
	t.Setenv("PATH", dir)
	if _, err := distribution.Binary(); !errors.Is(err, distribution.ErrNoBinary) {
		t.Errorf("Binary() with nothing configured: %v, want ErrNoBinary", err)
	}

	if err := os.Chmod(notExec, 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := distribution.Binary(); err != nil || got != notExec {
		t.Errorf("Binary() with registry on PATH = %q, %v; want %s", got, err, notExec)
	}
}
