// Package project ties the pieces together for one repository: it finds the
// Dockerfiles, extracts their references, and compares them with, or brings
// them into, the images.lock file.
package project

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/imglock/imglock/internal/discover"
	"github.com/imglock/imglock/internal/dockerfile"
)

// Options says which Dockerfiles make up the project.
type Options struct {
	Root      string            // repository root
	Files     []string          // explicit Dockerfiles, relative to Root; when set, discovery is skipped
	Exclude   []string          // extra glob patterns discovery skips
	BuildArgs map[string]string // --build-arg values that override global ARG defaults
}

// Scan returns every base-image reference of the project, in file order.
// Files are named by their path joined to Root, so that messages point at
// them from where the command runs. Every file is read; the error joins the
// problems of all of them.
func Scan(opts Options) ([]dockerfile.Reference, error) {
	files := opts.Files
	if len(files) == 0 {
		found, err := discover.Find(opts.Root, discover.Options{Exclude: opts.Exclude})
		if err != nil {
			return nil, err
		}
		files = found
	}
	var (
		refs []dockerfile.Reference
		errs []error
	)
	for _, name := range files {
		path := opts.Path(name)
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r, err := dockerfile.Parse(filepath.ToSlash(path), data, opts.BuildArgs)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		refs = append(refs, r...)
	}
	return refs, errors.Join(errs...)
}

// Path is name (slash-separated, relative to Root, or absolute) as a path
// from the working directory.
func (o Options) Path(name string) string {
	name = filepath.FromSlash(name)
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(o.Root, name)
}
