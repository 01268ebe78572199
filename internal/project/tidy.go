package project

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/lock"
)

// Change is one line of the lock that a run added, removed or moved.
type Change struct {
	Repo string
	Key  string // field 2 of the line: TAG or TAG/OS/ARCH[/VARIANT]
	Old  string // digest before; "" when added
	New  string // digest after; "" when removed
}

// TidyResult says what Tidy did.
type TidyResult struct {
	Changes  []Change
	Resolved int       // tags (or digests, for platforms) asked of registries
	Warnings diag.List // images left out: only targets other than the default pull them, and the registry does not have them
}

// want is what the lock must hold for one tag.
type want struct {
	platforms []string // per-platform lines wanted, sorted
	pinned    string   // digest written in a Dockerfile, "" if none
}

// Tidy brings the lock in line with the references, like `go mod tidy`:
// tags not yet locked are resolved (or taken from a digest written in the
// file, with no request), entries no reference uses are dropped, and each
// kept tag gets a line for every platform wanted (those configured, and the
// --platform of a FROM). A platform line of a locked tag is read from the
// locked digest, never from the tag, so adding a platform never moves a
// pin. The resolver is only created when something must be asked of a
// registry, so an up-to-date tree makes no network request. The file is
// written only when it changes, atomically; on any error it is left
// exactly as it was.
//
// A run about some files adds what those files use and keeps every entry
// another Dockerfile uses; entries are dropped only when every Dockerfile
// was read, so that none is taken for unused by mistake.
func (p *Project) Tidy(ctx context.Context) (TidyResult, error) {
	if failures := p.Failures(); len(failures) > 0 {
		return TidyResult{}, failures
	}
	wanted, err := p.wantedTags()
	if err != nil {
		return TidyResult{}, err
	}
	ensure := map[tagKey]*want{}
	var reqs []resolve.Request
	for _, k := range sortedTags(wanted) {
		if !p.usedBySelected(k) {
			continue
		}
		ensure[k] = wanted[k]
		if req, ok := request(k, wanted[k], p.lock); ok {
			reqs = append(reqs, req)
		}
	}
	resolved, leftOut, err := p.resolveTags(ctx, reqs)
	if err != nil {
		return TidyResult{}, err
	}
	for _, d := range leftOut {
		delete(ensure, d.tag)
	}
	changes, err := p.apply(ensure, wanted, resolved, p.complete(), true)
	return TidyResult{Changes: changes, Resolved: len(reqs), Warnings: leftOut.list()}, err
}

// usedBySelected reports whether a reference of the files the run is about
// uses tag k.
func (p *Project) usedBySelected(k tagKey) bool {
	for _, r := range p.Refs {
		if r.Image.Tag != "" && keyOf(r.Image) == k && p.Selected(r.File) {
			return true
		}
	}
	return false
}

// leftOut is a tag Tidy does not lock, and why.
type leftOut struct {
	tag tagKey
	why *diag.Diagnostic
}

type leftOuts []leftOut

func (l leftOuts) list() diag.List {
	var out diag.List
	for _, x := range l {
		out = append(out, x.why)
	}
	return out
}

// resolveTags asks the registries reqs, creating the resolver only when
// there is something to ask. A tag the registry does not have, or that
// lacks a platform wanted, is bad input at the first line that uses it,
// with the Dockerfile's stages when the name may have meant one; when only
// targets other than the default pull it, it is left out with a warning
// instead (that target could not build either). Other failures are the
// registry's.
func (p *Project) resolveTags(ctx context.Context, reqs []resolve.Request) (map[tagKey]resolve.Result, leftOuts, error) {
	resolved := map[tagKey]resolve.Result{}
	if len(reqs) == 0 {
		return resolved, nil, nil
	}
	res, err := p.resolver()
	if err != nil {
		return nil, nil, err
	}
	results, err := res.Resolve(ctx, reqs)
	for _, r := range results {
		resolved[keyOf(r.Ref)] = r
	}
	if err == nil {
		return resolved, nil, nil
	}
	failures := resolve.Failures(err)
	if len(failures) == 0 {
		return nil, nil, err
	}
	var bad diag.List
	var others []error
	var out leftOuts
	for _, ref := range slices.Sorted(maps.Keys(failures)) {
		f := failures[ref]
		img, perr := imageref.Parse(ref)
		users := p.usersOf(keyOf(img))
		if perr != nil || f.DiagKind() != diag.Input || len(users) == 0 {
			others = append(others, f)
			continue
		}
		r := users[0]
		if !anyDefault(users) {
			out = append(out, leftOut{keyOf(img), diag.New(diag.Warning, r.File, r.Line,
				"%v%s; pulled only by %s, it is left out of %s", f.Err, writtenAs(r), targetList(r.Targets), p.LockName)})
			continue
		}
		for _, u := range users {
			if u.Default {
				r = u
				break
			}
		}
		bad.Add(diag.Input, r.File, r.Line, "%v%s%s", f.Err, writtenAs(r), p.stageHint(r))
	}
	if len(bad) > 0 || len(others) > 0 {
		return nil, nil, errors.Join(append([]error{bad.Err()}, others...)...)
	}
	return resolved, out, nil
}

// writtenAs says how a reference built from ARGs is written, for messages
// whose subject is what it expanded to.
func writtenAs(r dockerfile.Reference) string {
	if r.Written == r.Expanded {
		return ""
	}
	return " (written " + r.Written + ")"
}

// usersOf returns the references that use tag k, in file order.
func (p *Project) usersOf(k tagKey) []dockerfile.Reference {
	var out []dockerfile.Reference
	for _, r := range p.Refs {
		if r.Image.Tag != "" && keyOf(r.Image) == k {
			out = append(out, r)
		}
	}
	return out
}

func anyDefault(refs []dockerfile.Reference) bool {
	return slices.ContainsFunc(refs, func(r dockerfile.Reference) bool { return r.Default })
}

// stageHint names the Dockerfile's stages, closest first, for an image the
// registry does not have: the name may have been meant for one of them
// (docker/compose's COPY --from=set, where the stage is license-set).
func (p *Project) stageHint(r dockerfile.Reference) string {
	var stages []string
	for _, s := range p.stages[r.File] {
		if s != "" {
			stages = append(stages, s)
		}
	}
	// Only a bare name (builder, set) may have been meant for a stage.
	if len(stages) == 0 || r.Kind == dockerfile.KindSyntax || r.Near == "" && strings.ContainsAny(r.Expanded, "/:@") {
		return ""
	}
	name := r.Expanded
	if i := strings.LastIndexAny(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	name, _, _ = strings.Cut(name, ":")
	hint := "; is it meant to be a stage? the stages of this Dockerfile: " + strings.Join(diag.Nearest(name, stages), ", ")
	if r.Near != "" {
		hint = fmt.Sprintf("; did you mean stage %s? the stages of this Dockerfile: %s", r.Near, strings.Join(diag.Nearest(name, stages), ", "))
	}
	return hint
}

// apply brings the tags in ensure to what was resolved for them (or to
// what the lock or a Dockerfile already says), drops entries of tags not in
// keep when prune is set, and returns the lines that change, sorted. It plans on
// a copy of the lock the project read; with write set, and something to
// change, it applies the same edit to the lock on disk, re-read under its
// file lock, so that a concurrent run's changes are merged, not lost.
func (p *Project) apply(ensure, keep map[tagKey]*want, resolved map[tagKey]resolve.Result, prune, write bool) ([]Change, error) {
	var changes []Change
	edit := func(f *lock.File) error {
		changes = nil
		for _, k := range sortedTags(ensure) {
			c, err := applyTag(f, k, ensure[k], resolved)
			if err != nil {
				return fmt.Errorf("%s: %w", p.LockName, err)
			}
			changes = append(changes, c...)
		}
		if prune {
			for _, e := range f.Prune(func(repo, tag string) bool { return keep[tagKey{repo, tag}] != nil }) {
				changes = append(changes, Change{Repo: e.Repo, Key: e.Key(), Old: e.Digest})
			}
		}
		return nil
	}
	err := edit(p.lock.Clone())
	canonical := p.lockData == nil || p.lock.Canonical(p.lockData)
	if err == nil && write && (len(changes) > 0 || !canonical) {
		_, err = p.store.Update(edit)
	}
	if err != nil {
		return nil, err
	}
	slices.SortFunc(changes, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Repo, b.Repo), cmp.Compare(a.Key, b.Key))
	})
	return changes, nil
}

// request says what, if anything, must be asked of a registry for k.
func request(k tagKey, w *want, f *lock.File) (resolve.Request, bool) {
	ref := imageref.Ref{Repo: k.Repo, Tag: k.Tag}
	locked, ok := f.Lookup(k.Repo, k.Tag)
	switch {
	case w.pinned != "" && (!ok || locked != w.pinned):
		if len(w.platforms) == 0 {
			return resolve.Request{}, false // the file's digest is the answer
		}
		return resolve.Request{Ref: ref.WithDigest(w.pinned), Platforms: w.platforms}, true
	case ok:
		have := platformDigests(f, k)
		for _, p := range w.platforms {
			if have[p] == "" {
				return resolve.Request{Ref: ref.WithDigest(locked), Platforms: w.platforms}, true
			}
		}
		return resolve.Request{}, false
	default:
		return resolve.Request{Ref: ref, Platforms: w.platforms}, true
	}
}

// applyTag makes f hold exactly what w wants for k and returns the lines it
// changed.
func applyTag(f *lock.File, k tagKey, w *want, resolved map[tagKey]resolve.Result) ([]Change, error) {
	oldDigest, had := f.Lookup(k.Repo, k.Tag)
	oldPlatforms := platformDigests(f, k)
	res, asked := resolved[k]

	digest := w.pinned
	switch {
	case digest != "":
	case asked:
		digest = res.Digest
	case had:
		digest = oldDigest
	default:
		// Another run dropped it between our read and this write.
		return nil, fmt.Errorf("changed during this run; run 'imglock lock' again")
	}
	newPlatforms := map[string]string{}
	for _, p := range w.platforms {
		switch {
		case asked && res.Platforms[p] != "":
			newPlatforms[p] = res.Platforms[p]
		case digest == oldDigest && oldPlatforms[p] != "":
			newPlatforms[p] = oldPlatforms[p]
		default:
			return nil, fmt.Errorf("changed during this run; run 'imglock lock' again")
		}
	}
	if had && digest == oldDigest && maps.Equal(oldPlatforms, newPlatforms) {
		return nil, nil
	}

	f.Delete(k.Repo, k.Tag)
	if err := f.Set(lock.Entry{Repo: k.Repo, Tag: k.Tag, Digest: digest}); err != nil {
		return nil, err
	}
	var changes []Change
	if digest != oldDigest {
		changes = append(changes, Change{Repo: k.Repo, Key: k.Tag, Old: oldDigest, New: digest})
	}
	for _, p := range slices.Sorted(maps.Keys(newPlatforms)) {
		if err := f.Set(lock.Entry{Repo: k.Repo, Tag: k.Tag, Platform: p, Digest: newPlatforms[p]}); err != nil {
			return nil, err
		}
		if oldPlatforms[p] != newPlatforms[p] {
			changes = append(changes, Change{Repo: k.Repo, Key: k.Tag + "/" + p, Old: oldPlatforms[p], New: newPlatforms[p]})
		}
	}
	for _, p := range slices.Sorted(maps.Keys(oldPlatforms)) {
		if _, kept := newPlatforms[p]; !kept {
			changes = append(changes, Change{Repo: k.Repo, Key: k.Tag + "/" + p, Old: oldPlatforms[p]})
		}
	}
	return changes, nil
}

func platformDigests(f *lock.File, k tagKey) map[string]string {
	out := map[string]string{}
	for _, e := range f.Platforms(k.Repo, k.Tag) {
		out[e.Platform] = e.Digest
	}
	return out
}

// wantedTags returns what the lock must hold for each tag the references
// use. Two files that pin one tag to different digests are a difference the
// user must settle.
func (p *Project) wantedTags() (map[tagKey]*want, error) {
	wanted := map[tagKey]*want{}
	for k, ps := range wantedPlatforms(p.Refs) {
		wanted[k] = &want{platforms: ps}
	}
	pinnedAt := map[tagKey]dockerfile.Reference{}
	var problems diag.List
	for _, r := range p.Refs {
		if r.Image.Tag == "" || r.Image.Digest == "" {
			continue
		}
		k := keyOf(r.Image)
		w := wanted[k]
		if first, ok := pinnedAt[k]; ok && w.pinned != r.Image.Digest {
			problems.Add(diag.Mismatch, r.File, r.Line, "%s is pinned to %s here but to %s at %s:%d; one tag has one digest in %s",
				displayTag(r), r.Image.Digest, w.pinned, first.File, first.Line, p.LockName)
			continue
		}
		w.pinned = r.Image.Digest
		pinnedAt[k] = r
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return wanted, nil
}

// wantedPlatforms returns, for each tag refs use, the platforms whose
// manifest digests the lock records, sorted.
func wantedPlatforms(refs []dockerfile.Reference) map[tagKey][]string {
	out := map[tagKey][]string{}
	for _, r := range refs {
		if r.Image.Tag == "" {
			continue
		}
		k := keyOf(r.Image)
		ps := out[k]
		for _, pl := range r.Platforms {
			if !slices.Contains(ps, pl) {
				ps = append(ps, pl)
			}
		}
		out[k] = ps
	}
	for _, ps := range out {
		slices.Sort(ps)
	}
	return out
}

// sortedTags returns the keys of m in lock order.
func sortedTags[V any](m map[tagKey]V) []tagKey {
	return slices.SortedFunc(maps.Keys(m), func(a, b tagKey) int {
		return cmp.Or(cmp.Compare(a.Repo, b.Repo), cmp.Compare(a.Tag, b.Tag))
	})
}
