// Package discover finds the Dockerfiles and compose files in a source
// tree, so imglock can lock every base image a repository builds from and
// every image its compose files pull without being told where they are,
// and the project root that tree starts at.
package discover

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Options adjusts Find. Patterns are doublestar globs ("**" matches any
// number of directories) over slash-separated paths relative to the root.
type Options struct {
	// Include holds patterns of paths to find besides the Dockerfiles
	// found by name (IsDockerfile): a regular file whose path matches one
	// is found whatever its name, as a compose file when it is YAML
	// (IsYAML), else as a Dockerfile. Unlike Exclude, a pattern without a
	// slash matches at the root only. The directories Find never enters
	// and Exclude still apply.
	Include []string
	// Exclude holds patterns of paths to skip; a pattern without a slash
	// also matches a base name anywhere. Matching files are skipped, found
	// by name or by Include, and matching directories not entered.
	Exclude []string
}

// skipDirs are never entered: VCS metadata, vendored code and test
// fixtures hold Dockerfiles that are not this project's builds.
var skipDirs = map[string]bool{
	".git":         true,
	"vendor":       true,
	"node_modules": true,
	"testdata":     true,
}

// patterns cleans and validates the patterns of an option; empty ones are
// ignored.
func patterns(option string, list []string) ([]string, error) {
	var out []string
	for _, p := range list {
		p = strings.TrimSuffix(filepath.ToSlash(p), "/")
		if p == "" {
			continue
		}
		if !doublestar.ValidatePattern(p) {
			return nil, fmt.Errorf("%s pattern %q: %w", option, p, doublestar.ErrBadPattern)
		}
		out = append(out, path.Clean(p))
	}
	return out, nil
}

// Found is what FindAll finds: slash-separated paths relative to the root,
// each list sorted.
type Found struct {
	Dockerfiles []string
	// Compose are the files docker compose finds by name (IsComposeFile)
	// and the YAML files Include names.
	Compose []string
}

// FindAll returns the Dockerfiles and the compose files under root, in
// one walk, as Find finds Dockerfiles.
func FindAll(root string, opts Options) (Found, error) {
	var found Found
	excludes, err := patterns("exclude", opts.Exclude)
	if err != nil {
		return found, err
	}
	includes, err := patterns("include", opts.Include)
	if err != nil {
		return found, err
	}
	excluded := func(rel, name string) bool {
		for _, p := range excludes {
			if doublestar.MatchUnvalidated(p, rel) {
				return true
			}
			if !strings.Contains(p, "/") && doublestar.MatchUnvalidated(p, name) {
				return true
			}
		}
		return false
	}
	// wanted says where a file goes: Dockerfiles, Compose, or nowhere.
	wanted := func(rel, name string) *[]string {
		switch {
		case IsDockerfile(name):
			return &found.Dockerfiles
		case IsComposeFile(name):
			return &found.Compose
		}
		for _, p := range includes {
			if doublestar.MatchUnvalidated(p, rel) {
				if IsYAML(name) {
					return &found.Compose
				}
				return &found.Dockerfiles
			}
		}
		return nil
	}

	// The root itself may be a symlink; only links below it are not followed.
	dir, err := filepath.EvalSymlinks(root)
	if err != nil {
		return found, err
	}
	if fi, err := os.Stat(dir); err != nil {
		return found, err
	} else if !fi.IsDir() {
		return found, fmt.Errorf("%s is not a directory", root)
	}

	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := d.Name()
		if d.IsDir() {
			// Every other directory may hold a Dockerfile by name, so
			// include patterns cannot prune the walk.
			if skipDirs[name] || excluded(rel, name) {
				return filepath.SkipDir
			}
			return nil
		}
		list := wanted(rel, name)
		if list == nil || excluded(rel, name) {
			return nil
		}
		switch {
		case d.Type().IsRegular():
		case d.Type()&fs.ModeSymlink != 0:
			fi, err := os.Stat(p)
			if errors.Is(err, fs.ErrNotExist) {
				return nil // dangling link
			}
			if err != nil {
				return err
			}
			if !fi.Mode().IsRegular() {
				return nil
			}
		default:
			return nil // devices, sockets, pipes
		}
		*list = append(*list, rel)
		return nil
	})
	if err != nil {
		return Found{}, err
	}
	slices.Sort(found.Dockerfiles)
	slices.Sort(found.Compose)
	return found, nil
}

// ComposeFileNames are the names docker compose looks for in a directory,
// in its order of preference: it reads the first that exists.
var ComposeFileNames = []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}

// ComposeOverrideFileNames are the override files docker compose reads
// after that one, in its order of preference: the first that exists.
var ComposeOverrideFileNames = []string{"compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml"}

// IsComposeFile reports whether a file name (or the last element of a
// path) is one docker compose finds by itself: a compose file or an
// override file. As docker compose looks them up by name, letter case
// counts.
func IsComposeFile(name string) bool {
	name = path.Base(filepath.ToSlash(name))
	return slices.Contains(ComposeFileNames, name) || slices.Contains(ComposeOverrideFileNames, name)
}

// IsYAML reports whether a file name ends in .yaml or .yml, in any case:
// an included file that is YAML is a compose file, not a Dockerfile.
func IsYAML(name string) bool {
	ext := asciiLower(path.Ext(filepath.ToSlash(name)))
	return ext == ".yaml" || ext == ".yml"
}

// IsDockerfile reports whether a file name (or the last element of a
// path) names a Dockerfile, as Docker users name them. Letter case is
// ignored (ASCII only). The name is one of
//
//   - Dockerfile or Containerfile;
//   - Dockerfile or Containerfile, then '.', '-' or '_', then at least one
//     more character: Dockerfile.prod, Dockerfile-chroot, Containerfile_dev;
//   - at least one character, then .Dockerfile or .Containerfile:
//     api.Dockerfile, web.containerfile;
//
// and its extension, what follows its last '.', is not one that says the
// file is something else (see notDockerfile): a template to render
// (Dockerfile.j2, Dockerfile-alpine.template), BuildKit's per-Dockerfile
// ignore file (Dockerfile.dockerignore), an editor or merge leftover
// (Dockerfile.orig), or source, documentation, data or media
// (dockerfile.go, dockerfile_test.py, Dockerfile.md, dockerfile.svg).
// A name that fails the rule is still found when an include pattern of
// Options names it.
func IsDockerfile(name string) bool {
	name = asciiLower(path.Base(filepath.ToSlash(name)))
	if ext := path.Ext(name); ext != "" && notDockerfile[ext[1:]] {
		return false
	}
	for _, base := range []string{"dockerfile", "containerfile"} {
		switch {
		case name == base:
			return true
		case len(name) > len(base)+1 && strings.HasPrefix(name, base) && strings.IndexByte(".-_", name[len(base)]) >= 0:
			return true
		case len(name) > len(base)+1 && strings.HasSuffix(name, "."+base):
			return true
		}
	}
	return false
}

// notDockerfile holds the extensions (lower case, without the dot) of
// files named like Dockerfiles that are not Dockerfiles to build. Templates
// hold placeholders the Dockerfile parser would reject; the rest are other
// kinds of files that happen to be named after Dockerfiles.
var notDockerfile = setOf(
	// Templates and copies to edit before use.
	"template", "tmpl", "tpl", "gotmpl", "in", "j2", "jinja", "jinja2",
	"erb", "mustache", "hbs", "handlebars", "ejs", "liquid", "njk", "mako",
	"example", "sample",
	// BuildKit's and Podman's per-Dockerfile ignore files.
	"dockerignore", "containerignore",
	// Editor, backup and merge leftovers.
	"bak", "backup", "old", "orig", "rej", "swp", "swo", "tmp", "temp",
	"save", "disabled",
	// Documentation and text.
	"md", "markdown", "rst", "txt", "adoc", "asciidoc", "html", "htm", "pdf",
	// Data and configuration.
	"json", "yaml", "yml", "toml", "xml", "ini", "cfg", "conf", "csv",
	"lock", "log", "properties", "hcl", "nix", "golden", "snap", "diff",
	"patch",
	// Source code, scripts and what compiling them leaves.
	"go", "py", "pyc", "js", "mjs", "cjs", "ts", "mts", "cts", "jsx", "tsx",
	"rs", "java", "class", "kt", "kts", "scala", "groovy", "gradle", "rb",
	"php", "pl", "pm", "c", "h", "cc", "cpp", "cxx", "hpp", "cs", "swift",
	"lua", "ex", "exs", "erl", "hs", "ml", "clj", "dart", "sql", "proto",
	"vim", "el", "mk", "sh", "bash", "zsh", "fish", "ps1", "psm1", "bat",
	"cmd", "o", "a", "so", "dll", "exe",
	// Images and archives.
	"png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "zip", "tar", "gz",
	"tgz", "bz2", "xz", "zst",
)

func setOf(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// asciiLower lowers ASCII letters only, so that no other character folds
// into one of the names IsDockerfile looks for (as the Kelvin sign would
// into a k).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
