// Package version says which imglock this is, for --version and for the
// User-Agent of its registry requests: the module version of a release
// build, or the commit a build from a checkout was made from.
package version

import (
	"runtime/debug"
	"strings"

	"golang.org/x/mod/module"
)

// devel is the version of a build that says nothing more about itself.
const devel = "(devel)"

// String is imglock's version: the module version of a build of a
// released module ("v1.2.3"); for a build from a checkout, "(devel)", the
// commit (12 hex digits), its time and "+dirty" when the tree had changes
// ("(devel) 85e6bb6a1b2c 2026-11-30T10:00:00Z+dirty"); else "(devel)".
func String() string { return read().String() }

// UserAgent names imglock and its version in a User-Agent header, whose
// product version may hold no spaces: "imglock/v1.2.3", or for a build
// from a checkout "imglock/devel (85e6bb6a1b2c 2026-11-30T10:00:00Z+dirty)".
func UserAgent() string { return read().userAgent() }

// build is what a binary says about its own version.
type build struct {
	version  string // a module version; empty for a build from a checkout
	revision string // the commit of a checkout, 12 hex digits
	time     string // the commit's time, RFC 3339
	dirty    bool   // the checkout had changes
}

func read() build {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return build{}
	}
	return fromBuildInfo(info)
}

func fromBuildInfo(info *debug.BuildInfo) build {
	var b build
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value[:min(12, len(s.Value))]
		case "vcs.time":
			b.time = s.Value
		case "vcs.modified":
			b.dirty = s.Value == "true"
		}
	}
	v := info.Main.Version
	switch {
	case v == "" || v == devel:
	case b.revision == "":
		// go install of a module version, pseudo-versions included.
		b.version = v
	case !module.IsPseudoVersion(v) && !strings.HasSuffix(v, "+dirty"):
		// A checkout at a release tag, with no changes.
		b.version = v
	}
	return b
}

func (b build) String() string {
	if b.version != "" {
		return b.version
	}
	return strings.Join(append([]string{devel}, b.vcs()...), " ")
}

func (b build) userAgent() string {
	switch {
	case b.version != "":
		return "imglock/" + b.version
	case b.revision != "":
		return "imglock/devel (" + strings.Join(b.vcs(), " ") + ")"
	}
	return "imglock/devel"
}

// vcs is the commit and its time, "+dirty" appended to the last.
func (b build) vcs() []string {
	var parts []string
	for _, p := range []string{b.revision, b.time} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if b.dirty && len(parts) > 0 {
		parts[len(parts)-1] += "+dirty"
	}
	return parts
}
