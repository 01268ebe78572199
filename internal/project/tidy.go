package project

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
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
	Resolved int // tags (or digests, for platforms) asked of registries
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
func (p *Project) Tidy(ctx context.Context) (TidyResult, error) {
	wanted, err := p.wantedTags()
	if err != nil {
		return TidyResult{}, err
	}
	var reqs []resolve.Request
	for _, k := range sortedTags(wanted) {
		if req, ok := request(k, wanted[k], p.lock); ok {
			reqs = append(reqs, req)
		}
	}
	resolved, err := p.resolveTags(ctx, reqs)
	if err != nil {
		return TidyResult{}, err
	}
	changes, err := p.apply(wanted, resolved, true, true)
	return TidyResult{Changes: changes, Resolved: len(reqs)}, err
}

// resolveTags asks the registries reqs, creating the resolver only when
// there is something to ask.
func (p *Project) resolveTags(ctx context.Context, reqs []resolve.Request) (map[tagKey]resolve.Result, error) {
	resolved := map[tagKey]resolve.Result{}
	if len(reqs) == 0 {
		return resolved, nil
	}
	res, err := p.resolver()
	if err != nil {
		return nil, err
	}
	results, err := res.Resolve(ctx, reqs)
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		resolved[keyOf(r.Ref)] = r
	}
	return resolved, nil
}

// apply brings the tags in wanted to what was resolved for them (or to what
// the lock or a Dockerfile already says), drops entries no wanted tag uses
// when prune is set, and returns the lines that change, sorted. It plans on
// a copy of the lock the project read; with write set, and something to
// change, it applies the same edit to the lock on disk, re-read under its
// file lock, so that a concurrent run's changes are merged, not lost.
func (p *Project) apply(wanted map[tagKey]*want, resolved map[tagKey]resolve.Result, prune, write bool) ([]Change, error) {
	var changes []Change
	edit := func(f *lock.File) error {
		changes = nil
		for _, k := range sortedTags(wanted) {
			c, err := applyTag(f, k, wanted[k], resolved)
			if err != nil {
				return fmt.Errorf("%s: %w", p.LockName, err)
			}
			changes = append(changes, c...)
		}
		if prune {
			for _, e := range f.Prune(func(repo, tag string) bool { return wanted[tagKey{repo, tag}] != nil }) {
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
	for k, ps := range wantedPlatforms(p.Refs, p.Config.Platforms) {
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
// manifest digests the lock records: the configured ones and the
// --platform of each FROM that uses the tag, sorted.
func wantedPlatforms(refs []dockerfile.Reference, platforms []string) map[tagKey][]string {
	out := map[tagKey][]string{}
	for _, r := range refs {
		if r.Image.Tag == "" {
			continue
		}
		k := keyOf(r.Image)
		ps, ok := out[k]
		if !ok {
			ps = slices.Clone(platforms)
		}
		if p := concretePlatform(r); p != "" && !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
		out[k] = ps
	}
	for _, ps := range out {
		sort.Strings(ps)
	}
	return out
}

// concretePlatform is a FROM's --platform when it names one platform, not a
// variable BuildKit fills at build time ($BUILDPLATFORM).
func concretePlatform(r dockerfile.Reference) string {
	if r.Kind != dockerfile.KindFrom || r.Platform == "" || strings.ContainsAny(r.Platform, "$,") {
		return ""
	}
	return strings.ToLower(r.Platform)
}

// sortedTags returns the keys of m in lock order.
func sortedTags[V any](m map[tagKey]V) []tagKey {
	return slices.SortedFunc(maps.Keys(m), func(a, b tagKey) int {
		return cmp.Or(cmp.Compare(a.Repo, b.Repo), cmp.Compare(a.Tag, b.Tag))
	})
}
