package project

import (
	"fmt"
	"os"
	"strings"

	"github.com/google/renameio/v2"

	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/lock"
)

// PinResult says what Pin or Unpin did to one Dockerfile.
type PinResult struct {
	File    string
	Changed int       // references rewritten
	Skipped []Problem // references left as they were, and why
}

// Pin writes TAG@DIGEST from the lock into each Dockerfile's references,
// in place and atomically, touching nothing else in the file. A reference
// that is not locked is an error (run lock first); one whose digest in the
// file disagrees with the lock, or that comes from an ARG, is left alone
// and reported.
func Pin(refs []dockerfile.Reference, f *lock.File, lockName string) ([]PinResult, error) {
	var missing []Problem
	for _, r := range refs {
		if pinnable(r) {
			if _, ok := f.Lookup(r.Image.Repo, r.Image.Tag); !ok {
				missing = append(missing, Problem{r.File, r.Line, fmt.Sprintf(
					"%s is not in %s; run 'imglock lock' first", r.Written, lockName)})
			}
		}
	}
	if len(missing) > 0 {
		return nil, &VerifyError{Problems: missing}
	}
	return rewriteFiles(refs, func(r dockerfile.Reference) (string, *Problem) {
		if !pinnable(r) {
			return "", skipReason(r)
		}
		locked, _ := f.Lookup(r.Image.Repo, r.Image.Tag)
		switch r.Image.Digest {
		case locked:
			return "", nil // already pinned to the lock's digest
		case "":
			return withTag(r) + "@" + locked, nil
		}
		return "", &Problem{r.File, r.Line, fmt.Sprintf(
			"%s is pinned to %s in the file but to %s in %s; left as it is", tagText(r), r.Image.Digest, locked, lockName)}
	})
}

// Unpin strips digests from the Dockerfiles' references, first recording in
// the lock at lockPath the digest of each tag it does not have yet, so that
// moving from in-file pins to images.lock keeps the same bytes. A digest
// that disagrees with the lock is left in its file and reported.
func Unpin(refs []dockerfile.Reference, lockPath string) ([]PinResult, error) {
	// By reference, not by line: the mounts of one RUN share a line.
	conflicts := map[refKey]*Problem{}
	_, err := lock.Update(lockPath, func(f *lock.File) error {
		for _, r := range refs {
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
				conflicts[keyOfRef(r)] = &Problem{r.File, r.Line, fmt.Sprintf(
					"%s is pinned to %s in the file but to %s in %s; left as it is", tagText(r), r.Image.Digest, locked, lockPath)}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rewriteFiles(refs, func(r dockerfile.Reference) (string, *Problem) {
		if !unpinnable(r) {
			return "", nil
		}
		if p := conflicts[keyOfRef(r)]; p != nil {
			return "", p
		}
		return tagText(r), nil
	})
}

// refKey tells the references of a file apart: two references with the
// same key are the same text at the same place, and get the same answer.
type refKey struct {
	file    string
	line    int
	kind    dockerfile.Kind
	written string
}

func keyOfRef(r dockerfile.Reference) refKey { return refKey{r.File, r.Line, r.Kind, r.Written} }

// unpinnable: a literal reference written with both a tag and a digest.
func unpinnable(r dockerfile.Reference) bool {
	return r.Image.Digest != "" && r.Image.Tag != "" && r.Written == r.Expanded
}

// pinnable: a literal reference with a tag; an ARG-built one would need
// its ARG default rewritten, and the syntax directive goes pinned through
// BUILDKIT_SYNTAX at build time.
func pinnable(r dockerfile.Reference) bool {
	return r.Image.Tag != "" && r.Written == r.Expanded && r.Kind != dockerfile.KindSyntax
}

func skipReason(r dockerfile.Reference) *Problem {
	switch {
	case r.Image.Tag == "":
		return nil // digest only: already pinned
	case r.Kind == dockerfile.KindSyntax:
		return nil // pinned at build time through BUILDKIT_SYNTAX
	}
	return &Problem{r.File, r.Line, fmt.Sprintf("%s comes from ARG %s; pin it at build time with 'imglock build'", r.Written, strings.Join(r.Args, ", "))}
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

// rewriteFiles rewrites each Dockerfile with the replacement that with
// gives for its references ("" leaves one as it is) and writes the files
// that change, atomically with their permissions.
func rewriteFiles(refs []dockerfile.Reference, with func(dockerfile.Reference) (string, *Problem)) ([]PinResult, error) {
	var order []string
	byFile := map[string][]dockerfile.Reference{}
	for _, r := range refs {
		if _, ok := byFile[r.File]; !ok {
			order = append(order, r.File)
		}
		byFile[r.File] = append(byFile[r.File], r)
	}
	var results []PinResult
	for _, file := range order {
		res := PinResult{File: file}
		var reps []dockerfile.Replacement
		for _, r := range byFile[file] {
			text, skip := with(r)
			if skip != nil {
				res.Skipped = append(res.Skipped, *skip)
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
			out, err := dockerfile.Rewrite(file, data, reps)
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
