package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/imageref"
)

// convert checks the decoded document and returns its Config, with a
// problem at the key of each invalid value.
func (p *problems) convert(d *document, ix *index, machine bool) *Config {
	c := d.Config
	c.File, c.Dockerfiles = p.file, nil
	for _, f := range fields(docType) {
		key := f.Tag.Get("toml")
		if at := ix.at(keyPath("").key(key)); machine && at.line > 0 && key != "registries" && key != "timeout" && key != "concurrency" {
			p.add(at, "%s is only allowed in %s", key, FileName)
		}
	}
	p.each(ix, ".\"include\"", d.Include, glob("include"))
	p.each(ix, ".\"exclude\"", d.Exclude, glob("exclude"))
	p.each(ix, ".\"platforms\"", d.Platforms, imageref.CheckPlatform)
	c.Timeout, c.MinAge = p.duration(ix, "timeout", d.Timeout), p.duration(ix, "min-age", d.MinAge)
	p.concurrency(ix.at(".\"concurrency\""), d.Concurrency, "")
	p.buildArgs(ix, ".\"build-args\"", d.BuildArgs)
	p.each(ix, ".\"bake\".\"files\"", d.Bake.Files, nonEmpty("bake file"))
	if len(d.Variant) > 0 {
		legacy := PathSettings{Path: "**", Line: ix.at(".\"variant\"[0]").line}
		for i, v := range d.Variant {
			at := keyPath(".\"variant\"").elem(i)
			p.warnings = append(p.warnings, p.diag(diag.Warning, ix.at(at),
				`variant is deprecated; use [[dockerfile]] with path = "**" and variants = [...]`))
			p.buildArgs(ix, at.key("build-args"), v.BuildArgs)
			legacy.Variants = append(legacy.Variants, v.BuildArgs)
		}
		c.Dockerfiles = append(c.Dockerfiles, legacy)
	}
	for i, s := range d.Dockerfiles {
		at := keyPath(".\"dockerfile\"").elem(i)
		s.Line = p.path(ix, at, "dockerfile", s.Path)
		p.each(ix, at.key("platforms"), s.Platforms, imageref.CheckPlatform)
		p.each(ix, at.key("targets"), s.Targets, nonEmpty("target"))
		p.buildArgs(ix, at.key("build-args"), s.BuildArgs)
		for j, v := range s.Variants {
			p.buildArgs(ix, at.key("variants").elem(j), v)
		}
		c.Dockerfiles = append(c.Dockerfiles, s)
	}
	for i := range c.Compose {
		s, at := &c.Compose[i], keyPath(".\"compose\"").elem(i)
		s.Line = p.path(ix, at, "compose", s.Path)
		p.each(ix, at.key("env-files"), s.EnvFiles, nonEmpty("env-file"))
		p.each(ix, at.key("profiles"), s.Profiles, nonEmpty("profile"))
		p.each(ix, at.key("files"), s.Files, nonEmpty("compose file"))
	}
	c.Registries = p.registries(ix, d.Registries)
	c.Warnings = p.warnings
	return &c
}

// registries checks each registry and keys it by its canonical host.
func (p *problems) registries(ix *index, regs map[string]Registry) map[string]Registry {
	at := keyPath(".\"registries\"")
	// In file order: of two tables for one registry, the second is the mistake.
	hosts := slices.SortedFunc(maps.Keys(regs), func(a, b string) int {
		pa, pb := ix.at(at.key(a)), ix.at(at.key(b))
		return cmp.Or(cmp.Compare(pa.line, pb.line), cmp.Compare(pa.col, pb.col), strings.Compare(a, b))
	})
	var out map[string]Registry
	first := map[string]string{} // canonical host -> the key that set it
	for _, host := range hosts {
		r, at := regs[host], at.key(host)
		p.check(ix.at(at), host, imageref.CheckHost)
		canon := imageref.CanonicalHost(host)
		if prev, ok := first[canon]; ok {
			p.add(ix.at(at), "registry %s is configured already, as %s at line %d", diag.Quote(host), diag.Quote(prev), ix.at(keyPath(".\"registries\"").key(prev)).line)
			continue
		}
		first[canon] = host
		r.Source = map[string]string{}
		for k := range registryFields {
			if ix.at(at.key(k)).line > 0 {
				r.Source[k] = fmt.Sprintf("%s:%d", p.file, ix.at(at.key(k)).line)
			}
		}
		r.Fallback = r.Fallback || r.Source["fallback"] == ""
		if err := imageref.CheckHostPath(r.Mirror); err != nil && r.Source["mirror"] != "" {
			p.add(ix.at(at.key("mirror")), "mirror of registry %s: %v", diag.Quote(host), err)
		}
		if r.Source["ca"] != "" && r.CA == "" {
			p.add(ix.at(at.key("ca")), "empty ca path for registry %s", diag.Quote(host))
		}
		p.concurrency(ix.at(at.key("concurrency")), r.Concurrency, " for registry "+diag.Quote(host))
		if out == nil {
			out = map[string]Registry{}
		}
		out[canon] = r
	}
	return out
}

// path checks the path of a [[dockerfile]] or [[compose]] table and returns
// the table's line.
func (p *problems) path(ix *index, at keyPath, table, path string) int {
	if ix.at(at.key("path")).line == 0 {
		p.add(ix.at(at), "path is required in every [[%s]]", table)
	} else {
		p.check(ix.at(at.key("path")), path, glob("path"))
	}
	return ix.at(at).line
}

func (p *problems) check(at pos, s string, check func(string) error) {
	if err := check(s); err != nil {
		p.add(at, "%v", err)
	}
}

func (p *problems) each(ix *index, at keyPath, list []string, check func(string) error) {
	for i, s := range list {
		p.check(ix.at(at.elem(i)), s, check)
	}
}

func glob(key string) func(string) error {
	return func(g string) error {
		msg := ""
		switch {
		case g == "":
			msg = "empty"
		case strings.HasPrefix(g, "/"):
			msg = "must be relative to the repository root"
		case !doublestar.ValidatePattern(g):
			msg = "bad glob syntax"
		default:
			return nil
		}
		return fmt.Errorf("invalid %s pattern %s: %s", key, diag.Quote(g), msg)
	}
}

func nonEmpty(what string) func(string) error {
	return func(s string) error {
		if s == "" {
			return errors.New("empty " + what + " name")
		}
		return nil
	}
}

func (p *problems) buildArgs(ix *index, at keyPath, args map[string]string) {
	if _, ok := args[""]; ok {
		p.add(ix.at(at.key("")), "empty build-arg name")
	}
}

// duration parses a duration that is set; "" is a mistake, not the default.
func (p *problems) duration(ix *index, key string, s duration) time.Duration {
	at := ix.at(keyPath("").key(key))
	d, err := time.ParseDuration(string(s))
	switch {
	case at.line == 0:
	case err != nil:
		p.add(at, `invalid %s %s: want a duration such as "90s" or "2m"`, key, diag.Quote(string(s)))
	case d < 0:
		p.add(at, "invalid %s %s: must not be negative", key, diag.Quote(string(s)))
	}
	return d
}

func (p *problems) concurrency(at pos, n int, where string) {
	switch {
	case n < 0:
		p.add(at, "invalid concurrency %d%s: must not be negative", n, where)
	case n > MaxConcurrency:
		p.add(at, "invalid concurrency %d%s: must be at most %d", n, where, MaxConcurrency)
	}
}
