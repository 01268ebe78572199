// Package config reads imglock.toml, the optional file that tunes which
// Dockerfiles imglock scans, which platforms it records, how it talks to
// registries and which extra build-arg sets it locks. Without the file the
// defaults apply, so most repositories never need one.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/pelletier/go-toml/v2"
)

// FileName is the configuration file's name at the repository root.
const FileName = "imglock.toml"

// MaxConcurrency bounds the requests in flight per registry.
const MaxConcurrency = 1024

// Config is the content of imglock.toml. The zero value is the default.
type Config struct {
	// Include holds doublestar globs of Dockerfiles, relative to the
	// repository root; when set, it replaces the default discovery.
	Include []string `toml:"include"`
	// Exclude holds doublestar globs that discovery skips, in addition to
	// .git, vendor, node_modules and testdata.
	Exclude []string `toml:"exclude"`
	// Platforms are the platforms, such as "linux/amd64" or "linux/arm/v7",
	// whose per-platform digests are recorded.
	Platforms []string `toml:"platforms"`
	// Timeout is the overall deadline for network work; 0 leaves the
	// caller's default.
	Timeout Duration `toml:"timeout"`
	// Concurrency is the number of requests in flight per registry; 0
	// leaves the caller's default.
	Concurrency int `toml:"concurrency"`
	// Registries holds per-registry settings, keyed by host[:port] as the
	// registry appears in image names ("docker.io", "localhost:5000").
	Registries map[string]Registry `toml:"registries"`
	// Variants are extra build-arg sets whose references are locked too.
	Variants []Variant `toml:"variant"`
}

// Registry holds the settings of one registry.
type Registry struct {
	// Insecure allows plain HTTP.
	Insecure bool `toml:"insecure"`
	// Mirror is a host[:port] through which this registry's tags are
	// resolved; the lock still names the original registry.
	Mirror string `toml:"mirror"`
	// Concurrency overrides Config.Concurrency for this registry.
	Concurrency int `toml:"concurrency"`
	// CA is a PEM bundle of CA certificates to trust. Load makes a relative
	// path absolute, relative to the configuration file's directory.
	CA string `toml:"ca"`
}

// Variant is one extra set of build arguments.
type Variant struct {
	BuildArgs map[string]string `toml:"build-args"`
}

// Duration is a time.Duration written as a Go duration string ("90s", "2m").
type Duration time.Duration

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalText formats d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

func (d Duration) String() string { return time.Duration(d).String() }

// Error is a problem at a position in a configuration file.
type Error struct {
	File      string
	Line, Col int // 1-based; 0 when unknown
	Msg       string
}

func (e *Error) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Col == 0:
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// RegistryConcurrency returns the number of requests in flight allowed for
// host: its own setting, else Config.Concurrency, else def.
func (c *Config) RegistryConcurrency(host string, def int) int {
	if c == nil {
		return def
	}
	if r, ok := c.Registries[host]; ok && r.Concurrency > 0 {
		return r.Concurrency
	}
	if c.Concurrency > 0 {
		return c.Concurrency
	}
	return def
}

// Load reads and parses the configuration file at path. A missing file is
// the default configuration. A relative CA path is made absolute against
// the file's directory, so it does not depend on the working directory.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{}, nil
	}
	if err != nil {
		return nil, err
	}
	// One byte more than Parse accepts is enough to reject a huge file.
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	f.Close()
	if err != nil {
		return nil, err
	}
	c, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
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

// document mirrors Config for decoding, with the timeout kept as text so a
// bad duration is reported with the other validation errors instead of
// stopping the decoder.
type document struct {
	Include     []string            `toml:"include"`
	Exclude     []string            `toml:"exclude"`
	Platforms   []string            `toml:"platforms"`
	Timeout     string              `toml:"timeout"`
	Concurrency int                 `toml:"concurrency"`
	Registries  map[string]Registry `toml:"registries"`
	Variants    []Variant           `toml:"variant"`
}

var utf8BOM = []byte("\xEF\xBB\xBF")

// MaxSize bounds the file: no configuration needs more, and the decoder's
// error reporting is quadratic in the size of the file.
const MaxSize = 64 << 10

// Parse parses the content of a configuration file; name is used in error
// messages. Errors are an errors.Join of *Error values, one per problem, in
// the order of the file: a syntax error alone, else every value of the
// wrong type, else every unknown key and invalid value.
func Parse(name string, data []byte) (*Config, error) {
	// Editors on Windows may save a BOM, which TOML does not allow.
	data = bytes.TrimPrefix(data, utf8BOM)
	errs := &errorList{file: name}
	if len(data) > MaxSize {
		// Load reads one byte past the limit, so the size is not known:
		// point at where the file crosses the limit.
		line := 1 + bytes.Count(data[:MaxSize], []byte("\n"))
		col := MaxSize - bytes.LastIndexByte(data[:MaxSize], '\n')
		errs.add(pos{line, col}, "file too large: at most %d bytes allowed", MaxSize)
		return nil, errs.err()
	}

	ix, perr := buildIndex(data)
	if perr != nil {
		// The decoder parses the same way and positions the error.
		if err := decode(data, &document{}); err != nil {
			errs.decodeError(err)
		} else {
			errs.add(pos{}, "%s", perr.Error())
		}
		return nil, errs.err()
	}
	checkTypes(ix, errs)
	if len(errs.list) > 0 {
		return nil, errs.err()
	}

	var doc document
	if err := decode(data, &doc); err != nil {
		var missing *toml.StrictMissingError
		if !errors.As(err, &missing) {
			errs.decodeError(err)
			return nil, errs.err()
		}
		// The rest of the document was decoded: report the unknown keys
		// along with any invalid values.
		for i := range missing.Errors {
			unknownKey(ix, &missing.Errors[i], errs)
		}
	}
	miscased(ix, errs)
	c := &Config{
		Include:     doc.Include,
		Exclude:     doc.Exclude,
		Platforms:   doc.Platforms,
		Concurrency: doc.Concurrency,
		Registries:  doc.Registries,
		Variants:    doc.Variants,
	}
	validate(c, &doc, ix, errs)
	if len(errs.list) > 0 {
		return nil, errs.err()
	}
	return c, nil
}

func decode(data []byte, v any) error {
	return toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(v)
}
