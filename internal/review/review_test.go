package review_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/review"
	"github.com/imglock/imglock/internal/testing/distribution"
	"github.com/imglock/imglock/internal/testing/registry"
)

func TestMain(m *testing.M) {
	os.Exit(registry.RunWithoutCredentials(m))
}

// target is a registry the tests push to: the in-process one, which counts
// requests, or the Distribution process.
type target struct {
	name   string
	addr   string
	push   func(ref string, img remote.Taggable) (string, error)
	counts func() map[string]int // nil when the registry does not count
	reset  func()
}

func inProcess(t *testing.T) target {
	reg := registry.Start()
	t.Cleanup(reg.Close)
	return target{"in-process", reg.Addr, reg.PushImage, reg.Counts, reg.ResetCounts}
}

func targets(t *testing.T) []target {
	out := []target{inProcess(t)}
	if _, err := distribution.Binary(); !errors.Is(err, distribution.ErrNoBinary) || os.Getenv("CI") == "true" {
		d := distribution.Start(t, distribution.Options{})
		out = append(out, target{"distribution", d.Addr, d.PushImage, nil, func() {}})
	} else {
		t.Log("no Distribution registry binary: testing against the in-process registry only")
	}
	return out
}

var (
	created1 = time.Date(2024, 12, 1, 8, 0, 0, 0, time.UTC)
	created2 = time.Date(2025, 1, 10, 8, 0, 0, 0, time.UTC)
)

const (
	source = "https://github.com/docker-library/python.git"
	rev1   = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
	rev2   = "5d6e7f8a9b0c1d2e3f405162738495a6b7c8d9e0"
	baseD1 = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	baseD2 = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// official is how Docker Official Images describe themselves: annotations
// on each platform manifest and its index entry, env in the config.
func official(version, rev, baseDigest string, created time.Time) registry.Meta {
	return registry.Meta{
		Created: created,
		Annotations: map[string]string{
			"org.opencontainers.image.created":     created.Format(time.RFC3339),
			"org.opencontainers.image.version":     version,
			"org.opencontainers.image.revision":    rev,
			"org.opencontainers.image.source":      source,
			"org.opencontainers.image.base.name":   "debian:bookworm-slim",
			"org.opencontainers.image.base.digest": baseDigest,
		},
		Env: []string{"PATH=/usr/local/bin", "PYTHON_VERSION=" + version},
	}
}

type pushed struct {
	digest    string
	platforms map[string]string
}

func pushIndex(t *testing.T, tg target, ref, content string, m registry.Meta, platforms ...string) pushed {
	t.Helper()
	idx, ps, err := registry.IndexWithMeta(content, m, platforms...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tg.push(ref, idx)
	if err != nil {
		t.Fatal(err)
	}
	return pushed{d, ps}
}

func pushImage(t *testing.T, tg target, ref, content string, m registry.Meta) string {
	t.Helper()
	img, err := registry.ImageWithMeta(content, "linux/amd64", m)
	if err != nil {
		t.Fatal(err)
	}
	d, err := tg.push(ref, img)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func run(t *testing.T, tg target, moves ...review.Move) []review.Review {
	t.Helper()
	rd, err := resolve.New()
	if err != nil {
		t.Fatal(err)
	}
	tg.reset()
	got, err := review.Run(context.Background(), rd, moves)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(moves) {
		t.Fatalf("%d reviews for %d moves", len(got), len(moves))
	}
	return got
}

// wantCounts checks the requests a review made, where the registry counts
// them; pings and tokens are the resolver's and are left out.
func wantCounts(t *testing.T, tg target, get, blob int) {
	t.Helper()
	if tg.counts == nil {
		return
	}
	if c := tg.counts(); c["get"] != get || c["blob"] != blob || c["head"] != 0 {
		t.Errorf("requests %v, want %d GETs and %d blobs", c, get, blob)
	}
}

// TestOfficialIndex: an index annotated as Docker Official Images are
// answers version, created time, revision, source and base from the index
// itself; only the used platforms that changed are read further, for
// their sizes; no config.
func TestOfficialIndex(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			m1 := official("3.12.7", rev1, baseD1, created1)
			m1.Pad = 40_000
			old := pushIndex(t, tg, "library/python:3.12-slim", "v1", m1, "linux/amd64", "linux/arm64")
			m2 := official("3.12.8", rev2, baseD2, created2)
			m2.Pad = 52_000
			new := pushIndex(t, tg, "library/python:3.12-slim", "v2", m2, "linux/amd64", "linux/arm64", "linux/s390x")

			got := run(t, tg, review.Move{Repo: tg.addr + "/library/python", Tag: "3.12-slim", Old: old.digest, New: new.digest,
				Locked: map[string]string{"linux/amd64": old.platforms["linux/amd64"]}})[0]
			wantCounts(t, tg, 4, 0) // two indexes, amd64's two manifests

			if got.Old.Version != "3.12.7" || got.New.Version != "3.12.8" || got.New.VersionFrom != "annotation" {
				t.Errorf("version %q -> %q (from %q)", got.Old.Version, got.New.Version, got.New.VersionFrom)
			}
			if !got.New.Created.Equal(created2) || !got.Old.Created.Equal(created1) {
				t.Errorf("created %v -> %v", got.Old.Created, got.New.Created)
			}
			if want := "https://github.com/docker-library/python/compare/" + rev1 + "..." + rev2; got.Compare != want {
				t.Errorf("compare %q, want %q", got.Compare, want)
			}
			if got.New.BaseName != "debian:bookworm-slim" || got.Old.BaseDigest != baseD1 || got.New.BaseDigest != baseD2 {
				t.Errorf("base %+v -> %+v", got.Old, got.New)
			}
			if got.Env != nil {
				t.Errorf("env %v read, want none: the annotations answered", got.Env)
			}
			if len(got.Platforms) != 3 {
				t.Fatalf("platforms %+v, want amd64, arm64, s390x", got.Platforms)
			}
			amd, arm, s390 := got.Platforms[0], got.Platforms[1], got.Platforms[2]
			if amd.Platform != "linux/amd64" || !amd.Used || amd.Change != review.Changed || amd.OldSize < 40_000 || amd.NewSize-amd.OldSize < 11_000 {
				t.Errorf("amd64 %+v, want used, changed, ~12 kB larger", amd)
			}
			if arm.Platform != "linux/arm64" || arm.Used || arm.Change != review.Changed || arm.OldSize != 0 {
				t.Errorf("arm64 %+v, want changed, not used, size not read", arm)
			}
			if s390.Platform != "linux/s390x" || s390.Change != review.Added {
				t.Errorf("s390x %+v, want added", s390)
			}
			if got.UnusedOnly || got.Attestations {
				t.Errorf("unused only %v, attestations %v", got.UnusedOnly, got.Attestations)
			}
		})
	}
}

// TestLabelsAndEnv: a single-platform image with no annotations is
// described by its config: version and revision from labels, created from
// the config, the *_VERSION variables compared; one manifest and one
// config per side.
func TestLabelsAndEnv(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			old := pushImage(t, tg, "acme/app:1", "v1", registry.Meta{Created: created1,
				Labels: map[string]string{"org.opencontainers.image.version": "1.4.0", "org.opencontainers.image.source": "https://gitlab.com/acme/tools/app"},
				Env:    []string{"NODE_VERSION=20.1.0", "YARN_VERSION=1.22.19"}})
			new := pushImage(t, tg, "acme/app:1", "v2, a longer layer", registry.Meta{Created: created2,
				Labels: map[string]string{"org.opencontainers.image.version": "1.4.1", "org.opencontainers.image.revision": rev2, "org.opencontainers.image.source": "https://gitlab.com/acme/tools/app"},
				Env:    []string{"NODE_VERSION=20.2.0", "YARN_VERSION=1.22.19"}})
			got := run(t, tg, review.Move{Repo: tg.addr + "/acme/app", Tag: "1", Old: old, New: new})[0]
			wantCounts(t, tg, 2, 2)
			if got.Old.Version != "1.4.0" || got.New.Version != "1.4.1" || got.New.VersionFrom != "label" {
				t.Errorf("version %+v -> %+v", got.Old, got.New)
			}
			if !got.New.Created.Equal(created2) {
				t.Errorf("created %v, want the config's %v", got.New.Created, created2)
			}
			if len(got.Env) != 1 || got.Env[0] != (review.EnvChange{Name: "NODE_VERSION", Old: "20.1.0", New: "20.2.0"}) {
				t.Errorf("env %+v, want NODE_VERSION 20.1.0 -> 20.2.0", got.Env)
			}
			if got.Compare != "" {
				t.Errorf("compare %q without the old revision", got.Compare)
			}
			if u := review.RevisionURL(got.New.Source, got.New.Revision); u != "https://gitlab.com/acme/tools/app/-/commit/"+rev2 {
				t.Errorf("revision link %q", u)
			}
			if len(got.Platforms) != 1 || got.Platforms[0].Platform != "linux/amd64" || got.Platforms[0].Change != review.Changed ||
				got.Platforms[0].NewSize <= got.Platforms[0].OldSize {
				t.Errorf("platforms %+v, want linux/amd64 changed and larger", got.Platforms)
			}
		})
	}
}

// TestUnusedOnly: an index whose used platform is the same on both sides
// (only another platform, or the attestations, changed) is reported as
// such, from the two indexes alone.
func TestUnusedOnly(t *testing.T) {
	for _, tg := range targets(t) {
		t.Run(tg.name, func(t *testing.T) {
			m := official("1.0", rev1, baseD1, created1)
			m.Content = map[string]string{"linux/arm64": "arm64 v1"}
			old := pushIndex(t, tg, "acme/multi:1", "v1", m, "linux/amd64", "linux/arm64")
			m.Content = map[string]string{"linux/arm64": "arm64 v2"}
			new := pushIndex(t, tg, "acme/multi:1", "v1", m, "linux/amd64", "linux/arm64")
			if old.platforms["linux/amd64"] != new.platforms["linux/amd64"] || old.digest == new.digest {
				t.Fatal("the test images are not as the test needs them")
			}
			got := run(t, tg, review.Move{Repo: tg.addr + "/acme/multi", Tag: "1", Old: old.digest, New: new.digest})[0]
			wantCounts(t, tg, 2, 0)
			if !got.UnusedOnly || got.Platforms[0].Change != review.Unchanged || got.Platforms[1].Change != review.Changed {
				t.Errorf("unused only %v, platforms %+v", got.UnusedOnly, got.Platforms)
			}

			m.Attestation = "provenance v2"
			att := pushIndex(t, tg, "acme/multi:1", "v1", m, "linux/amd64", "linux/arm64")
			got = run(t, tg, review.Move{Repo: tg.addr + "/acme/multi", Tag: "1", Old: new.digest, New: att.digest,
				Locked: map[string]string{"linux/amd64": new.platforms["linux/amd64"], "linux/arm64": new.platforms["linux/arm64"]}})[0]
			wantCounts(t, tg, 2, 0)
			if !got.UnusedOnly || !got.Attestations {
				t.Errorf("unused only %v, attestations %v; want both", got.UnusedOnly, got.Attestations)
			}
		})
	}
}

// TestOldDigestGone: a locked digest the registry lost is reported as
// missing; the used platforms compare with the lock's lines.
func TestOldDigestGone(t *testing.T) {
	tg := inProcess(t)
	new := pushIndex(t, tg, "acme/multi:1", "v2", official("2.0", rev2, baseD2, created2), "linux/amd64")
	const lost = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const lostAmd = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	got := run(t, tg, review.Move{Repo: tg.addr + "/acme/multi", Tag: "1", Old: lost, New: new.digest,
		Locked: map[string]string{"linux/amd64": lostAmd}})[0]
	if !got.Old.Missing || got.New.Missing || got.New.Version != "2.0" {
		t.Errorf("old %+v, new %+v", got.Old, got.New)
	}
	if len(got.Platforms) != 1 || got.Platforms[0].Old != lostAmd || got.Platforms[0].Change != review.Changed {
		t.Errorf("platforms %+v, want amd64 changed from the locked line", got.Platforms)
	}
}

// TestEpochIsUnknownAge: a created time at the epoch, as reproducible
// builds write it, is no age; a cooldown holds it back unless allowed.
func TestEpochIsUnknownAge(t *testing.T) {
	tg := inProcess(t)
	old := pushImage(t, tg, "acme/repro:1", "v1", registry.Meta{Created: time.Unix(0, 0)})
	new := pushImage(t, tg, "acme/repro:1", "v2", registry.Meta{Created: time.Unix(0, 0)})
	got := run(t, tg, review.Move{Repo: tg.addr + "/acme/repro", Tag: "1", Old: old, New: new})[0]
	if !got.New.Created.IsZero() {
		t.Errorf("created %v, want unknown", got.New.Created)
	}
	now := time.Now()
	review.Policy{MinAge: time.Hour}.Apply(&got, now)
	if got.Hold != review.HoldUnknownAge {
		t.Errorf("hold %q, want unknown-age", got.Hold)
	}
	review.Policy{MinAge: time.Hour, AllowUnknownAge: true}.Apply(&got, now)
	if got.Hold != review.NotHeld {
		t.Errorf("hold %q with unknown age allowed", got.Hold)
	}
}

// failingReader answers every read with a registry failure.
type failingReader struct{ err error }

func (f failingReader) ReadContent(_ context.Context, reqs []resolve.ContentRequest) []resolve.Content {
	out := make([]resolve.Content, len(reqs))
	for i, r := range reqs {
		out[i] = resolve.Content{ContentRequest: r, Err: &resolve.Error{Ref: r.String(), Err: f.err}}
	}
	return out
}

// TestRegistryFailure: a failure to read, other than a digest the registry
// does not have, is the error.
func TestRegistryFailure(t *testing.T) {
	refused := errors.New("connection refused")
	_, err := review.Run(context.Background(), failingReader{refused}, []review.Move{{Repo: "127.0.0.1:1/a/b", Tag: "1",
		Old: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
		New: "sha256:2222222222222222222222222222222222222222222222222222222222222222"}})
	var rerr *resolve.Error
	if !errors.As(err, &rerr) || !errors.Is(err, refused) {
		t.Errorf("error %v, want the reader's", err)
	}
	got, err := review.Run(context.Background(), failingReader{resolve.ErrNotFound}, []review.Move{{Repo: "127.0.0.1:1/a/b", Tag: "1",
		Old: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
		New: "sha256:2222222222222222222222222222222222222222222222222222222222222222"}})
	if err != nil || !got[0].Old.Missing || !got[0].New.Missing {
		t.Errorf("review %+v, %v; want both sides missing, no error", got, err)
	}
}

func TestPolicy(t *testing.T) {
	now := time.Date(2025, 1, 12, 8, 0, 0, 0, time.UTC)
	young := review.Review{New: review.Image{Created: now.Add(-2 * time.Hour)}}
	old := review.Review{New: review.Image{Created: now.Add(-100 * time.Hour)}}
	unknown := review.Review{}
	unused := review.Review{New: review.Image{Created: now.Add(-100 * time.Hour)}, UnusedOnly: true}
	for _, tc := range []struct {
		desc     string
		r        review.Review
		p        review.Policy
		want     review.Hold
		eligible time.Time
	}{
		{"no cooldown", young, review.Policy{}, review.NotHeld, time.Time{}},
		{"too young", young, review.Policy{MinAge: 72 * time.Hour}, review.HoldTooYoung, now.Add(70 * time.Hour)},
		{"old enough", old, review.Policy{MinAge: 72 * time.Hour}, review.NotHeld, time.Time{}},
		{"unknown age", unknown, review.Policy{MinAge: 72 * time.Hour}, review.HoldUnknownAge, time.Time{}},
		{"unknown age allowed", unknown, review.Policy{MinAge: 72 * time.Hour, AllowUnknownAge: true}, review.NotHeld, time.Time{}},
		{"unknown age, no cooldown", unknown, review.Policy{}, review.NotHeld, time.Time{}},
		{"unused platforms reported", unused, review.Policy{}, review.NotHeld, time.Time{}},
		{"unused platforms ignored", unused, review.Policy{IgnoreUnusedPlatforms: true}, review.HoldUnusedPlatforms, time.Time{}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			r := tc.r
			tc.p.Apply(&r, now)
			if r.Hold != tc.want || !r.Eligible.Equal(tc.eligible) {
				t.Errorf("hold %q eligible %v, want %q %v", r.Hold, r.Eligible, tc.want, tc.eligible)
			}
		})
	}
}

// Keep the image builder honest: what IndexWithMeta annotates is what a
// registry serves.
func TestIndexWithMetaAnnotations(t *testing.T) {
	idx, _, err := registry.IndexWithMeta("x", official("1", rev1, baseD1, created1), "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Manifests[0].Annotations["org.opencontainers.image.version"] != "1" || m.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("index %+v", m)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	mf, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if mf.Annotations["org.opencontainers.image.revision"] != rev1 {
		t.Errorf("manifest annotations %v", mf.Annotations)
	}
}
