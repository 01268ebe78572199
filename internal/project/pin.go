package project

import (
	"os"
	"slices"
	"strings"

	"github.com/google/renameio/v2"

	"github.com/imglock/imglock/internal/compose"
	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/discover"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/lock"
)

// PinResult says what Pin or Unpin did to one Dockerfile, compose file or
// .env file.
type PinResult struct {
	File    string
	Changed int       // references rewritten
	Skipped diag.List // notes: references left as they were, and why
}

// Pin writes TAG@DIGEST from the lock into each Dockerfile's references,
// in place and atomically, touching nothing else in the file. A reference
// that is not locked is an error (run lock first); one whose digest in the
// file disagrees with the lock, or that comes from an ARG, is left alone
// and reported.
func (p *Project) Pin() ([]PinResult, error) {
	if failures := p.Failures(); len(failures) > 0 {
		return nil, failures
	}
	refs := p.selectedRefs()
	var missing diag.List
	for _, r := range refs {
		if pinnable(r) {
			if _, ok := p.lock.Lookup(r.Image.Repo, r.Image.Tag); !ok {
				missing.Add(diag.Mismatch, r.File, r.Line, "%s is not in %s; run 'imglock lock' first", r.Written, p.LockName)
			}
		}
	}
	if len(missing) > 0 {
		return nil, missing
	}
	return rewriteFiles(refs, func(_ int, r dockerfile.Reference) (string, *diag.Diagnostic) {
		if !pinnable(r) {
			return "", skipReason(r)
		}
		locked, _ := p.lock.Lookup(r.Image.Repo, r.Image.Tag)
		switch r.Image.Digest {
		case locked:
			return "", nil // already pinned to the lock's digest
		case "":
			return withTag(r) + "@" + locked, nil
		}
		return "", p.disagrees(r, locked)
	})
}

// Unpin strips digests from the Dockerfiles' references, first recording in
// the lock the digest of each tag it does not have yet, so that moving from
// in-file pins to images.lock keeps the same bytes. A digest that disagrees
// with the lock is left in its file and reported.
func (p *Project) Unpin() ([]PinResult, error) {
	if failures := p.Failures(); len(failures) > 0 {
		return nil, failures
	}
	refs := p.selectedRefs()
	// Decided per reference, not per line: the mounts of one RUN share one.
	conflicts := map[int]*diag.Diagnostic{}
	_, err := p.store.Update(func(f *lock.File) error {
		for i, r := range refs {
			if !unpinnable(r) {
				continue
			}
			locked, ok := f.Lookup(r.Image.Repo, r.Image.Tag)
			switch {
			case !ok:
				if err := f.Set(lock.Entry{Repo: r.Image.Repo, Tag: r.Image.Tag, Digest: r.Image.Digest}); err != nil {
					return err
				}
			case locked != r.Image.Digest:
				conflicts[i] = p.disagrees(r, locked)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rewriteFiles(refs, func(i int, r dockerfile.Reference) (string, *diag.Diagnostic) {
		if !unpinnable(r) {
			return "", nil
		}
		if d := conflicts[i]; d != nil {
			return "", d
		}
		return tagText(r), nil
	})
}

// selectedRefs are the references of the files the run is about.
func (p *Project) selectedRefs() []dockerfile.Reference {
	var out []dockerfile.Reference
	for _, r := range p.Refs {
		if p.Selected(r.File) {
			out = append(out, r)
		}
	}
	return out
}

// disagrees is the note for a reference whose in-file digest is not the
// lock's.
func (p *Project) disagrees(r dockerfile.Reference, locked string) *diag.Diagnostic {
	return diag.New(diag.Note, r.File, r.Line, "%s is pinned to %s in the file but to %s in %s; left as it is", tagText(r), r.Image.Digest, locked, p.LockName)
}

// unpinnable: a literal reference written with both a tag and a digest.
func unpinnable(r dockerfile.Reference) bool {
	return r.Image.Digest != "" && r.Image.Tag != "" && r.Written == r.Expanded && !inline(r)
}

// pinnable: a literal reference with a tag; an ARG-built one would need
// its ARG default rewritten, and the syntax directive goes pinned through
// BUILDKIT_SYNTAX at build time. A compose reference is literal where it
// is reported (the compose file, or the .env line that supplies it); one
// in a dockerfile_inline is left to imglock compose.
func pinnable(r dockerfile.Reference) bool {
	return r.Image.Tag != "" && r.Written == r.Expanded && r.Kind != dockerfile.KindSyntax && !inline(r)
}

// inline reports whether a Dockerfile reference is written in a compose
// file's dockerfile_inline.
func inline(r dockerfile.Reference) bool {
	return !compose.IsKind(r.Kind) && discover.IsYAML(r.File)
}

func skipReason(r dockerfile.Reference) *diag.Diagnostic {
	switch {
	case r.Image.Tag == "":
		return nil // digest only: already pinned
	case r.Kind == dockerfile.KindSyntax:
		return nil // pinned at build time through BUILDKIT_SYNTAX
	case compose.IsKind(r.Kind) || inline(r):
		return composeNote(r)
	}
	return diag.New(diag.Note, r.File, r.Line, "%s comes from ARG %s; pin it at build time with 'imglock build'", r.Written, strings.Join(r.Args, ", "))
}

// withTag is a reference as written, with the tag it implies made
// explicit: a digest written after a bare name would leave no tag, and the
// lock's entry for name:latest would look unused.
func withTag(r dockerfile.Reference) string {
	if !hasTag(r.Written) {
		return r.Written + ":" + r.Image.Tag
	}
	return r.Written
}

// tagText is a reference as written, without its digest.
func tagText(r dockerfile.Reference) string {
	name, _, _ := strings.Cut(r.Written, "@")
	return name
}

// rewrite rewrites the references of one file: a Dockerfile, or a compose
// file or .env file.
func rewrite(file string, data []byte, reps []dockerfile.Replacement) ([]byte, error) {
	if len(reps) == 0 || !compose.IsKind(reps[0].Ref.Kind) {
		return dockerfile.Rewrite(file, data, reps)
	}
	var out []compose.Replacement
	for _, r := range reps {
		out = append(out, compose.Replacement{Line: r.Ref.Line, Written: r.Ref.Written, With: r.With})
	}
	return compose.Rewrite(file, data, out)
}

// rewriteFiles rewrites each Dockerfile with the replacement that with
// gives for its references (by index in refs; "" leaves one as it is) and
// writes the files that change, atomically with their permissions.
func rewriteFiles(refs []dockerfile.Reference, with func(int, dockerfile.Reference) (string, *diag.Diagnostic)) ([]PinResult, error) {
	var order []string
	byFile := map[string][]int{}
	for i, r := range refs {
		if _, ok := byFile[r.File]; !ok {
			order = append(order, r.File)
		}
		byFile[r.File] = append(byFile[r.File], i)
	}
	var results []PinResult
	for _, file := range order {
		res := PinResult{File: file}
		var reps []dockerfile.Replacement
		for _, i := range byFile[file] {
			r := refs[i]
			text, skip := with(i, r)
			// Builds for several platforms give one place several images.
			if skip != nil && !slices.ContainsFunc(res.Skipped, func(d *diag.Diagnostic) bool { return d.Error() == skip.Error() }) {
				res.Skipped = append(res.Skipped, skip)
			}
			if text != "" && text != r.Written {
				reps = append(reps, dockerfile.Replacement{Ref: r, With: text})
			}
		}
		res.Changed = len(reps)
		if len(reps) > 0 {
			data, err := os.ReadFile(file)
			if err != nil {
				return results, err
			}
			out, err := rewrite(file, data, reps)
			if err != nil {
				return results, err
			}
			if err := renameio.WriteFile(file, out, 0o644, renameio.WithExistingPermissions()); err != nil {
				return results, err
			}
		}
		results = append(results, res)
	}
	return results, nil
}
