// Package imageref normalises image references the way Docker does, so that
// `python`, `python:latest` and `docker.io/library/python:latest` are one
// image, and validates the digests imglock is willing to pin.
package imageref

import (
	// The digest library accepts only algorithms linked into the binary.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/distribution/reference"
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
		return Ref{}, fmt.Errorf("invalid image reference %s: %w", quote(s), err)
	}
	r := Ref{Repo: named.Name()}
	if t, ok := named.(reference.Tagged); ok {
		r.Tag = t.Tag()
	}
	if d, ok := named.(reference.Digested); ok {
		r.Digest = d.Digest().String()
		if err := CheckDigest(r.Digest); err != nil {
			return Ref{}, fmt.Errorf("invalid image reference %s: %w", quote(s), err)
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
		return nil, errors.New(Printable(err.Error(), maxEcho))
	}
	if reference.Domain(named) == "" {
		first, _, _ := strings.Cut(named.Name(), "/")
		return nil, fmt.Errorf("%s is not a valid registry host", quote(first))
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
		return fmt.Errorf("unknown algorithm %q; want sha256 or sha512", truncate(alg))
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

// truncate keeps messages about garbage input short.
func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// maxEcho bounds what an error message repeats of its input: more than
// any realistic reference, far less than a malformed 64 KiB line.
const maxEcho = 256

// quote quotes s for an error message, cut after maxEcho bytes.
func quote(s string) string {
	if len(s) <= maxEcho {
		return strconv.Quote(s)
	}
	return strconv.Quote(cut(s, maxEcho)) + "..."
}

// Printable returns s for an error message: control characters, other
// non-printable runes and invalid UTF-8 escaped as in a Go string literal,
// and the result cut after max bytes with "..." added, so that text from a
// malformed file can neither drive a terminal nor flood a log.
func Printable(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case printableRune(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
		if b.Len() > max {
			return cut(b.String(), max) + "..."
		}
	}
	return b.String()
}

// IsPrintable reports whether Printable leaves s as it is, length aside:
// valid UTF-8 of printable runes and spaces only.
func IsPrintable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !printableRune(r) {
			return false
		}
	}
	return true
}

func printableRune(r rune) bool { return r == ' ' || unicode.IsPrint(r) }

// cut returns at most max bytes of s, ending on a rune boundary.
func cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}
