package project

import (
	"context"
	"fmt"
	"sort"

	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/lock"
)

// Change is one line of the lock that a run added, removed or moved.
type Change struct {
	Repo, Tag string
	Old, New  string // digests; Old "" when added, New "" when removed
}

// TidyResult says what Tidy did.
type TidyResult struct {
	Changes  []Change
	Resolved int // tags resolved over the network
}

// Tidy brings the lock at path in line with refs, like `go mod tidy`: tags
// not yet locked are resolved (or taken from a digest written in the file,
// with no request), entries no reference uses are dropped. The resolver is
// only created when something must be resolved, so an up-to-date tree makes
// no network request. The file is written only when it changes, atomically;
// on any error it is left exactly as it was.
func Tidy(ctx context.Context, refs []dockerfile.Reference, path string, newResolver func() (resolve.Resolver, error)) (TidyResult, error) {
	wanted, pinned, err := wantedTags(refs, path)
	if err != nil {
		return TidyResult{}, err
	}
	current, _, err := lock.ReadFile(path)
	if err != nil {
		return TidyResult{}, err
	}

	var missing []imageref.Ref
	for _, k := range sortedKeys(wanted) {
		if _, ok := pinned[k]; ok {
			continue
		}
		if _, ok := current.Lookup(k.Repo, k.Tag); !ok {
			missing = append(missing, imageref.Ref{Repo: k.Repo, Tag: k.Tag})
		}
	}
	resolved := map[tagKey]string{}
	if len(missing) > 0 {
		res, err := newResolver()
		if err != nil {
			return TidyResult{}, err
		}
		results, err := res.Resolve(ctx, missing)
		if err != nil {
			return TidyResult{}, err
		}
		for _, r := range results {
			resolved[keyOf(r.Ref)] = r.Digest
		}
	}

	var result TidyResult
	result.Resolved = len(missing)
	_, err = lock.Update(path, func(f *lock.File) error {
		result.Changes = nil
		for _, k := range sortedKeys(wanted) {
			old, had := f.Lookup(k.Repo, k.Tag)
			digest, ok := pinned[k]
			if !ok {
				digest, ok = resolved[k]
			}
			if !ok {
				if had {
					continue
				}
				// Another run dropped it between our read and this write.
				return fmt.Errorf("%s changed during this run; run 'imglock lock' again", path)
			}
			if had && old == digest {
				continue
			}
			// A new tag digest invalidates the per-platform lines of the old one.
			f.Delete(k.Repo, k.Tag)
			if err := f.Set(lock.Entry{Repo: k.Repo, Tag: k.Tag, Digest: digest}); err != nil {
				return err
			}
			result.Changes = append(result.Changes, Change{Repo: k.Repo, Tag: k.Tag, Old: old, New: digest})
		}
		for _, e := range f.Prune(func(repo, tag string) bool { return wanted[tagKey{repo, tag}] }) {
			if e.Platform == "" {
				result.Changes = append(result.Changes, Change{Repo: e.Repo, Tag: e.Tag, Old: e.Digest})
			}
		}
		return nil
	})
	if err != nil {
		return TidyResult{}, err
	}
	sort.Slice(result.Changes, func(i, j int) bool {
		a, b := result.Changes[i], result.Changes[j]
		if a.Repo != b.Repo {
			return a.Repo < b.Repo
		}
		return a.Tag < b.Tag
	})
	return result, nil
}

// wantedTags returns the tags refs use and the digests written for them in
// the files. Two files that pin one tag to different digests are a
// difference the user must settle.
func wantedTags(refs []dockerfile.Reference, lockName string) (map[tagKey]bool, map[tagKey]string, error) {
	wanted := map[tagKey]bool{}
	pinned := map[tagKey]string{}
	pinnedAt := map[tagKey]dockerfile.Reference{}
	var problems []Problem
	for _, r := range refs {
		if r.Image.Tag == "" {
			continue
		}
		k := keyOf(r.Image)
		wanted[k] = true
		if r.Image.Digest == "" {
			continue
		}
		if first, ok := pinnedAt[k]; ok && pinned[k] != r.Image.Digest {
			problems = append(problems, Problem{r.File, r.Line, fmt.Sprintf(
				"%s is pinned to %s here but to %s at %s:%d; one tag has one digest in %s",
				displayTag(r), r.Image.Digest, pinned[k], first.File, first.Line, lockName)})
			continue
		}
		pinned[k] = r.Image.Digest
		pinnedAt[k] = r
	}
	if len(problems) > 0 {
		return nil, nil, &VerifyError{Problems: problems}
	}
	return wanted, pinned, nil
}

func sortedKeys(m map[tagKey]bool) []tagKey {
	keys := make([]tagKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Repo != keys[j].Repo {
			return keys[i].Repo < keys[j].Repo
		}
		return keys[i].Tag < keys[j].Tag
	})
	return keys
}
