package project

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/lock"
)

// Problem is one disagreement between the Dockerfiles and the lock.
type Problem struct {
	File string
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// VerifyError reports every problem found; it is the "difference found"
// outcome, distinct from bad input.
type VerifyError struct{ Problems []Problem }

func (e *VerifyError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// tagKey identifies one locked tag.
type tagKey struct{ Repo, Tag string }

func keyOf(r imageref.Ref) tagKey { return tagKey{r.Repo, r.Tag} }

// Lock describes the lock file being checked.
type Lock struct {
	Name string // as shown in messages, e.g. images.lock
	File *lock.File
	Data []byte // the bytes on disk (nil when there is no file)
}

// Verify compares refs with the lock offline and returns every problem, in
// file and line order: references missing from the lock, in-file digests
// that disagree with it, entries no Dockerfile uses, and a lock that is not
// in canonical form.
func Verify(refs []dockerfile.Reference, platforms []string, lk Lock) []Problem {
	var problems []Problem
	used := map[tagKey]bool{}
	wanted := wantedPlatforms(refs, platforms)
	type platformKey struct {
		tagKey
		platform string
	}
	reported := map[platformKey]bool{} // a missing platform line is reported once, where first wanted
	for _, r := range refs {
		if r.Image.Tag == "" {
			continue // pinned by digest alone: nothing to lock
		}
		k := keyOf(r.Image)
		used[k] = true
		locked, ok := lk.File.Lookup(k.Repo, k.Tag)
		switch {
		case !ok:
			problems = append(problems, Problem{r.File, r.Line, fmt.Sprintf(
				"%s is not in %s; run 'imglock lock' to add it", display(r), lk.Name)})
		case r.Image.Digest != "" && r.Image.Digest != locked:
			problems = append(problems, Problem{r.File, r.Line, fmt.Sprintf(
				"%s is pinned to %s in the file but to %s in %s; correct the file, or run 'imglock lock' to take the file's digest",
				displayTag(r), r.Image.Digest, locked, lk.Name)})
		default:
			ps := platforms
			if p := concretePlatform(r); p != "" {
				ps = append(slices.Clip(ps), p)
			}
			for _, p := range ps {
				pk := platformKey{k, p}
				if !reported[pk] && !hasPlatform(lk.File, k, p) {
					reported[pk] = true
					problems = append(problems, Problem{r.File, r.Line, fmt.Sprintf(
						"%s has no %s line in %s; run 'imglock lock' to add it", displayTag(r), p, lk.Name)})
				}
			}
		}
	}
	for _, e := range lk.File.Entries() {
		k := tagKey{e.Repo, e.Tag}
		switch {
		case !used[k] && e.Platform == "":
			problems = append(problems, Problem{lk.Name, lk.File.Line(e), fmt.Sprintf(
				"%s:%s is not used by any Dockerfile; run 'imglock lock' to drop it", e.Repo, e.Tag)})
		case used[k] && e.Platform != "" && !slices.Contains(wanted[k], e.Platform):
			problems = append(problems, Problem{lk.Name, lk.File.Line(e), fmt.Sprintf(
				"%s %s is for a platform not configured or named by a FROM --platform; run 'imglock lock' to drop it", e.Repo, e.Key())})
		}
	}
	if lk.Data != nil && !lk.File.Canonical(lk.Data) {
		problems = append(problems, Problem{lk.Name, firstDifference(lk.Data, lk.File.Format()), fmt.Sprintf(
			"%s is not in canonical form (sorted, one space between fields, canonical names, LF, final newline); run 'imglock lock' to rewrite it", lk.Name)})
	}
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].File != problems[j].File {
			return problems[i].File < problems[j].File
		}
		return problems[i].Line < problems[j].Line
	})
	return problems
}

func hasPlatform(f *lock.File, k tagKey, platform string) bool {
	for _, e := range f.Platforms(k.Repo, k.Tag) {
		if e.Platform == platform {
			return true
		}
	}
	return false
}

// display is a reference as the user wrote it, with what it expanded to when
// that differs.
func display(r dockerfile.Reference) string {
	if r.Written != r.Expanded {
		return fmt.Sprintf("%s (%s)", r.Expanded, r.Written)
	}
	return r.Expanded
}

// displayTag is display without the digest, for messages that name it apart.
func displayTag(r dockerfile.Reference) string {
	name, _, _ := strings.Cut(r.Expanded, "@")
	return name
}

// firstDifference is the 1-based line where got first differs from want.
func firstDifference(got, want []byte) int {
	g := strings.SplitAfter(string(got), "\n")
	w := strings.SplitAfter(string(want), "\n")
	for i := range g {
		if i >= len(w) || g[i] != w[i] {
			return i + 1
		}
	}
	return len(g)
}
