// Package discover finds the Dockerfiles in a source tree, so imglock can
// lock every base image a repository builds from without being told where
// the Dockerfiles are.
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
	// Include, when not empty, replaces discovery by name: the files found
	// are exactly the regular files whose path matches one of these
	// patterns, whatever their names, still skipping the directories Find
	// never enters and Exclude.
	Include []string
	// Exclude holds patterns of paths to skip; a pattern without a slash
	// also matches a base name anywhere. Matching files are skipped,
	// matching directories not entered.
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

// Find returns the Dockerfiles under root as slash-separated paths relative
// to root, sorted. Symlinked directories are not followed; a symlinked file
// counts if it resolves to a regular file.
func Find(root string, opts Options) ([]string, error) {
	excludes, err := patterns("exclude", opts.Exclude)
	if err != nil {
		return nil, err
	}
	includes, err := patterns("include", opts.Include)
	if err != nil {
		return nil, err
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
	wanted := func(rel, name string) bool {
		if len(includes) == 0 {
			return IsDockerfile(name)
		}
		for _, p := range includes {
			if doublestar.MatchUnvalidated(p, rel) {
				return true
			}
		}
		return false
	}
	// A directory outside the literal leading directories of every include
	// pattern holds no match: "docker/**" never needs src/ walked.
	var bases []string
	for _, p := range includes {
		base, _ := doublestar.SplitPattern(p)
		bases = append(bases, base)
	}
	mayHold := func(rel string) bool {
		if len(includes) == 0 {
			return true
		}
		for _, b := range bases {
			if b == "." || rel == b || strings.HasPrefix(rel, b+"/") || strings.HasPrefix(b, rel+"/") {
				return true
			}
		}
		return false
	}

	// The root itself may be a symlink; only links below it are not followed.
	dir, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, err
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", root)
	}

	var found []string
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
			if skipDirs[name] || excluded(rel, name) || !mayHold(rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !wanted(rel, name) || excluded(rel, name) {
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
		found = append(found, rel)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(found)
	return found, nil
}

// IsDockerfile reports whether a file name (or the last element of a path)
// is a Dockerfile by name: Dockerfile (or dockerfile, which the Docker CLI
// also accepts), Containerfile, NAME.Dockerfile and Dockerfile.NAME, and
// the Containerfile equivalents. The Dockerfile.NAME form is matched in its
// exact case only, so that source files such as dockerfile.go are not taken
// for Dockerfiles; the .dockerfile extension editors use is accepted.
// NAME.dockerignore files, BuildKit's per-Dockerfile ignore files, are not
// Dockerfiles.
func IsDockerfile(name string) bool {
	name = path.Base(filepath.ToSlash(name))
	if strings.HasSuffix(strings.ToLower(name), ".dockerignore") {
		return false
	}
	switch name {
	case "Dockerfile", "dockerfile", "Containerfile", "containerfile":
		return true
	}
	for _, base := range []string{"Dockerfile", "Containerfile"} {
		if strings.HasPrefix(name, base+".") || strings.HasSuffix(strings.ToLower(name), "."+strings.ToLower(base)) {
			return true
		}
	}
	return false
}
