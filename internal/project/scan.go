// Package project ties the pieces together for one repository: it finds the
// Dockerfiles, extracts their references, and compares them with, or brings
// them into, the images.lock file.
package project

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strconv"

	"github.com/imglock/imglock/internal/discover"
	"github.com/imglock/imglock/internal/dockerfile"
)

// Options says which Dockerfiles make up the project.
type Options struct {
	Root      string              // repository root
	Files     []string            // explicit Dockerfiles, relative to Root; when set, discovery is skipped
	Include   []string            // globs that replace default discovery
	Exclude   []string            // extra globs discovery skips
	BuildArgs map[string]string   // --build-arg values that override global ARG defaults
	Variants  []map[string]string // further build-arg sets whose references are locked too
}

// Scan returns every base-image reference of the project, file by file;
// within a file, those of the plain build come first, then those only a
// variant's build args bring.
// Files are named by their path joined to Root, so that messages point at
// them from where the command runs. Every file is read; the error joins the
// problems of all of them.
func Scan(opts Options) ([]dockerfile.Reference, error) {
	files := opts.Files
	if len(files) == 0 {
		found, err := discover.Find(opts.Root, discover.Options{Include: opts.Include, Exclude: opts.Exclude})
		if err != nil {
			return nil, err
		}
		files = found
	}
	argSets := []map[string]string{opts.BuildArgs}
	for _, v := range opts.Variants {
		args := maps.Clone(opts.BuildArgs)
		if args == nil {
			args = map[string]string{}
		}
		maps.Copy(args, v)
		argSets = append(argSets, args)
	}
	var (
		refs []dockerfile.Reference
		errs []error
		seen = map[string]bool{}
	)
	for _, name := range files {
		path := opts.Path(name)
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, args := range argSets {
			found, err := dockerfile.Parse(filepath.ToSlash(path), data, args)
			if err != nil {
				errs = append(errs, err)
				break
			}
			for _, r := range found {
				key := r.File + "\x00" + r.Image.String() + "\x00" + string(r.Kind) + "\x00" + strconv.Itoa(r.Line)
				if !seen[key] {
					seen[key] = true
					refs = append(refs, r)
				}
			}
		}
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
