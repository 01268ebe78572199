package discover

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// rootMarkers are the files that make a directory a project root: the
// lock and the configuration, at their default names.
var rootMarkers = []string{"images.lock", "imglock.toml"}

// FindRoot returns the project root for start, a directory or a file
// (whose directory is then where the search begins).
//
// The root is the nearest directory, start's own first, that holds
// images.lock or imglock.toml (a file, or a link to one); found is then
// true. The search does not leave a repository: a directory holding .git
// (a directory, or the file of a worktree or submodule) is checked and
// is the last. When no directory holds either file, root is that
// repository's root, or, outside any repository, start's directory, and
// found is false.
//
// Paths are cleaned and spelled as start is. For an absolute start, root
// is absolute and the search goes up start's own elements, as cmd/go
// looks for go.mod: start is not resolved through symbolic links. For a
// relative start, root is relative to the working directory ("sub",
// ".", "..", "../.."), so it joins cleanly with the names callers print;
// the search goes up start's elements and then through "..", which the
// system resolves from the working directory's real location. Either way
// the directory checked is the one the returned path names, so
// filepath.Join(root, "images.lock") is the file that was found.
//
// An error is returned when start does not exist or a directory on the
// way cannot be examined.
func FindRoot(start string) (root string, found bool, err error) {
	dir := filepath.Clean(start)
	fi, err := os.Stat(dir)
	if err != nil {
		return "", false, fmt.Errorf("finding the project root: %w", err)
	}
	if !fi.IsDir() {
		dir = filepath.Dir(dir)
	}
	first := dir
	for {
		for _, name := range rootMarkers {
			ok, err := isFile(filepath.Join(dir, name))
			if err != nil {
				return "", false, fmt.Errorf("finding the project root: %w", err)
			}
			if ok {
				return dir, true, nil
			}
		}
		if _, err := os.Lstat(filepath.Join(dir, ".git")); err == nil {
			return dir, false, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", false, fmt.Errorf("finding the project root: %w", err)
		}
		up, err := parent(dir)
		if err != nil {
			return "", false, fmt.Errorf("finding the project root: %w", err)
		}
		if up == "" {
			return first, false, nil
		}
		dir = up
	}
}

// isFile reports whether name exists and is, or links to, a file that is
// not a directory.
func isFile(name string) (bool, error) {
	fi, err := os.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	}
	return !fi.IsDir(), nil
}

// parent returns the directory above the clean path dir, spelled as dir
// is, or "" when dir is the top of the file system.
func parent(dir string) (string, error) {
	if filepath.IsAbs(dir) {
		up := filepath.Dir(dir)
		if up == dir {
			return "", nil
		}
		return up, nil
	}
	if base := filepath.Base(dir); base != "." && base != ".." {
		return filepath.Dir(dir), nil // "a/b" -> "a", "a" -> "."
	}
	// dir is "." or a run of "..": its parent is one more "..", unless dir
	// is already the root, whose ".." is itself.
	up := filepath.Join(dir, "..")
	here, err := os.Stat(dir)
	if err != nil {
		return "", err
	}
	there, err := os.Stat(up)
	if err != nil {
		return "", err
	}
	if os.SameFile(here, there) {
		return "", nil
	}
	return up, nil
}
