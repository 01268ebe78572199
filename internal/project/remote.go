package project

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/review"
)

// RemoteStatus is what the registry says now about one locked tag.
type RemoteStatus struct {
	Repo, Tag string
	Ref       dockerfile.Reference // the first reference that uses the tag
	PinnedAt  dockerfile.Reference // the first that writes a digest for it; zero when none does
	Locked    string               // the tag's digest in the lock
	Current   string               // what the tag points at now; "" when the registry no longer has the tag
	Vanished  []string             // locked digests (the tag's, or a platform's) the registry no longer has
	Review    *review.Review       // what changed, when the tag moved
}

// Moved reports whether the tag points elsewhere than the lock says.
func (s RemoteStatus) Moved() bool { return s.Current != "" && s.Current != s.Locked }

// CheckRemote asks the registries, for every locked tag, whether its
// locked digests still exist (a HEAD by digest, also for each platform
// line) and what the tag points at now (a HEAD by tag). Tags come in the
// order the Dockerfiles use them, each at its first use; a locked tag no
// reference uses (its Dockerfile did not read) comes last, at its line of
// the lock. A run about some files checks only their tags. A digest or tag
// the registry does not have is a finding; any other failure is the error.
func (p *Project) CheckRemote(ctx context.Context) ([]RemoteStatus, error) {
	refs, f := p.Refs, p.lock
	var statuses []RemoteStatus
	var reqs []resolve.Request
	seen := map[tagKey]bool{}
	uses := refs
	if !p.Narrowed() {
		for _, e := range f.Entries() {
			if e.Platform == "" {
				ref := e.Repo + ":" + e.Tag
				uses = append(uses, dockerfile.Reference{File: p.LockName, Line: f.Line(e), Written: ref, Expanded: ref,
					Image: imageref.Ref{Repo: e.Repo, Tag: e.Tag}})
			}
		}
	}
	for _, r := range uses {
		if r.Image.Tag == "" || !p.Selected(r.File) && r.File != p.LockName {
			continue
		}
		k := keyOf(r.Image)
		locked, ok := f.Lookup(k.Repo, k.Tag)
		if !ok || seen[k] {
			continue
		}
		seen[k] = true
		statuses = append(statuses, RemoteStatus{Repo: k.Repo, Tag: k.Tag, Ref: r, PinnedAt: pinnedAt(refs, k), Locked: locked})
		tag := imageref.Ref{Repo: k.Repo, Tag: k.Tag}
		reqs = append(reqs, resolve.Request{Ref: tag}, resolve.Request{Ref: tag.WithDigest(locked)})
		for _, e := range f.Platforms(k.Repo, k.Tag) {
			reqs = append(reqs, resolve.Request{Ref: tag.WithDigest(e.Digest)})
		}
	}
	if len(reqs) == 0 {
		return nil, nil
	}
	res, err := p.resolver()
	if err != nil {
		return nil, err
	}
	results, err := res.Resolve(ctx, reqs)
	answers := map[string]string{}
	for _, r := range results {
		answers[r.Ref.String()] = r.Digest
	}
	failures := resolve.Failures(err)
	if err != nil && len(failures) == 0 {
		return nil, err
	}
	for _, ref := range slices.Sorted(maps.Keys(failures)) {
		if !errors.Is(failures[ref], resolve.ErrNotFound) {
			return nil, failures[ref]
		}
	}
	for i := range statuses {
		s := &statuses[i]
		tag := imageref.Ref{Repo: s.Repo, Tag: s.Tag}
		s.Current = answers[tag.String()]
		digests := []string{s.Locked}
		for _, e := range f.Platforms(s.Repo, s.Tag) {
			digests = append(digests, e.Digest)
		}
		for _, d := range digests {
			if failures[tag.WithDigest(d).String()] != nil {
				s.Vanished = append(s.Vanished, d)
			}
		}
	}
	if err := p.reviewMoved(ctx, statuses); err != nil {
		return nil, err
	}
	return statuses, nil
}

// RemoteFindings turns statuses into messages at the first Dockerfile line
// that uses each tag: vanished digests (the build will fail to pull them: a
// mismatch) and drift (the tag moved, or is gone, upstream; the lock still
// builds: a warning).
func RemoteFindings(statuses []RemoteStatus) (vanished, drift diag.List) {
	for _, s := range statuses {
		name := displayTag(s.Ref)
		// A tag pinned in a Dockerfile moves when the file does, not by upgrade.
		fix := fmt.Sprintf("run 'imglock upgrade %s'", name)
		if p := s.PinnedAt; p.File != "" {
			fix = fmt.Sprintf("change the digest at %s:%d", p.File, p.Line)
		}
		for _, d := range s.Vanished {
			vanished.Add(diag.Mismatch, s.Ref.File, s.Ref.Line, "%s: locked digest %s no longer exists in the registry; %s to lock what the tag points at now",
				name, d, fix)
		}
		switch {
		case s.Moved():
			drift.Add(diag.Warning, s.Ref.File, s.Ref.Line, "%s moved upstream: locked %s, now %s; %s to move",
				name, s.Locked, s.Current, fix)
		case s.Current == "":
			drift.Add(diag.Warning, s.Ref.File, s.Ref.Line, "%s: the registry no longer has this tag", name)
		}
	}
	return vanished, drift
}
