package project

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

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

// Tidy brings the lock at path in line with refs, like `go mod tidy`: tags
// not yet locked are resolved (or taken from a digest written in the file,
// with no request), entries no reference uses are dropped, and each kept tag
// gets a line for every platform wanted (those named in platforms, and the
// --platform of a FROM). A platform line of a locked tag is read from the
// locked digest, never from the tag, so adding a platform never moves a pin.
// The resolver is only created when something must be asked of a registry,
// so an up-to-date tree makes no network request. The file is written only
// when it changes, atomically; on any error it is left exactly as it was.
func Tidy(ctx context.Context, refs []dockerfile.Reference, platforms []string, path string, newResolver func() (resolve.Resolver, error)) (TidyResult, error) {
	wanted, err := wantedTags(refs, platforms, path)
	if err != nil {
		return TidyResult{}, err
	}
	return rewrite(ctx, path, wanted, request, true, true, newResolver)
}

// rewrite brings the tags in wanted to what plan asks of the registries,
// drops entries no wanted tag uses when prune is set, and writes the lock
// when write is set (otherwise it only reports what would change).
func rewrite(ctx context.Context, path string, wanted map[tagKey]*want,
	plan func(tagKey, *want, *lock.File) (resolve.Request, bool),
	prune, write bool, newResolver func() (resolve.Resolver, error)) (TidyResult, error) {
	current, _, err := lock.ReadFile(path)
	if err != nil {
		return TidyResult{}, err
	}

	var reqs []resolve.Request
	for _, k := range sortedKeys(wanted) {
		if req, ok := plan(k, wanted[k], current); ok {
			reqs = append(reqs, req)
		}
	}
	resolved := map[tagKey]resolve.Result{}
	if len(reqs) > 0 {
		res, err := newResolver()
		if err != nil {
			return TidyResult{}, err
		}
		results, err := res.Resolve(ctx, reqs)
		if err != nil {
			return TidyResult{}, err
		}
		for _, r := range results {
			resolved[keyOf(r.Ref)] = r
		}
	}

	result := TidyResult{Resolved: len(reqs)}
	edit := func(f *lock.File) error {
		result.Changes = nil
		for _, k := range sortedKeys(wanted) {
			changes, err := apply(f, k, wanted[k], resolved)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			result.Changes = append(result.Changes, changes...)
		}
		if prune {
			for _, e := range f.Prune(func(repo, tag string) bool { return wanted[tagKey{repo, tag}] != nil }) {
				result.Changes = append(result.Changes, Change{Repo: e.Repo, Key: e.Key(), Old: e.Digest})
			}
		}
		return nil
	}
	if write {
		_, err = lock.Update(path, edit)
	} else {
		err = edit(current.Clone())
	}
	if err != nil {
		return TidyResult{}, err
	}
	sort.Slice(result.Changes, func(i, j int) bool {
		a, b := result.Changes[i], result.Changes[j]
		if a.Repo != b.Repo {
			return a.Repo < b.Repo
		}
		return a.Key < b.Key
	})
	return result, nil
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

// apply makes f hold exactly what w wants for k and returns the lines it
// changed.
func apply(f *lock.File, k tagKey, w *want, resolved map[tagKey]resolve.Result) ([]Change, error) {
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

// wantedTags returns what the lock must hold for each tag refs use. Two
// files that pin one tag to different digests are a difference the user
// must settle.
func wantedTags(refs []dockerfile.Reference, platforms []string, lockName string) (map[tagKey]*want, error) {
	wanted := map[tagKey]*want{}
	for k, ps := range wantedPlatforms(refs, platforms) {
		wanted[k] = &want{platforms: ps}
	}
	pinnedAt := map[tagKey]dockerfile.Reference{}
	var problems []Problem
	for _, r := range refs {
		if r.Image.Tag == "" || r.Image.Digest == "" {
			continue
		}
		k := keyOf(r.Image)
		w := wanted[k]
		if first, ok := pinnedAt[k]; ok && w.pinned != r.Image.Digest {
			problems = append(problems, Problem{r.File, r.Line, fmt.Sprintf(
				"%s is pinned to %s here but to %s at %s:%d; one tag has one digest in %s",
				displayTag(r), r.Image.Digest, w.pinned, first.File, first.Line, lockName)})
			continue
		}
		w.pinned = r.Image.Digest
		pinnedAt[k] = r
	}
	if len(problems) > 0 {
		return nil, &VerifyError{Problems: problems}
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

func sortedKeys[V any](m map[tagKey]V) []tagKey {
	keys := slices.Collect(maps.Keys(m))
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Repo != keys[j].Repo {
			return keys[i].Repo < keys[j].Repo
		}
		return keys[i].Tag < keys[j].Tag
	})
	return keys
}
