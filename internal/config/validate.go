package config

import (
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// validate checks the decoded values, sets c.Timeout from doc, and adds an
// error at the key of each bad value.
func validate(c *Config, doc *document, ix *index, errs *errorList) {
	for _, list := range []struct {
		key      string
		patterns []string
	}{{"include", doc.Include}, {"exclude", doc.Exclude}} {
		for i, p := range list.patterns {
			if msg := checkPattern(p); msg != "" {
				errs.add(ix.pos(fmt.Sprintf("%s[%d]", list.key, i)), "invalid %s pattern %q: %s", list.key, p, msg)
			}
		}
	}

	for i, p := range doc.Platforms {
		if !platformRE.MatchString(p) {
			errs.add(ix.pos(fmt.Sprintf("platforms[%d]", i)),
				`invalid platform %q: want os/arch[/variant] in lower case, such as "linux/amd64" or "linux/arm/v7"`, p)
		}
	}

	// An explicit empty string is a mistake, not the default.
	if _, set := ix.byPath["timeout"]; set {
		p := ix.pos("timeout")
		switch err := c.Timeout.UnmarshalText([]byte(doc.Timeout)); {
		case err != nil:
			errs.add(p, `invalid timeout %q: want a duration such as "90s" or "2m"`, doc.Timeout)
		case c.Timeout < 0:
			errs.add(p, "invalid timeout %q: must not be negative", doc.Timeout)
		}
	}

	if msg := checkConcurrency(doc.Concurrency); msg != "" {
		errs.add(ix.pos("concurrency"), "invalid concurrency %d: %s", doc.Concurrency, msg)
	}

	for _, host := range slices.Sorted(maps.Keys(doc.Registries)) {
		r := doc.Registries[host]
		path := "registries." + formatKey(host)
		if msg := checkHost(host); msg != "" {
			errs.add(ix.pos(path), "invalid registry %q: %s", host, msg)
		}
		if r.Mirror != "" {
			if msg := checkHost(r.Mirror); msg != "" {
				errs.add(ix.pos(path+".mirror"), "invalid mirror %q for registry %q: %s", r.Mirror, host, msg)
			}
		}
		if msg := checkConcurrency(r.Concurrency); msg != "" {
			errs.add(ix.pos(path+".concurrency"), "invalid concurrency %d for registry %q: %s", r.Concurrency, host, msg)
		}
	}

	for i, v := range doc.Variants {
		if _, ok := v.BuildArgs[""]; ok {
			errs.add(ix.pos(fmt.Sprintf(`variant[%d].build-args.""`, i)), "empty build-arg name in variant[%d]", i)
		}
	}
}

// platformRE matches os/arch[/variant] as in images.lock.
var platformRE = regexp.MustCompile(`^[a-z0-9._-]+/[a-z0-9._-]+(/[a-z0-9._-]+)?$`)

func checkPattern(p string) string {
	switch {
	case p == "":
		return "empty"
	case strings.HasPrefix(p, "/"):
		return "must be relative to the repository root"
	case !doublestar.ValidatePattern(p):
		return "bad glob syntax"
	}
	return ""
}

func checkConcurrency(n int) string {
	switch {
	case n < 0:
		return "must not be negative"
	case n > MaxConcurrency:
		return fmt.Sprintf("must be at most %d", MaxConcurrency)
	}
	return ""
}

// checkHost checks a registry as it appears in image names: a DNS name or
// IP address, optionally with a port, and nothing else.
func checkHost(s string) string {
	const want = "want host[:port]"
	switch {
	case s == "":
		return "empty name"
	case strings.Contains(s, "://"):
		return want + ", without a scheme"
	case strings.Contains(s, "/"):
		return want + ", without a path"
	}
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return want
		}
		if a, err := netip.ParseAddr(s[1:end]); err != nil || !a.Is6() {
			return want + ", with an IPv6 address in brackets"
		}
		host, port = "", s[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return want
		}
		port = strings.TrimPrefix(port, ":")
		if port == "" && strings.HasSuffix(s, ":") {
			return "empty port"
		}
	} else if i := strings.LastIndex(s, ":"); i >= 0 {
		host, port = s[:i], s[i+1:]
		if port == "" {
			return "empty port"
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '+' {
			return fmt.Sprintf("invalid port %q", port)
		}
	}
	if host != "" && !hostRE.MatchString(host) {
		return want
	}
	return ""
}

// hostRE is the domain grammar of image references: dot-separated labels
// of letters, digits and inner hyphens.
var hostRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$`)
