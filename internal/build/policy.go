package build

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/imglock/imglock/internal/dockerfile"
)

// PolicyEnv is the variable buildx (build and bake) reads a source policy
// file from. buildx sends the policy with every request without asking
// whether the daemon applies it: BuildKit 0.8 ignores it and builds, so
// policy mode is used only where Detect found BuildKit 0.12 or later.
const PolicyEnv = "EXPERIMENTAL_BUILDKIT_SOURCE_POLICY"

// PolicyFile is how --print names the temporary policy file.
const PolicyFile = "imglock-policy.json"

// Policy is a BuildKit source policy (moby/buildkit sourcepolicy/pb.Policy)
// in the JSON form buildx reads from PolicyEnv and buildctl from
// --source-policy-file. BuildKit applies it to every source the build
// loads, the # syntax= frontend included (0.12 and later).
//
// BuildKit decodes it with encoding/json, by field name: a misspelt key is
// ignored, not refused, so the names here are tested against BuildKit's
// own types and engine.
type Policy struct {
	Rules []Rule `json:"rules"`
	// Extra are rules of a policy of the user's own (PolicyEnv was set),
	// kept as written, after imglock's: the last matching ALLOW or DENY
	// wins, so they may allow more images (an SBOM scanner) or deny some.
	Extra []json.RawMessage `json:"-"`
}

// Rule is one policy rule.
type Rule struct {
	Action   string   `json:"action"` // ALLOW, DENY or CONVERT
	Selector Selector `json:"selector"`
	Updates  *Update  `json:"updates,omitempty"`
}

// Selector says which sources a rule applies to.
type Selector struct {
	Identifier string `json:"identifier"`
	MatchType  string `json:"match_type"` // EXACT or REGEX; BuildKit's default is WILDCARD
}

// Update is what a CONVERT rule turns a source into.
type Update struct {
	Identifier string `json:"identifier"`
}

// Policy rule actions and match types, as BuildKit spells them.
const (
	actionAllow   = "ALLOW"
	actionDeny    = "DENY"
	actionConvert = "CONVERT"
	matchExact    = "EXACT"
	matchRegex    = "REGEX"
)

// imageScheme prefixes the identifier of an image source.
const imageScheme = "docker-image://"

// denyImages matches every image source. Anchored: BuildKit matches a
// regex anywhere in the identifier, and checks a converted source again
// from the first rule.
const denyImages = "^docker-image://"

// NewPolicy is the source policy that lets a build pull only the pinned
// images: it denies every image source, converts each image the build
// names by tag to that tag at its pinned digest, and allows each pinned
// image. BuildKit checks a converted source again from the first rule and
// the last matching ALLOW or DENY wins, so the deny comes first. Every
// selector is exact: a converted identifier never matches its rule again.
func NewPolicy(pins []Pin) *Policy {
	p := &Policy{Rules: []Rule{{Action: actionDeny, Selector: Selector{Identifier: denyImages, MatchType: matchRegex}}}}
	seen := map[string]bool{}
	for _, pin := range sortedPins(pins) {
		from, to := imageScheme+pin.Ref.Image.String(), imageScheme+pin.Pinned()
		if from != to && !seen[from] {
			seen[from] = true
			p.Rules = append(p.Rules, Rule{Action: actionConvert, Selector: Selector{Identifier: from, MatchType: matchExact}, Updates: &Update{Identifier: to}})
		}
		if !seen[to] {
			seen[to] = true
			p.Rules = append(p.Rules, Rule{Action: actionAllow, Selector: Selector{Identifier: to, MatchType: matchExact}})
		}
	}
	return p
}

// sortedPins orders pins by image, so that a policy reads the same
// whatever order the Dockerfile names them in.
func sortedPins(pins []Pin) []Pin {
	out := slices.Clone(pins)
	slices.SortStableFunc(out, func(a, b Pin) int {
		return cmp.Or(cmp.Compare(a.Ref.Image.String(), b.Ref.Image.String()), cmp.Compare(a.Digest, b.Digest))
	})
	return out
}

// JSON is the policy file's content: imglock's rules and then the user's,
// one rule a line.
func (p *Policy) JSON() []byte {
	rules := make([]json.RawMessage, 0, len(p.Rules)+len(p.Extra))
	for _, r := range p.Rules {
		b, err := json.Marshal(r)
		if err != nil {
			panic(err) // strings only: cannot fail
		}
		rules = append(rules, b)
	}
	rules = append(rules, p.Extra...)
	var out bytes.Buffer
	out.WriteString("{\n  \"rules\": [\n")
	for i, r := range rules {
		out.WriteString("    ")
		out.Write(r)
		if i < len(rules)-1 {
			out.WriteByte(',')
		}
		out.WriteByte('\n')
	}
	out.WriteString("  ]\n}\n")
	return out.Bytes()
}

// AddUserPolicy appends the rules of the policy file that PolicyEnv names
// in env, if it is set, so that a policy of the user's own still applies.
// The file must be JSON, as buildx reads it.
func (p *Policy) AddUserPolicy(env []string) error {
	path := lookupEnv(env, PolicyEnv)
	if path == "" {
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", PolicyEnv, err)
	}
	var user struct {
		Rules []json.RawMessage `json:"rules"`
	}
	if err := json.Unmarshal(data, &user); err != nil {
		return fmt.Errorf("%s=%s: want a JSON source policy: %v", PolicyEnv, path, err)
	}
	for _, r := range user.Rules {
		var compact bytes.Buffer
		if err := json.Compact(&compact, r); err != nil {
			return err
		}
		p.Extra = append(p.Extra, compact.Bytes())
	}
	return nil
}

// lookupEnv is the value of key in env (KEY=VALUE entries, the last one
// winning, as exec does), "" when unset.
func lookupEnv(env []string, key string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// Pin is one place a build pulls an image from, and the digest the image
// is pinned to: the lock's, or the one written with the reference.
type Pin struct {
	Ref    dockerfile.Reference
	Digest string
}

// Pinned is the image at its digest, keeping its tag: REPO:TAG@DIGEST, or
// REPO@DIGEST when only a digest is written. BuildKit names the source
// docker-image:// and this.
func (p Pin) Pinned() string { return p.Ref.Image.WithDigest(p.Digest).String() }
