// Package review says what changed when a tag moved from one digest to
// another, so that a reviewer can judge the move: the version, the created
// time and age, the revision with a compare link, the base image, which
// platforms changed, appeared or disappeared and how their compressed size
// changed; and which moves the cooldown policy (a minimum age) or the
// platforms in use hold back. It writes a review as text and as Markdown,
// the body of a pull request.
//
// It reads as little as the answers allow, in at most three rounds over
// every move at once: the old and the new manifest (an index carries the
// OCI annotations of each platform, as Docker Official Images do); then
// the manifests of the platforms the project uses that changed, for their
// sizes (and their annotations when the index has none); then configs,
// only for an image whose annotations give no version or created time.
package review

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/resolve"
)

// DefaultPlatform is the platform a project uses of a tag whose lock has
// no platform lines: the one builds are evaluated for.
const DefaultPlatform = "linux/amd64"

// Move is a tag that points elsewhere than the lock says.
type Move struct {
	Repo, Tag string
	Old, New  string            // the locked digest; the digest the tag points at now
	Locked    map[string]string // the tag's platform lines: OS/ARCH[/VARIANT] -> manifest digest
}

// Review is what changed in one Move.
type Review struct {
	Repo, Tag string
	Old, New  Image
	// Used are the platforms the project builds of the tag: those the lock
	// has lines for, else DefaultPlatform.
	Used      []string
	Platforms []Platform  // every platform either side has, used ones first
	Env       []EnvChange // *_VERSION values that differ, where configs were read
	// Compare links the old revision to the new one when the source is a
	// GitHub or GitLab repository.
	Compare string
	// UnusedOnly is set when the digest moved but no platform the project
	// uses changed: only other platforms, or attestations.
	UnusedOnly   bool
	Attestations bool // the attestation manifests changed
	Hold         Hold
	Eligible     time.Time // with HoldTooYoung: when the new digest is old enough
}

// Image is what one digest says about itself.
type Image struct {
	Digest      string
	Missing     bool // the registry no longer has it
	Index       bool // a multi-platform index
	Version     string
	VersionFrom string    // "annotation" or "label"; "" when none gives it
	Created     time.Time // zero when unknown: absent, unreadable or the epoch
	Revision    string
	Source      string
	BaseName    string
	BaseDigest  string
}

// Platform is how one platform's manifest changed.
type Platform struct {
	Platform string // OS/ARCH[/VARIANT]
	Change   Change
	Used     bool
	Old, New string // manifest digests; "" on the side that lacks the platform
	// OldSize and NewSize are the compressed sizes (config and layers),
	// read for the used platforms that changed; 0 when not read.
	OldSize, NewSize int64
}

// Change says how a platform differs between two digests of a tag.
type Change string

const (
	Unchanged Change = "unchanged"
	Changed   Change = "changed"
	Added     Change = "added"
	Removed   Change = "removed"
	Unknown   Change = "unknown" // the old digest is gone, and the lock has no line for it
)

// EnvChange is a *_VERSION variable of the config that differs.
type EnvChange struct {
	Name     string
	Old, New string // "" where unset
}

// Run reviews moves, reading what it needs with rd. A digest the registry
// no longer has is reported as Missing; any other failure to read is the
// error.
func Run(ctx context.Context, rd resolve.ContentReader, moves []Move) ([]Review, error) {
	states := make([]*state, len(moves))
	for i, m := range moves {
		states[i] = newState(m)
	}
	// Round 1: the manifests the tag pointed at and points at now.
	var round []want
	for _, s := range states {
		round = append(round, want{s.old, s.old.img.Digest, readManifest}, want{s.new, s.new.img.Digest, readManifest})
	}
	if err := read(ctx, rd, round, func(w want, c resolve.Content) error { return w.side.top(c) }); err != nil {
		return nil, err
	}
	// Round 2: the used platforms that changed, and the manifest the
	// metadata comes from when the index says too little.
	round = nil
	for _, s := range states {
		round = append(round, s.platformReads()...)
	}
	if err := read(ctx, rd, round, func(w want, c resolve.Content) error { return w.side.platform(w.digest, c) }); err != nil {
		return nil, err
	}
	// Round 3: configs, only where no version or created time is known yet.
	round = nil
	for _, s := range states {
		if !s.deeper() {
			continue
		}
		for _, sd := range []*side{s.old, s.new} {
			if d := sd.configToRead(); d != "" {
				round = append(round, want{sd, d, readBlob})
			}
		}
	}
	if err := read(ctx, rd, round, func(w want, c resolve.Content) error { return w.side.config(c) }); err != nil {
		return nil, err
	}
	out := make([]Review, len(states))
	for i, s := range states {
		out[i] = s.review()
	}
	return out, nil
}

const (
	readManifest = false
	readBlob     = true
)

// want is one read of a round, for one side of a move.
type want struct {
	side   *side
	digest string
	blob   bool
}

// read reads a round and hands each answer to use; a digest the registry
// does not have is handed on (the side records it), other failures end
// the review.
func read(ctx context.Context, rd resolve.ContentReader, round []want, use func(want, resolve.Content) error) error {
	if len(round) == 0 {
		return nil
	}
	reqs := make([]resolve.ContentRequest, len(round))
	for i, w := range round {
		reqs[i] = resolve.ContentRequest{Repo: w.side.repo, Digest: w.digest, Blob: w.blob}
	}
	got := rd.ReadContent(ctx, reqs)
	var errs []error
	for i, w := range round {
		c := got[i]
		if c.Err != nil && !errors.Is(c.Err, resolve.ErrNotFound) {
			errs = append(errs, c.Err)
			continue
		}
		if err := use(w, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// state is one move under review.
type state struct {
	move     Move
	used     []string
	old, new *side
}

func newState(m Move) *state {
	used := slices.Sorted(maps.Keys(m.Locked))
	if len(used) == 0 {
		used = []string{DefaultPlatform}
	}
	s := &state{move: m, used: used}
	s.old = &side{repo: m.Repo, used: used, img: Image{Digest: m.Old}}
	s.new = &side{repo: m.Repo, used: used, img: Image{Digest: m.New}}
	return s
}

// side is what has been read of one digest of a move.
type side struct {
	repo string
	used []string
	img  Image

	read        bool                     // the top manifest was read
	platforms   map[string]v1.Descriptor // an index's platform manifests, attestations left out
	attestation []string                 // an index's attestation manifest digests, sorted
	primary     string                   // the manifest whose annotations and config describe the image
	annotations map[string]string        // index, then its entry, then the manifest: later win
	manifests   map[string]*v1.Manifest  // read platform manifests (or the image's own), by digest
	cfg         *v1.ConfigFile
}

// top takes the manifest the tag pointed (or points) at.
func (sd *side) top(c resolve.Content) error {
	if c.Err != nil {
		sd.img.Missing = true
		return nil
	}
	sd.read = true
	sd.annotations = map[string]string{}
	sd.manifests = map[string]*v1.Manifest{}
	if resolve.IsIndex(c.MediaType, c.Body) {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(c.Body))
		if err != nil {
			return errorf(sd, "parsing the index: %v", err)
		}
		sd.img.Index = true
		sd.platforms = map[string]v1.Descriptor{}
		maps.Copy(sd.annotations, idx.Annotations)
		for _, d := range idx.Manifests {
			if attestation(d) {
				sd.attestation = append(sd.attestation, d.Digest.String())
				continue
			}
			if d.Platform == nil {
				continue
			}
			p := resolve.PlatformString(*d.Platform)
			if _, dup := sd.platforms[p]; !dup {
				sd.platforms[p] = d
			}
		}
		slices.Sort(sd.attestation)
		if d, ok := sd.primaryDescriptor(); ok {
			sd.primary = d.Digest.String()
			maps.Copy(sd.annotations, d.Annotations)
		}
		return nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(c.Body))
	if err != nil {
		return errorf(sd, "parsing the manifest: %v", err)
	}
	sd.primary = sd.img.Digest
	sd.manifests[sd.primary] = m
	maps.Copy(sd.annotations, m.Annotations)
	return nil
}

// primaryDescriptor is the index entry that describes the image: the first
// used platform it has, else its first platform.
func (sd *side) primaryDescriptor() (v1.Descriptor, bool) {
	for _, u := range sd.used {
		if p, ok := sd.match(u); ok {
			return sd.platforms[p], true
		}
	}
	keys := slices.Sorted(maps.Keys(sd.platforms))
	if len(keys) == 0 {
		return v1.Descriptor{}, false
	}
	return sd.platforms[keys[0]], true
}

// match finds the platform of the index that serves want.
func (sd *side) match(want string) (string, bool) {
	if _, ok := sd.platforms[want]; ok {
		return want, true
	}
	for _, p := range slices.Sorted(maps.Keys(sd.platforms)) {
		if resolve.SamePlatform(want, p) {
			return p, true
		}
	}
	return "", false
}

// digestFor is the manifest digest this side has for the used platform u,
// from the index, or from the lock when the old index is gone.
func (s *state) digestFor(sd *side, u string) string {
	if !sd.read {
		if sd == s.old {
			return s.move.Locked[u]
		}
		return ""
	}
	if !sd.img.Index {
		return sd.img.Digest
	}
	if p, ok := sd.match(u); ok {
		return sd.platforms[p].Digest.String()
	}
	return ""
}

// platformReads are round 2: the manifests of the used platforms that
// changed, for their sizes; and the primary manifest of a side whose
// index gives no version or created time.
func (s *state) platformReads() []want {
	var out []want
	seen := map[*side]map[string]bool{s.old: {}, s.new: {}}
	add := func(sd *side, d string) {
		if d != "" && sd.read && sd.img.Index && !seen[sd][d] {
			seen[sd][d] = true
			out = append(out, want{sd, d, readManifest})
		}
	}
	for _, u := range s.used {
		o, n := s.digestFor(s.old, u), s.digestFor(s.new, u)
		if o != n {
			add(s.old, o)
			add(s.new, n)
		}
	}
	if s.deeper() {
		add(s.old, s.old.primary)
		add(s.new, s.new.primary)
	}
	return out
}

// deeper reports whether the annotations read so far leave the version or
// the created time of either side unknown: then both sides' primary
// manifests and configs are read, so that the two compare (labels, env).
func (s *state) deeper() bool {
	lacks := func(sd *side) bool {
		return sd.read && (sd.annotations[annVersion] == "" || sd.annotations[annCreated] == "")
	}
	return lacks(s.old) || lacks(s.new)
}

// platform takes a platform manifest of an index.
func (sd *side) platform(digest string, c resolve.Content) error {
	if c.Err != nil {
		return nil // gone: its size stays unknown
	}
	m, err := v1.ParseManifest(bytes.NewReader(c.Body))
	if err != nil {
		return errorf(sd, "parsing the manifest %s: %v", digest, err)
	}
	sd.manifests[digest] = m
	if digest == sd.primary {
		maps.Copy(sd.annotations, m.Annotations)
	}
	return nil
}

// configToRead is the config digest of the primary manifest, when it was
// read.
func (sd *side) configToRead() string {
	if m := sd.manifests[sd.primary]; m != nil {
		return m.Config.Digest.String()
	}
	return ""
}

// config takes the primary manifest's config.
func (sd *side) config(c resolve.Content) error {
	if c.Err != nil {
		return nil
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(c.Body))
	if err != nil {
		return errorf(sd, "parsing the config: %v", err)
	}
	sd.cfg = cfg
	return nil
}

// size is the compressed size of a read manifest's image: its config and
// layers, what a pull downloads; 0 when the manifest was not read.
func (sd *side) size(digest string) int64 {
	m := sd.manifests[digest]
	if m == nil {
		return 0
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// review puts together what was read.
func (s *state) review() Review {
	r := Review{Repo: s.move.Repo, Tag: s.move.Tag, Used: s.used}
	r.Old, r.New = s.old.describe(), s.new.describe()
	r.Env = envChanges(s.old.cfg, s.new.cfg)
	source := r.New.Source
	if source == "" {
		source = r.Old.Source
	}
	r.Compare = CompareURL(source, r.Old.Revision, r.New.Revision)
	r.Platforms = s.platformChanges()
	r.Attestations = s.old.read && s.new.read && !slices.Equal(s.old.attestation, s.new.attestation)
	r.UnusedOnly = s.move.Old != s.move.New && s.new.img.Index && len(r.Platforms) > 0
	for _, p := range r.Platforms {
		if p.Used && p.Change != Unchanged {
			r.UnusedOnly = false
		}
	}
	if !s.old.read && len(s.move.Locked) == 0 {
		r.UnusedOnly = false // nothing to compare the used platforms with
	}
	return r
}

// platformChanges lists the platforms of both sides, the used ones first.
func (s *state) platformChanges() []Platform {
	var out []Platform
	done := map[string]bool{}
	for _, u := range s.used {
		o, n := s.digestFor(s.old, u), s.digestFor(s.new, u)
		name := u
		if p, ok := s.new.match(u); ok && s.new.img.Index {
			name = p
		} else if s.new.cfg != nil && !s.new.img.Index {
			name = resolve.PlatformString(v1.Platform{OS: s.new.cfg.OS, Architecture: s.new.cfg.Architecture, Variant: s.new.cfg.Variant})
		}
		if p, ok := s.old.match(u); ok {
			done[p] = true
		}
		if p, ok := s.new.match(u); ok {
			done[p] = true
		}
		p := Platform{Platform: name, Used: true, Old: o, New: n, Change: change(o, n)}
		if o != n {
			p.OldSize, p.NewSize = s.old.size(o), s.new.size(n)
		}
		if o == "" && !s.old.read && s.old.img.Missing {
			p.Change = Unknown
		}
		out = append(out, p)
	}
	if !s.old.img.Index && !s.new.img.Index {
		return out
	}
	others := map[string]bool{}
	for p := range s.old.platforms {
		others[p] = true
	}
	for p := range s.new.platforms {
		others[p] = true
	}
	for _, p := range slices.Sorted(maps.Keys(others)) {
		if done[p] {
			continue
		}
		o, n := s.old.platforms[p].Digest.String(), s.new.platforms[p].Digest.String()
		if _, ok := s.old.platforms[p]; !ok {
			o = ""
		}
		if _, ok := s.new.platforms[p]; !ok {
			n = ""
		}
		c := change(o, n)
		if !s.old.read {
			c = Unknown
		}
		out = append(out, Platform{Platform: p, Old: o, New: n, Change: c})
	}
	return out
}

func change(old, new string) Change {
	switch {
	case old == new:
		return Unchanged
	case old == "":
		return Added
	case new == "":
		return Removed
	}
	return Changed
}

// attestation reports whether an index entry is an attestation (BuildKit's
// provenance and SBOMs), not a platform's image.
func attestation(d v1.Descriptor) bool {
	if d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
		return true
	}
	return d.Platform != nil && d.Platform.OS == "unknown" && d.Platform.Architecture == "unknown"
}

// Error is a manifest or config of a move that does not parse: the
// registry's fault (exit 3), as the digest says what the content is.
type Error struct {
	Ref string // REPO@DIGEST
	Msg string
}

var _ diag.ExitKind = (*Error)(nil)

func (e *Error) Error() string       { return "reviewing " + e.Ref + ": " + e.Msg }
func (e *Error) DiagKind() diag.Kind { return diag.Registry }

func errorf(sd *side, format string, args ...any) error {
	return &Error{Ref: sd.repo + "@" + sd.img.Digest, Msg: diag.Printable(fmt.Sprintf(format, args...), diag.MaxEcho)}
}
