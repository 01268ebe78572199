package project

import (
	"fmt"
	"slices"
	"strings"

	"github.com/imglock/imglock/internal/diag"

	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/lock"
)

// tagKey identifies one locked tag.
type tagKey struct{ Repo, Tag string }

func keyOf(r imageref.Ref) tagKey { return tagKey{r.Repo, r.Tag} }

// Verify compares the references with the lock, offline, and returns every
// problem, in file and line order: references missing from the lock,
// in-file digests that disagree with it, entries no Dockerfile uses, and a
// lock that is not in canonical form.
func (p *Project) Verify() diag.List {
	var problems diag.List
	add := func(file string, line int, format string, args ...any) {
		problems.Add(diag.Mismatch, file, line, format, args...)
	}
	refs, platforms, lk := p.Refs, p.Config.Platforms, p.lock
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
		locked, ok := lk.Lookup(k.Repo, k.Tag)
		switch {
		case !ok:
			add(r.File, r.Line, "%s is not in %s; run 'imglock lock' to add it", display(r), p.LockName)
		case r.Image.Digest != "" && r.Image.Digest != locked:
			add(r.File, r.Line, "%s is pinned to %s in the file but to %s in %s; correct the file, or run 'imglock lock' to take the file's digest",
				displayTag(r), r.Image.Digest, locked, p.LockName)
		default:
			ps := platforms
			if pl := concretePlatform(r); pl != "" {
				ps = append(slices.Clip(ps), pl)
			}
			for _, pl := range ps {
				pk := platformKey{k, pl}
				if !reported[pk] && !hasPlatform(lk, k, pl) {
					reported[pk] = true
					add(r.File, r.Line, "%s has no %s line in %s; run 'imglock lock' to add it", displayTag(r), pl, p.LockName)
				}
			}
		}
	}
	for _, e := range lk.Entries() {
		k := tagKey{e.Repo, e.Tag}
		switch {
		case !used[k] && e.Platform == "":
			add(p.LockName, lk.Line(e), "%s:%s is not used by any Dockerfile; run 'imglock lock' to drop it", e.Repo, e.Tag)
		case used[k] && e.Platform != "" && !slices.Contains(wanted[k], e.Platform):
			add(p.LockName, lk.Line(e), "%s %s is for a platform not configured or named by a FROM --platform; run 'imglock lock' to drop it", e.Repo, e.Key())
		}
	}
	if p.lockData != nil && !lk.Canonical(p.lockData) {
		add(p.LockName, firstDifference(p.lockData, lk.Format()),
			"%s is not in canonical form (sorted, one space between fields, canonical names, LF, final newline); run 'imglock lock' to rewrite it", p.LockName)
	}
	problems.Sort()
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
