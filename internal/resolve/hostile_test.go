package resolve

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/testing/faultproxy"
	"github.com/imglock/imglock/internal/testing/registry"
)

// hostileManifest is a well-formed single-platform manifest: what the
// hostile registry sends when it sends something plausible.
var hostileManifest = []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",` +
	`"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("c", 64) + `","size":2},` +
	`"layers":[]}`)

// otherDigest is a well-formed digest of other bytes than hostileManifest.
var otherDigest = faultproxy.Digest([]byte("other bytes"))

func notCalled(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, "unexpected", http.StatusBadRequest)
	}
}

// hostileResolve resolves host/acme/base:1 (with the platforms given, or
// at the digest given) and returns the results and the error.
func hostileResolve(t *testing.T, host, digest string, platforms ...string) ([]Result, error) {
	t.Helper()
	ref, err := imageref.Parse(host + "/acme/base:1")
	if err != nil {
		t.Fatal(err)
	}
	if digest != "" {
		ref = ref.WithDigest(digest)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return newTestResolver(t, WithRetry(RetryPolicy{Attempts: 1})).Resolve(ctx, []Request{{Ref: ref, Platforms: platforms}})
}

// TestHostileRegistryRefused: each way a registry can lie about or flood a
// manifest answer is refused with an error naming the reference and saying
// what was wrong; nothing resolves.
// otherSHA512 is a sha512 digest of nothing the hostile server sends.
var otherSHA512 = "sha512:" + strings.Repeat("5", 128)

func TestHostileRegistryRefused(t *testing.T) {
	real := registry.Start()
	defer real.Close()
	if _, err := real.Push("acme/base:1", "served elsewhere"); err != nil {
		t.Fatal(err)
	}
	huge := "sha256:" + strings.Repeat("a", 32<<10)
	for _, tc := range []struct {
		name      string
		head, get http.HandlerFunc
		digest    string   // resolve at this digest instead of the tag
		platforms []string // per-platform digests wanted: a GET, no HEAD
		want      string
	}{
		{name: "get-digest-mismatch-after-bare-head", head: faultproxy.Manifest(nil, ""), get: faultproxy.Manifest(hostileManifest, otherDigest),
			want: "registry's Docker-Content-Digest " + otherDigest + " does not match the manifest it sent (" + faultproxy.Digest(hostileManifest) + ")"},
		{name: "get-digest-mismatch-for-platforms", get: faultproxy.Manifest(hostileManifest, otherDigest), platforms: []string{"linux/amd64"},
			want: "registry's Docker-Content-Digest " + otherDigest + " does not match the manifest it sent"},
		{name: "get-by-digest-other-bytes", get: faultproxy.Manifest(hostileManifest, ""), digest: otherDigest, platforms: []string{"linux/amd64"},
			want: "manifest " + otherDigest + " has the digest " + faultproxy.Digest(hostileManifest)},
		// A sha512 digest, which images.lock may hold, is checked as such.
		{name: "get-by-sha512-digest-other-bytes", get: faultproxy.Manifest(hostileManifest, ""), digest: otherSHA512, platforms: []string{"linux/amd64"},
			want: "manifest " + otherSHA512 + " has the digest " + faultproxy.Digest(hostileManifest)},
		{name: "get-endless-body", head: faultproxy.Manifest(nil, ""), get: faultproxy.Endless(otherDigest),
			want: "the manifest is larger than 4194304 bytes; refusing it"},
		{name: "get-endless-body-for-platforms", get: faultproxy.Endless(otherDigest), platforms: []string{"linux/amd64"},
			want: "the manifest is larger than 4194304 bytes; refusing it"},
		{name: "get-over-4MiB", head: faultproxy.Manifest(nil, ""), get: faultproxy.Manifest(bytes.Repeat([]byte(" "), 4<<20+1), ""),
			want: "the manifest is larger than 4194304 bytes; refusing it"},
		{name: "head-1MiB-header", head: faultproxy.WithHeader(1<<20, faultproxy.Manifest(nil, faultproxy.Digest(hostileManifest))),
			want: "server response headers exceeded 65536 bytes"},
		{name: "get-1MiB-header", head: faultproxy.Manifest(nil, ""), get: faultproxy.WithHeader(1<<20, faultproxy.Manifest(hostileManifest, "")),
			want: "server response headers exceeded 65536 bytes"},
		{name: "head-redirect-other-host", head: faultproxy.RedirectTo(real.Addr),
			want: "refusing a redirect of a manifest request from "},
		{name: "get-redirect-other-host", get: faultproxy.RedirectTo(real.Addr), platforms: []string{"linux/amd64"},
			want: "refusing a redirect of a manifest request from "},
		{name: "head-digest-short", head: faultproxy.Manifest(nil, "sha256:xyz"),
			want: `registry answered an unusable Docker-Content-Digest "sha256:xyz": sha256 digest has 3 hex characters, want 64`},
		{name: "head-digest-md5", head: faultproxy.Manifest(nil, "md5:"+strings.Repeat("0", 32)),
			want: `unknown algorithm "md5"; want sha256 or sha512`},
		{name: "head-digest-sha384", head: faultproxy.Manifest(nil, "sha384:"+strings.Repeat("0", 96)),
			want: `unknown algorithm "sha384"; want sha256 or sha512`},
		{name: "head-digest-empty-hex", head: faultproxy.Manifest(nil, "sha256:"),
			want: `registry answered an unusable Docker-Content-Digest "sha256:": sha256 digest has 0 hex characters, want 64`},
		{name: "head-digest-no-algorithm", head: faultproxy.Manifest(nil, strings.Repeat("0", 64)),
			want: "want sha256:HEX or sha512:HEX"},
		{name: "head-digest-uppercase", head: faultproxy.Manifest(nil, "sha256:"+strings.Repeat("A", 64)),
			want: "sha256 digest must be lowercase hex"},
		{name: "head-digest-huge", head: faultproxy.Manifest(nil, huge),
			want: "sha256 digest has 32768 hex characters, want 64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head, get := tc.head, tc.get
			if head == nil {
				head = notCalled(t)
			}
			if get == nil {
				get = notCalled(t)
			}
			host := faultproxy.StartHostile(t, head, get).Addr
			real.ResetCounts()
			got, err := hostileResolve(t, host, tc.digest, tc.platforms...)
			if err == nil {
				t.Fatalf("resolved %+v; want a refusal", got)
			}
			if len(got) != 0 {
				t.Errorf("results %+v alongside the error", got)
			}
			var rerr *Error
			if !errors.As(err, &rerr) || !strings.HasPrefix(rerr.Ref, host+"/acme/base:1") {
				t.Errorf("error %v does not name the reference", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to say:\n%s", err, tc.want)
			}
			// Registry-sent garbage is never echoed whole.
			if len(err.Error()) > 1024 {
				t.Errorf("error is %d bytes long", len(err.Error()))
			}
			if c := real.Counts(); c["total"] != 0 {
				t.Errorf("the other host got requests %v", c)
			}
			t.Logf("refused: %v", err)
		})
	}
}

// TestHostileRegistryHarnessHonest: the same server, answering honestly,
// resolves; the refusals above come from the lies, not from the harness.
func TestHostileRegistryHarnessHonest(t *testing.T) {
	d := faultproxy.Digest(hostileManifest)
	for _, tc := range []struct {
		name      string
		head, get http.HandlerFunc
	}{
		{"head", faultproxy.Manifest(nil, d), notCalled(t)},
		{"bare-head-then-get", faultproxy.Manifest(nil, ""), faultproxy.Manifest(hostileManifest, d)},
		{"bare-head-then-bare-get", faultproxy.Manifest(nil, ""), faultproxy.Manifest(hostileManifest, "")},
		{"small-extra-header", faultproxy.WithHeader(1<<10, faultproxy.Manifest(nil, d)), notCalled(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hostileResolve(t, faultproxy.StartHostile(t, tc.head, tc.get).Addr, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Digest != d {
				t.Fatalf("results %+v, want %s", got, d)
			}
		})
	}
}
