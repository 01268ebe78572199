package project

import (
	"context"
	"fmt"
	"strings"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/review"
	"github.com/imglock/imglock/lock"
)

// UpgradeResult says what Upgrade moved, what it found unchanged, and which
// tags it left alone because a Dockerfile pins their digest.
type UpgradeResult struct {
	Changes   []Change  // lines whose digest moved (platform lines move with their tag)
	Unchanged []Change  // tags asked about whose digest did not move (Old == New)
	Pinned    diag.List // notes: tags pinned in a Dockerfile, which the file decides, not upgrade
	// Reviews say what changed in each tag that moved upstream, in lock
	// order; those p.Policy holds back (Hold set) are not moved.
	Reviews []review.Review
}

// Upgrade re-resolves the locked tags (all of them, or those that names
// select) and moves their entries to the digests the tags point at now,
// with the platform lines they have. With dryRun it only reports what would
// change. It works from the lock, so a Dockerfile that does not read does
// not stop it; tags not yet locked are for Tidy.
func (p *Project) Upgrade(ctx context.Context, names []string, dryRun bool) (UpgradeResult, error) {
	selected, err := selectTags(p.Refs, p.lock, names)
	if err != nil {
		return UpgradeResult{}, err
	}
	var result UpgradeResult
	chosen := map[tagKey]*want{}
	var reqs []resolve.Request
	for _, e := range p.lock.Entries() {
		k := tagKey{e.Repo, e.Tag}
		if e.Platform != "" || !selected(k) {
			continue
		}
		if r := pinnedAt(p.Refs, k); r.File != "" {
			result.Pinned.Add(diag.Note, r.File, r.Line, "%s is pinned to %s %s; change the digest there to move it", displayTag(r), r.Image.Digest, p.pinnedWhere(r))
			continue
		}
		w := &want{}
		for _, pl := range p.lock.Platforms(e.Repo, e.Tag) {
			w.platforms = append(w.platforms, pl.Platform)
		}
		chosen[k] = w
		reqs = append(reqs, resolve.Request{Ref: imageref.Ref{Repo: k.Repo, Tag: k.Tag}, Platforms: w.platforms})
	}
	resolved, leftOut, err := p.resolveTags(ctx, reqs)
	if err != nil {
		return UpgradeResult{}, err
	}
	for _, l := range leftOut {
		delete(chosen, l.tag)
		result.Pinned = append(result.Pinned, l.why)
	}
	if result.Reviews, err = p.reviewUpgrade(ctx, chosen, resolved); err != nil {
		return UpgradeResult{}, err
	}
	for _, r := range result.Reviews {
		if r.Hold != review.NotHeld {
			delete(chosen, tagKey{r.Repo, r.Tag})
		}
	}
	result.Changes, err = p.apply(chosen, nil, resolved, false, !dryRun)
	if err != nil {
		return UpgradeResult{}, err
	}
	moved := map[tagKey]bool{}
	for _, ch := range result.Changes {
		moved[tagKey{ch.Repo, strings.SplitN(ch.Key, "/", 2)[0]}] = true
	}
	for _, k := range sortedTags(chosen) {
		if !moved[k] {
			d, _ := p.lock.Lookup(k.Repo, k.Tag)
			result.Unchanged = append(result.Unchanged, Change{Repo: k.Repo, Key: k.Tag, Old: d, New: d})
		}
	}
	return result, nil
}

// selectTags returns which locked tags names choose: a name matches a
// reference as written (python:3.12, ${BASE}), as expanded, or a locked
// entry by canonical repository with or without a tag (python,
// docker.io/library/python:3.12). No names choose every tag; a name that
// matches nothing is an error.
func selectTags(refs []dockerfile.Reference, f *lock.File, names []string) (func(tagKey) bool, error) {
	if len(names) == 0 {
		return func(tagKey) bool { return true }, nil
	}
	chosen := map[tagKey]bool{}
	for _, n := range names {
		matched := false
		for _, r := range refs {
			if r.Image.Tag != "" && (r.Written == n || r.Expanded == n) {
				chosen[keyOf(r.Image)] = true
				matched = true
			}
		}
		if want, err := imageref.Parse(n); err == nil {
			withTag := hasTag(n)
			for _, e := range f.Entries() {
				if e.Platform == "" && e.Repo == want.Repo && (!withTag || e.Tag == want.Tag) {
					chosen[tagKey{e.Repo, e.Tag}] = true
					matched = true
				}
			}
		}
		if !matched {
			return nil, fmt.Errorf("%s matches no image of the Dockerfiles", n)
		}
	}
	return func(k tagKey) bool { return chosen[k] }, nil
}

// hasTag reports whether a reference names a tag (the last path element
// has a colon; a registry's port does not count).
func hasTag(s string) bool {
	s, _, _ = strings.Cut(s, "@")
	return strings.Contains(s[strings.LastIndex(s, "/")+1:], ":")
}

// pinnedAt is the first reference that writes a digest for k.
func pinnedAt(refs []dockerfile.Reference, k tagKey) dockerfile.Reference {
	for _, r := range refs {
		if r.Image.Tag != "" && r.Image.Digest != "" && keyOf(r.Image) == k {
			return r
		}
	}
	return dockerfile.Reference{}
}
