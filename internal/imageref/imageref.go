// Package imageref normalises image references the way Docker does, with
// distribution/reference, so that `python`, `python:latest` and
// `docker.io/library/python:latest` are one image, and validates the
// digests imglock is willing to pin.
package imageref

import (
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"strings"

	// The digest library accepts only algorithms linked into the binary.
	"github.com/distribution/reference"

	"github.com/imglock/imglock/internal/diag"
)

// DefaultTag is the tag Docker assumes when a reference names none.
const DefaultTag = "latest"

// Ref is a normalised image reference.
type Ref struct {
	Repo   string // canonical repository, e.g. docker.io/library/python
	Tag    string // tag; DefaultTag when the reference has neither tag nor digest, "" when it has only a digest
	Digest string // digest written in the reference, "" when none
}

// Parse normalises s, a reference as written in a Dockerfile
// (`python:3.12`, `ghcr.io/o/r@sha256:...`, `localhost:5000/x`).
func Parse(s string) (Ref, error) {
	if s == "" {
		return Ref{}, errors.New("empty image reference")
	}
	named, err := ParseNamed(s)
	if err != nil {
		return Ref{}, fmt.Errorf("invalid image reference %s: %w", diag.Quote(s), err)
	}
	r := Ref{Repo: named.Name()}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
		if err := CheckDigest(r.Digest); err != nil {
			return Ref{}, fmt.Errorf("invalid image reference %s: %w", diag.Quote(s), err)
		}
	}
	if r.Tag == "" && r.Digest == "" {
		r.Tag = DefaultTag
	}
	return r, nil
}

// ParseNamed is reference.ParseNormalizedNamed, Docker's normalisation,
// with its errors kept printable and short (they may repeat the input), and
// refusing a name it leaves without a registry: a first element with a dot
// that is no valid host (my_registry.local/app) would otherwise come back
// as a path, naming no registry at all.
func ParseNamed(s string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return nil, errors.New(diag.Printable(err.Error(), diag.MaxEcho))
	}
	if reference.Domain(named) == "" {
		first, _, _ := strings.Cut(named.Name(), "/")
		return nil, fmt.Errorf("%s is not a valid registry host", diag.Quote(first))
	}
	return named, nil
}

// String is the canonical form: REPO[:TAG][@DIGEST].
func (r Ref) String() string {
	s := r.Repo
	if r.Tag != "" {
		s += ":" + r.Tag
	}
	if r.Digest != "" {
		s += "@" + r.Digest
	}
	return s
}

// Registry is the host part of the repository (docker.io for Docker Hub).
func (r Ref) Registry() string {
	host, _, _ := strings.Cut(r.Repo, "/")
	return host
}

// ShortDigest is a digest cut to 12 hex characters, as docker shows them;
// anything else is returned as it is.
func ShortDigest(d string) string {
	if alg, hex, ok := strings.Cut(d, ":"); ok && len(hex) > 12 {
		return alg + ":" + hex[:12]
	}
	return d
}

// CanonicalHost is the one name of a registry that has several: Docker Hub
// is docker.io, also written index.docker.io (the name Docker's own
// normalisation folds) and registry-1.docker.io (its API host, the name
// daemon.json and proxies use).
func CanonicalHost(host string) string {
	switch host {
	case "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return host
}

// Familiar is the short form Docker users write (python:3.12 for
// docker.io/library/python:3.12), without ":latest": the key BuildKit looks
// a named build context up by (frontend/dockerui NamedContext). Like
// Docker's, it is ambiguous for a Docker Hub repository whose first element
// looks like a host (docker.io/0.0/0 gives 0.0/0): a key, not a name to
// parse back.
func (r Ref) Familiar() string {
	named, err := reference.ParseNormalizedNamed(r.String())
	if err != nil {
		return r.String()
	}
	return strings.TrimSuffix(reference.FamiliarString(named), ":"+DefaultTag)
}

// WithDigest returns r pinned to digest, keeping its tag.
func (r Ref) WithDigest(digest string) Ref {
	r.Digest = digest
	return r
}

// CheckDigest accepts only well-formed sha256 (64 hex) and sha512 (128 hex)
// digests in lower case, the two algorithms registries use for content.
func CheckDigest(d string) error {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		return errors.New("want sha256:HEX or sha512:HEX")
	}
	var want int
	switch alg {
	case "sha256":
		want = 64
	case "sha512":
		want = 128
	default:
		return fmt.Errorf("unknown algorithm %s; want sha256 or sha512", diag.Quote(alg))
	}
	if len(hex) != want {
		return fmt.Errorf("%s digest has %d hex characters, want %d", alg, len(hex), want)
	}
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return fmt.Errorf("%s digest must be lowercase hex (found %q at position %d)", alg, c, i+1)
		}
	}
	return nil
}
