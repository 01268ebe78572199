// Package config reads imglock.toml, the optional file that says which files
// imglock scans, which platforms it records, the build args, platforms and
// targets of Dockerfiles by path, and how it talks to registries; and the
// machine-wide file of registry settings. Without them the defaults apply.
//
// Problems are go-toml's own, made readable: a syntax error alone, or the
// first value of the wrong type, or else every unknown key and every invalid
// value, each at its LINE:COL.
package config

import (
	"cmp"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/imageref"
)

// FileName is the configuration file's name at the repository root.
const FileName = "imglock.toml"

// MaxConcurrency bounds the requests in flight per registry.
const MaxConcurrency = 1024

// MaxSize bounds the file: no configuration needs more, and go-toml scans
// the file up to each problem to position it.
const MaxSize = 64 << 10

// Config is a configuration file's content. The zero value is the default.
type Config struct {
	Include   []string      `toml:"include"`   // globs added to default discovery
	Exclude   []string      `toml:"exclude"`   // globs discovery skips
	Platforms []string      `toml:"platforms"` // evaluated and recorded
	Timeout   time.Duration `toml:"-"`
	MinAge    time.Duration `toml:"-"` // upgrade takes no digest younger than this
	// Concurrency is the requests in flight per registry; 0: the default.
	Concurrency           int               `toml:"concurrency"`
	IgnoreUnusedPlatforms bool              `toml:"ignore-unused-platforms"`
	BuildArgs             map[string]string `toml:"build-args"` // for every Dockerfile
	// Dockerfiles are the [[dockerfile]] tables in file order, after one
	// with path "**" holding the deprecated [[variant]] tables, if any.
	Dockerfiles []PathSettings      `toml:"dockerfile"`
	Compose     []ComposeSettings   `toml:"compose"`
	Bake        Bake                `toml:"bake"`
	Registries  map[string]Registry `toml:"registries"` // by canonical host: docker.io, not index.docker.io
	Warnings    diag.List           `toml:"-"`          // deprecations and the like
	File        string              `toml:"-"`          // the file it came from ("" when none)
}

// PathSettings are the settings of the Dockerfiles that Path matches.
type PathSettings struct {
	Path      string              `toml:"path"` // doublestar glob, relative to the repository root
	BuildArgs map[string]string   `toml:"build-args"`
	Platforms []string            `toml:"platforms"`
	Targets   []string            `toml:"targets"`  // default: every stage
	Variants  []map[string]string `toml:"variants"` // extra build-arg sets
	Line      int                 `toml:"-"`        // of the table
}

// ComposeSettings are the settings of the compose files that Path matches.
type ComposeSettings struct {
	Path     string   `toml:"path"`
	EnvFiles []string `toml:"env-files"`
	Profiles []string `toml:"profiles"` // default: every profile
	// Files are compose files read on top of the project, in order, as
	// docker compose -f reads them: the project is also read with them.
	// Like EnvFiles, relative to the compose file's directory.
	Files []string `toml:"files"`
	Line  int      `toml:"-"`
}

// Bake says which bake files to read; default: those buildx reads.
type Bake struct {
	Files   []string `toml:"files"`
	Disable bool     `toml:"disable"`
}

// Registry holds the settings of one registry, which apply to its mirror.
type Registry struct {
	Mirror      string            `toml:"mirror"`   // HOST[:PORT][/PATH]
	Fallback    bool              `toml:"fallback"` // to the registry when the mirror fails
	Insecure    bool              `toml:"insecure"` // plain HTTP allowed
	CA          string            `toml:"ca"`       // PEM bundle; Load makes it absolute
	Concurrency int               `toml:"concurrency"`
	Source      map[string]string `toml:"-"` // setting key -> "FILE:LINE" where it was set
}

// Settings are the effective settings of one Dockerfile.
type Settings struct {
	BuildArgs          map[string]string
	Platforms, Targets []string
	Variants           []map[string]string // each evaluated besides the plain build
}

// Load reads the configuration file at path; a missing file is the default.
// The problems of a file that is read are a diag.List.
func Load(path string) (*Config, error) { return load(path, false) }

// LoadMachine reads the machine-wide file, which may hold only registries,
// timeout and concurrency. A missing file, or path "", is the default.
func LoadMachine(path string) (*Config, error) {
	if path == "" {
		return &Config{}, nil
	}
	return load(path, true)
}

// MachinePath is $XDG_CONFIG_HOME/imglock/config.toml, by default
// ~/.config/imglock/config.toml; "" without a home directory.
func MachinePath() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(dir) { // as the XDG spec says, a relative one is ignored
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "imglock", "config.toml")
}

func load(path string, machine bool) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	// One byte more than parse accepts is enough to reject a huge file.
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, err
	}
	c, err := parse(path, data, machine)
	if err != nil {
		return nil, err
	}
	// A CA path is relative to the file, not to the working directory.
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, err
	}
	for host, r := range c.Registries {
		if r.CA != "" && !filepath.IsAbs(r.CA) {
			r.CA = filepath.Join(dir, filepath.FromSlash(r.CA))
			c.Registries[host] = r
		}
	}
	return c, nil
}

// ForDockerfile returns the settings of the Dockerfile at path (slash-
// separated, relative to the root): the global build args and platforms,
// refined by each matching [[dockerfile]] in turn. Build args merge key by
// key, platforms and targets replace earlier ones when set, variants add up.
func (c *Config) ForDockerfile(path string) Settings {
	if c == nil {
		return Settings{}
	}
	s := Settings{BuildArgs: maps.Clone(c.BuildArgs), Platforms: c.Platforms}
	for _, d := range c.Dockerfiles {
		if ok, _ := doublestar.Match(d.Path, path); ok {
			if s.BuildArgs == nil && d.BuildArgs != nil {
				s.BuildArgs = map[string]string{}
			}
			maps.Copy(s.BuildArgs, d.BuildArgs)
			s.Platforms, s.Targets = orSet(d.Platforms, s.Platforms), orSet(d.Targets, s.Targets)
			s.Variants = append(s.Variants, d.Variants...)
		}
	}
	return s
}

// ForCompose returns the settings of the compose file at path: each
// matching [[compose]] replaces the lists it sets; Line is the last one's.
func (c *Config) ForCompose(path string) ComposeSettings {
	s := ComposeSettings{Path: path}
	if c == nil {
		return s
	}
	for _, d := range c.Compose {
		if ok, _ := doublestar.Match(d.Path, path); ok {
			s.EnvFiles, s.Profiles, s.Files, s.Line = orSet(d.EnvFiles, s.EnvFiles), orSet(d.Profiles, s.Profiles), orSet(d.Files, s.Files), d.Line
		}
	}
	return s
}

// orSet is set unless it was not set (nil), else old.
func orSet(set, old []string) []string {
	if set != nil {
		return set
	}
	return old
}

// Registry returns the settings of a registry host as image names write it
// (index.docker.io is docker.io); without any, the defaults.
func (c *Config) Registry(host string) Registry {
	if c != nil {
		if r, ok := c.Registries[imageref.CanonicalHost(host)]; ok {
			return r
		}
	}
	return Registry{Fallback: true}
}

// Merge returns the machine-wide settings overlaid with the repository's,
// which win key by key: per registry, per setting. It modifies neither.
func Merge(machine, repo *Config) *Config {
	if machine == nil || repo == nil {
		return cmp.Or(repo, machine)
	}
	out := *repo
	out.Timeout, out.Concurrency = cmp.Or(repo.Timeout, machine.Timeout), cmp.Or(repo.Concurrency, machine.Concurrency)
	out.Warnings = append(slices.Clip(machine.Warnings), repo.Warnings...)
	out.Registries = maps.Clone(machine.Registries)
	for host, r := range repo.Registries {
		m, ok := out.Registries[host]
		if !ok {
			m = Registry{Fallback: true}
		}
		m.Source = maps.Clone(m.Source)
		if m.Source == nil {
			m.Source = map[string]string{}
		}
		for k, src := range r.Source {
			f := registryFields[k]
			reflect.ValueOf(&m).Elem().FieldByName(f).Set(reflect.ValueOf(r).FieldByName(f))
			m.Source[k] = src
		}
		if out.Registries == nil {
			out.Registries = map[string]Registry{}
		}
		out.Registries[host] = m
	}
	return &out
}

// registryFields are the settings of a registry: key -> Registry field.
var registryFields = map[string]string{
	"mirror": "Mirror", "fallback": "Fallback", "insecure": "Insecure", "ca": "CA", "concurrency": "Concurrency",
}
