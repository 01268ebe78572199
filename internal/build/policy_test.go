package build

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/solver/pb"
	"github.com/moby/buildkit/sourcepolicy"
	spb "github.com/moby/buildkit/sourcepolicy/pb"
)

// buildkitPolicy decodes a policy file as buildx does
// (build.ReadSourcePolicy: encoding/json into BuildKit's own type).
func buildkitPolicy(t *testing.T, data []byte) *spb.Policy {
	t.Helper()
	var pol spb.Policy
	if err := json.Unmarshal(data, &pol); err != nil {
		t.Fatalf("BuildKit cannot read the policy: %v\n%s", err, data)
	}
	return &pol
}

// evaluate applies pol to an image source as BuildKit's solver does, and
// returns the identifier it ends up with.
func evaluate(t *testing.T, pol *spb.Policy, identifier string) (string, error) {
	t.Helper()
	op := &pb.SourceOp{Identifier: identifier}
	_, err := sourcepolicy.NewEngine([]*spb.Policy{pol}).Evaluate(context.Background(), op)
	return op.Identifier, err
}

// TestPolicyAsBuildKitReadsIt holds the policy to BuildKit's own engine:
// each image the Dockerfile names by tag becomes that tag at its locked
// digest and passes, an image written with its digest passes as it is,
// and any other image is denied, with BuildKit's message naming it.
func TestPolicyAsBuildKitReadsIt(t *testing.T) {
	_, digests := argvLock(t)
	ctxDir, path := argvContext(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// One more reference, written with its digest: allowed as written.
	written := "docker.io/library/debian:12@sha256:" + strings.Repeat("e", 64)
	data = append(data, "COPY --from="+written+" / /debian\n"...)
	refs, _, err := pullsOf(filepath.Join(ctxDir, "Dockerfile"), data, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := argvLock(t)
	pins, err := Lookup(refs, f, "images.lock")
	if err != nil {
		t.Fatal(err)
	}
	raw := NewPolicy(pins).JSON()
	pol := buildkitPolicy(t, raw)

	// A misspelt key is ignored, not refused: each selector must have
	// decoded to the match type written, not BuildKit's default.
	for _, r := range pol.Rules {
		if r.Selector.MatchType != spb.MatchType_EXACT && r.Selector.MatchType != spb.MatchType_REGEX {
			t.Errorf("rule %v: match type %v, want EXACT or REGEX", r.Selector.Identifier, r.Selector.MatchType)
		}
	}

	for image, digest := range digests {
		got, err := evaluate(t, pol, "docker-image://"+image)
		if want := "docker-image://" + image + "@" + digest; err != nil || got != want {
			t.Errorf("%s: BuildKit made it %s, %v; want %s", image, got, err, want)
		}
		// What BuildKit pulls once it resolved the tag through the policy.
		got, err = evaluate(t, pol, "docker-image://"+image+"@"+digest)
		if want := "docker-image://" + image + "@" + digest; err != nil || got != want {
			t.Errorf("%s@%s: BuildKit made it %s, %v; want it allowed as it is", image, digest, got, err)
		}
	}
	if got, err := evaluate(t, pol, "docker-image://"+written); err != nil || got != "docker-image://"+written {
		t.Errorf("%s: BuildKit made it %s, %v; want it allowed as written", written, got, err)
	}
	for _, denied := range []string{
		"docker-image://docker.io/library/alpine:3.21",                     // not locked
		"docker-image://docker.io/library/alpine:3.20@sha256:" + zeros(64), // locked tag, other digest
		"docker-image://docker.io/library/busybox:1.36-musl",               // a tag that begins like a locked one
		"docker-image://docker.io/docker/buildkit-syft-scanner:stable-1",   // what --sbom would load
	} {
		_, err := evaluate(t, pol, denied)
		if !errors.Is(err, sourcepolicy.ErrSourceDenied) || !strings.Contains(err.Error(), `source "`+denied+`" denied by policy`) {
			t.Errorf("%s: %v; want BuildKit to deny it, naming it", denied, err)
		}
	}
	// Other kinds of source are none of the policy's business.
	for _, other := range []string{"local://context", "git://github.com/moby/buildkit.git#v0.34.2", "https://example.com/a.tar"} {
		if got, err := evaluate(t, pol, other); err != nil || got != other {
			t.Errorf("%s: BuildKit made it %s, %v; want it untouched", other, got, err)
		}
	}
}

func zeros(n int) string { return strings.Repeat("0", n) }

// TestPolicyKeepsTheUsersRules: a policy of the user's own comes after
// imglock's rules, so that it can allow an image imglock does not lock
// (an SBOM scanner) without weakening the pins.
func TestPolicyKeepsTheUsersRules(t *testing.T) {
	f, digests := argvLock(t)
	refs, _, err := pullsOf("Dockerfile", []byte(argvDockerfile), nil)
	if err != nil {
		t.Fatal(err)
	}
	pins, err := Lookup(refs, f, "images.lock")
	if err != nil {
		t.Fatal(err)
	}
	const scanner = "docker-image://docker.io/docker/buildkit-syft-scanner:stable-1"
	userFile := filepath.Join(t.TempDir(), "mine.json")
	user := `{"rules": [{"action": "ALLOW", "selector": {"identifier": "` + scanner + `"}}]}`
	if err := os.WriteFile(userFile, []byte(user), 0o644); err != nil {
		t.Fatal(err)
	}
	p := NewPolicy(pins)
	if err := p.AddUserPolicy([]string{"HOME=/", PolicyEnv + "=" + userFile}); err != nil {
		t.Fatal(err)
	}
	pol := buildkitPolicy(t, p.JSON())
	if got, err := evaluate(t, pol, scanner); err != nil || got != scanner {
		t.Errorf("the user's ALLOW: %s, %v", got, err)
	}
	image := "docker.io/library/alpine:3.20"
	if got, err := evaluate(t, pol, "docker-image://"+image); err != nil || got != "docker-image://"+image+"@"+digests[image] {
		t.Errorf("%s with the user's rules: %s, %v", image, got, err)
	}
	if _, err := evaluate(t, pol, "docker-image://docker.io/library/nginx:1"); !errors.Is(err, sourcepolicy.ErrSourceDenied) {
		t.Errorf("an unlocked image with the user's rules: %v; want it denied", err)
	}

	if err := os.WriteFile(userFile, []byte("rules: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := NewPolicy(pins).AddUserPolicy([]string{PolicyEnv + "=" + userFile}); err == nil || !strings.Contains(err.Error(), "want a JSON source policy") {
		t.Errorf("a policy that is not JSON: %v", err)
	}
	if err := NewPolicy(pins).AddUserPolicy([]string{PolicyEnv + "=" + userFile + ".missing"}); err == nil {
		t.Error("a missing policy file: no error")
	}
}
