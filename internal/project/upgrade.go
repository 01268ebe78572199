package project

import (
	"context"
	"fmt"
	"strings"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/resolve"
)

// UpgradeResult says what Upgrade moved, what it found unchanged, and which
// tags it left alone because a Dockerfile pins their digest.
type UpgradeResult struct {
	Changes   []Change  // lines whose digest moved (platform lines move with their tag)
	Unchanged []Change  // tags asked about whose digest did not move (Old == New)
	Pinned    diag.List // notes: tags pinned in a Dockerfile, which the file decides, not upgrade
}

// Upgrade re-resolves the locked tags the references use (all of them, or
// those that names select) and moves their entries to the digests the tags
// point at now. With dryRun it only reports what would change. Tags not yet
// locked are for Tidy, not for Upgrade.
func (p *Project) Upgrade(ctx context.Context, names []string, dryRun bool) (UpgradeResult, error) {
	wanted, err := p.wantedTags()
	if err != nil {
		return UpgradeResult{}, err
	}
	selected, err := selectTags(p.Refs, names)
	if err != nil {
		return UpgradeResult{}, err
	}

	var result UpgradeResult
	chosen := map[tagKey]*want{}
	var reqs []resolve.Request
	for _, k := range sortedTags(wanted) {
		if _, ok := p.lock.Lookup(k.Repo, k.Tag); !ok || !selected(k) {
			continue
		}
		if wanted[k].pinned != "" {
			r := pinnedAt(p.Refs, k)
			result.Pinned.Add(diag.Note, r.File, r.Line, "%s is pinned to %s in the file; change the digest there to move it", displayTag(r), r.Image.Digest)
			continue
		}
		chosen[k] = wanted[k]
		reqs = append(reqs, resolve.Request{Ref: imageref.Ref{Repo: k.Repo, Tag: k.Tag}, Platforms: wanted[k].platforms})
	}
	resolved, err := p.resolveTags(ctx, reqs)
	if err != nil {
		return UpgradeResult{}, err
	}
	result.Changes, err = p.apply(chosen, resolved, false, !dryRun)
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

// selectTags returns which tags names choose: a name matches a reference as
// written (python:3.12, ${BASE}), as expanded, or by canonical repository
// with or without a tag (python, docker.io/library/python:3.12). No names
// choose every tag; a name that matches nothing is an error.
func selectTags(refs []dockerfile.Reference, names []string) (func(tagKey) bool, error) {
	if len(names) == 0 {
		return func(tagKey) bool { return true }, nil
	}
	chosen := map[tagKey]bool{}
	for _, n := range names {
		matched := false
		want, perr := imageref.Parse(n)
		withTag := hasTag(n)
		for _, r := range refs {
			if r.Image.Tag == "" {
				continue
			}
			match := r.Written == n || r.Expanded == n ||
				perr == nil && want.Repo == r.Image.Repo && (!withTag || want.Tag == r.Image.Tag)
			if match {
				chosen[keyOf(r.Image)] = true
				matched = true
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
