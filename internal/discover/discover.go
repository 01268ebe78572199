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
)

// Options adjusts Find.
type Options struct {
	// Exclude holds extra glob patterns (path.Match syntax) matched against
	// each slash-separated path relative to the root and against its base
	// name; matching files are skipped, matching directories not entered.
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

// Find returns the Dockerfiles under root as slash-separated paths relative
// to root, sorted. Symlinked directories are not followed; a symlinked file
// counts if it resolves to a regular file.
func Find(root string, opts Options) ([]string, error) {
	excludes := make([]string, 0, len(opts.Exclude))
	for _, p := range opts.Exclude {
		p = strings.TrimSuffix(filepath.ToSlash(p), "/")
		if p == "" {
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("exclude pattern %q: %w", p, err)
		}
		excludes = append(excludes, path.Clean(p))
	}
	excluded := func(rel, name string) bool {
		for _, p := range excludes {
			if ok, _ := path.Match(p, rel); ok {
				return true
			}
			if ok, _ := path.Match(p, name); ok {
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
			if skipDirs[name] || excluded(rel, name) {
				return filepath.SkipDir
			}
			return nil
		}
		if !IsDockerfile(name) || excluded(rel, name) {
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
