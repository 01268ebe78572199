package project

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/imglock/imglock/internal/config"
	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/lock"
)

// tagKey identifies one locked tag.
type tagKey struct{ Repo, Tag string }

func keyOf(r imageref.Ref) tagKey { return tagKey{r.Repo, r.Tag} }

// Verify compares the references with the lock, offline, and returns every
// problem, in file and line order: the Dockerfiles' own problems,
// references missing from the lock, in-file digests that disagree with it,
// entries no Dockerfile uses, and a lock that is not in canonical form.
// A run about some files checks only their references.
func (p *Project) Verify() diag.List {
	var problems diag.List
	for _, d := range p.Problems {
		if p.Selected(d.File) {
			problems = append(problems, d)
		}
	}
	add := func(file string, line int, format string, args ...any) {
		problems.Add(diag.Mismatch, file, line, format, args...)
	}
	lk := p.lock
	used := map[tagKey]bool{}
	wanted := wantedPlatforms(p.Refs)
	conflicts := p.pinConflicts()
	type platformKey struct {
		tagKey
		platform string
	}
	reported := map[platformKey]bool{} // a missing platform line is reported once, where first wanted
	for _, r := range p.Refs {
		if r.Image.Tag == "" {
			continue // pinned by digest alone: nothing to lock
		}
		k := keyOf(r.Image)
		used[k] = true
		if !p.Selected(r.File) {
			continue
		}
		locked, ok := lk.Lookup(k.Repo, k.Tag)
		switch {
		case !ok && !r.Default && r.SelectsStage:
			// moby's FROM containerutil-windows-${TARGETARCH}: a stage on
			// some platforms, on this one an image that lock leaves out
			// when the registry does not have it.
			problems.Add(diag.Warning, r.File, r.Line, "%s is not in %s: here FROM names an image, not a stage, pulled only by %s on %s; 'imglock lock' locks it if the registry has it",
				display(r), p.LockName, targetList(r.Targets), strings.Join(r.Platforms, ", "))
		case !ok:
			add(r.File, r.Line, "%s is not in %s; run 'imglock lock' to add it%s", display(r), p.LockName, nearStage(r))
		case r.Image.Digest != "" && r.Image.Digest != locked:
			fix := "correct the file, or run 'imglock lock' to take the file's digest"
			if where := p.pinnedWhere(r); where != "in the file" {
				fix = "change it there, or run 'imglock lock' to take its digest"
			}
			if c := conflicts[k]; c != "" {
				fix = c
			}
			add(r.File, r.Line, "%s is pinned to %s %s but to %s in %s; %s",
				displayTag(r), r.Image.Digest, p.pinnedWhere(r), locked, p.LockName, fix)
		default:
			for _, pl := range r.Platforms {
				pk := platformKey{k, pl}
				if !reported[pk] && !hasPlatform(lk, k, pl) {
					reported[pk] = true
					add(r.File, r.Line, "%s has no %s line in %s; run 'imglock lock' to add it", displayTag(r), pl, p.LockName)
				}
			}
		}
	}
	// Which entries are unused is known only from every Dockerfile's
	// references: not in a run about some files, nor when one did not read.
	if !p.Narrowed() && p.complete() {
		for _, e := range lk.Entries() {
			k := tagKey{e.Repo, e.Tag}
			switch {
			case !used[k] && e.Platform == "":
				add(p.LockName, lk.Line(e), "%s:%s is not used by any Dockerfile; run 'imglock lock' to drop it", e.Repo, e.Tag)
			case used[k] && e.Platform != "" && !slices.Contains(wanted[k], e.Platform):
				add(p.LockName, lk.Line(e), "%s %s is for a platform not configured or named by a FROM --platform; run 'imglock lock' to drop it", e.Repo, e.Key())
			}
		}
	}
	if p.lockData != nil && !lk.Canonical(p.lockData) {
		add(p.LockName, firstDifference(p.lockData, lk.Format()),
			"%s is not in canonical form (sorted, one space between fields, canonical names, LF, final newline); run 'imglock lock' to rewrite it", p.LockName)
	}
	problems.Sort()
	return problems
}

// Verified is how many references a clean Verify vouches for: those of the
// files the run is about.
func (p *Project) Verified() int { return len(p.selectedRefs()) }

// pinnedWhere says where a reference's digest comes from: the file, or a
// build arg (the command line's or imglock.toml's) through an ARG.
func (p *Project) pinnedWhere(r dockerfile.Reference) string {
	if strings.Contains(r.Written, "@") || len(r.Args) == 0 {
		return "in the file"
	}
	if len(r.BuildArgs) == 0 {
		return "by the default of ARG " + strings.Join(r.Args, ", ")
	}
	from := "--build-arg"
	if p.Config.File != "" {
		from += " or " + config.FileName
	}
	return fmt.Sprintf("by build arg %s (%s)", strings.Join(r.BuildArgs, ", "), from)
}

// pinConflicts says, for each tag that Dockerfiles pin to different
// digests, every place and digest: one tag has one digest in the lock, so
// they must agree before lock can take one.
func (p *Project) pinConflicts() map[tagKey]string {
	digests := map[tagKey]map[string][]string{}
	for _, r := range p.Refs {
		if r.Image.Tag == "" || r.Image.Digest == "" {
			continue
		}
		k := keyOf(r.Image)
		if digests[k] == nil {
			digests[k] = map[string][]string{}
		}
		digests[k][r.Image.Digest] = append(digests[k][r.Image.Digest], fmt.Sprintf("%s:%d", r.File, r.Line))
	}
	out := map[tagKey]string{}
	for k, byDigest := range digests {
		if len(byDigest) < 2 {
			continue
		}
		var parts []string
		for _, d := range slices.Sorted(maps.Keys(byDigest)) {
			parts = append(parts, strings.Join(byDigest[d], ", ")+" pin "+d)
		}
		out[k] = "make them agree (" + strings.Join(parts, "; ") + "), then run 'imglock lock'"
	}
	return out
}

// nearStage is a hint when a reference names an image close to a stage.
func nearStage(r dockerfile.Reference) string {
	if r.Near == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean stage %s?)", r.Near)
}

// targetList names targets for messages.
func targetList(targets []string) string {
	var names []string
	for _, t := range targets {
		if t == "" {
			t = "the default target"
		} else {
			t = "target " + t
		}
		names = append(names, t)
	}
	return strings.Join(names, ", ")
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
