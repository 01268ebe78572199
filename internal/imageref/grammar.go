package imageref

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/distribution/reference"

	"github.com/imglock/imglock/internal/diag"
)

// The grammars of image references are distribution/reference's own,
// anchored; imglock adds only the platform, which that package lacks.
var (
	tagRE    = regexp.MustCompile(`^` + reference.TagRegexp.String() + `$`)
	domainRE = regexp.MustCompile(`^` + reference.DomainRegexp.String() + `$`)
	// pathRE is a repository path: slash-separated lower-case components.
	pathRE = regexp.MustCompile(`^` + reference.NameRegexp.String() + `$`)
)

// CheckTag accepts a tag as image references write it.
func CheckTag(tag string) error {
	switch {
	case tag == "":
		return errors.New("invalid tag: empty")
	case len(tag) > 128:
		return fmt.Errorf("invalid tag %s: %d characters, at most 128 allowed", diag.Quote(tag), len(tag))
	case !tagRE.MatchString(tag):
		return fmt.Errorf("invalid tag %s: must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", diag.Quote(tag))
	}
	return nil
}

// CheckHost accepts a registry as image names write it: a DNS name, an
// IPv4 address or an IPv6 address in brackets, optionally with a port, and
// nothing else.
func CheckHost(s string) error {
	switch {
	case s == "":
		return errors.New("empty registry host")
	case strings.Contains(s, "://"):
		return fmt.Errorf("invalid registry host %s: want HOST[:PORT], without a scheme", diag.Quote(s))
	case strings.Contains(s, "/"):
		return fmt.Errorf("invalid registry host %s: want HOST[:PORT], without a path", diag.Quote(s))
	case !domainRE.MatchString(s):
		return fmt.Errorf("invalid registry host %s: want HOST[:PORT]", diag.Quote(s))
	}
	return nil
}

// CheckHostPath accepts HOST[:PORT][/PATH], the form of a registry mirror
// (a Harbor proxy-cache project, a GitLab dependency proxy): a host as
// CheckHost takes it, then repository path components.
func CheckHostPath(s string) error {
	host, path, hasPath := strings.Cut(s, "/")
	if strings.Contains(s, "://") {
		return fmt.Errorf("invalid mirror %s: want HOST[:PORT][/PATH], without a scheme", diag.Quote(s))
	}
	if err := CheckHost(host); err != nil {
		return err
	}
	if hasPath && !pathRE.MatchString(path) {
		return fmt.Errorf("invalid path %s: want lower-case repository path components", diag.Quote(path))
	}
	return nil
}

// CheckPlatform accepts OS/ARCH or OS/ARCH/VARIANT in lower case, such as
// linux/amd64 or linux/arm/v7: the platforms images.lock records.
func CheckPlatform(p string) error {
	parts := strings.Split(p, "/")
	if len(parts) != 2 && len(parts) != 3 {
		return fmt.Errorf("invalid platform %s: want OS/ARCH or OS/ARCH/VARIANT", diag.Quote(p))
	}
	for _, part := range parts {
		if part == "" {
			return fmt.Errorf("invalid platform %s: empty component", diag.Quote(p))
		}
		if strings.Trim(part, "abcdefghijklmnopqrstuvwxyz0123456789._-") != "" {
			return fmt.Errorf("invalid platform %s: components must match [a-z0-9._-]+", diag.Quote(p))
		}
	}
	return nil
}
