package project

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imglock/imglock/internal/config"
	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/testing/registry"
	"github.com/imglock/imglock/lock"
)

var (
	digestA = "sha256:" + strings.Repeat("a", 64)
	digestB = "sha256:" + strings.Repeat("b", 64)
	digestC = "sha256:" + strings.Repeat("c", 64)
)

func ref(t testing.TB, file string, line int, written string) dockerfile.Reference {
	t.Helper()
	img, err := imageref.Parse(written)
	if err != nil {
		t.Fatal(err)
	}
	return dockerfile.Reference{File: file, Line: line, Kind: dockerfile.KindFrom, Written: written, Expanded: written, Image: img}
}

// lockedProject is a project of refs whose lock, named images.lock in
// messages, holds text.
func lockedProject(t *testing.T, refs []dockerfile.Reference, platforms []string, text string) *Project {
	t.Helper()
	refs = withPlatforms(refs, platforms)
	f, err := lock.Parse("images.lock", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return &Project{Config: &config.Config{Platforms: platforms}, LockName: "images.lock", Refs: refs, lock: f, lockData: []byte(text)}
}

// testProject is a project of refs with the lock at path, read now, and a
// resolver with no credentials. As scanning does, it gives each reference
// the platforms configured, or its own FROM --platform.
func testProject(t testing.TB, refs []dockerfile.Reference, platforms []string, path string) *Project {
	t.Helper()
	refs = withPlatforms(refs, platforms)
	p := &Project{Config: &config.Config{Platforms: platforms}, LockName: path, Refs: refs, store: lockOnDisk(path), newResolver: realResolver}
	if err := p.readLock(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVerify(t *testing.T) {
	refs := []dockerfile.Reference{
		ref(t, "Dockerfile", 1, "alpine:3"),
		ref(t, "Dockerfile", 2, "golang:1@"+digestA), // disagrees with the lock
		ref(t, "b/Dockerfile", 5, "redis:7"),         // not locked
		ref(t, "b/Dockerfile", 6, "docker.io/library/alpine:3@"+digestA),
		ref(t, "b/Dockerfile", 7, "busybox@"+digestC), // digest only: nothing to lock
	}
	p := lockedProject(t, refs, nil, ""+
		"docker.io/library/alpine 3 "+digestA+"\n"+
		"docker.io/library/golang 1 "+digestB+"\n"+
		"docker.io/library/unused 9 "+digestC+"\n")
	got := p.Verify().Error()
	want := "Dockerfile:2: golang:1 is pinned to " + digestA + " in the file but to " + digestB + " in images.lock; correct the file, or run 'imglock lock' to take the file's digest\n" +
		"b/Dockerfile:5: redis:7 is not in images.lock; run 'imglock lock' to add it\n" +
		"images.lock:3: docker.io/library/unused:9 is not used by any Dockerfile; run 'imglock lock' to drop it"
	if got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

func TestVerifyNonCanonicalLock(t *testing.T) {
	refs := []dockerfile.Reference{ref(t, "Dockerfile", 1, "alpine:3"), ref(t, "Dockerfile", 2, "golang:1")}
	p := lockedProject(t, refs, nil, "docker.io/library/golang 1 "+digestB+"\nalpine 3 "+digestA+"\n")
	got := p.Verify().Error()
	if !strings.HasPrefix(got, "images.lock:1: images.lock is not in canonical form") || strings.Count(got, "\n") != 0 {
		t.Errorf("problems:\n%s\nwant one, at line 1, about canonical form", got)
	}
	p.lockData = p.lock.Format()
	if problems := p.Verify(); len(problems) != 0 {
		t.Errorf("canonical lock: %v", problems)
	}
}

// realResolver is the resolver imglock uses; TestMain keeps it from the
// machine's credentials.
func withPlatforms(refs []dockerfile.Reference, platforms []string) []dockerfile.Reference {
	out := slices.Clone(refs)
	for i, r := range out {
		out[i].Platforms = platforms
		if r.Platform != "" {
			out[i].Platforms = append(slices.Clip(platforms), r.Platform)
		}
		out[i].Default = true
	}
	return out
}

func realResolver() (resolve.Resolver, error) {
	return resolve.New()
}

func TestTidy(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	redis, err := reg.Push("redis:7", "redis")
	if err != nil {
		t.Fatal(err)
	}
	alpine, gone := reg.Addr+"/alpine", reg.Addr+"/gone"
	path := filepath.Join(t.TempDir(), "images.lock")
	old := alpine + " 3 " + digestA + "\n" + gone + " 1 " + digestC + "\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	refs := []dockerfile.Reference{
		ref(t, "Dockerfile", 1, alpine+":3"),
		ref(t, "Dockerfile", 2, reg.Addr+"/redis:7"),
		ref(t, "Dockerfile", 3, reg.Addr+"/golang:1@"+digestC), // seeds without a request
	}
	reg.ResetCounts()
	res, err := testProject(t, refs, nil, path).Tidy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c := reg.Counts(); c["head"] != 1 || c["total"] != 2 {
		t.Errorf("requests %v, want one ping and one HEAD (redis:7 only)", c)
	}
	data, _ := os.ReadFile(path)
	want := alpine + " 3 " + digestA + "\n" + reg.Addr + "/golang 1 " + digestC + "\n" + reg.Addr + "/redis 7 " + redis + "\n"
	if string(data) != want {
		t.Errorf("lock:\n%s\nwant:\n%s", data, want)
	}
	if len(res.Changes) != 3 || res.Resolved != 1 {
		t.Errorf("changes %+v (resolved %d), want golang and redis added, gone removed, one resolved", res.Changes, res.Resolved)
	}

	// Up to date: the resolver is not even created.
	p := testProject(t, refs, nil, path)
	p.newResolver = func() (resolve.Resolver, error) {
		t.Error("resolver created for an up-to-date lock")
		return nil, errors.New("no network")
	}
	_, err = p.Tidy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
}

func TestTidyFailureLeavesLock(t *testing.T) {
	reg := registry.Start()
	reg.Close() // connections refused from here on
	path := filepath.Join(t.TempDir(), "images.lock")
	old := "docker.io/library/alpine 3 " + digestA + "\ndocker.io/library/gone 1 " + digestC + "\n"
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	refs := []dockerfile.Reference{ref(t, "Dockerfile", 1, "alpine:3"), ref(t, "Dockerfile", 2, reg.Addr+"/redis:7")}
	_, err := testProject(t, refs, nil, path).Tidy(context.Background())
	if resolve.Failures(err)[reg.Addr+"/redis:7"] == nil {
		t.Fatalf("error %v, want the reference's failure to resolve", err)
	}
	if data, _ := os.ReadFile(path); string(data) != old {
		t.Errorf("lock changed after a failed resolution:\n%s", data)
	}
}
func TestTidyConflictingPins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "images.lock")
	refs := []dockerfile.Reference{
		ref(t, "a/Dockerfile", 1, "alpine:3@"+digestA),
		ref(t, "b/Dockerfile", 4, "alpine:3@"+digestB),
	}
	_, err := testProject(t, refs, nil, path).Tidy(context.Background())
	var d *diag.Diagnostic
	if !errors.As(err, &d) || d.Kind != diag.Mismatch || !strings.HasPrefix(err.Error(), "b/Dockerfile:4: alpine:3 is pinned to "+digestB+" here but to "+digestA+" at a/Dockerfile:1") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("lock written despite the conflict")
	}
}

func TestTidyPlatforms(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	idx, plats, err := reg.PushIndex("multi:1", "v1", "linux/amd64", "linux/arm64", "linux/arm/v7")
	if err != nil {
		t.Fatal(err)
	}
	repo := reg.Addr + "/multi"
	path := filepath.Join(t.TempDir(), "images.lock")
	refs := []dockerfile.Reference{ref(t, "Dockerfile", 1, repo+":1")}
	if _, err := testProject(t, refs, []string{"linux/amd64"}, path).Tidy(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := repo + " 1 " + idx + "\n" + repo + " 1/linux/amd64 " + plats["linux/amd64"] + "\n"
	if data, _ := os.ReadFile(path); string(data) != want {
		t.Errorf("lock:\n%s\nwant:\n%s", data, want)
	}

	// The tag moves upstream; a newly wanted platform (here from a FROM
	// --platform) is read from the locked index, so the pin does not move.
	if _, _, err := reg.PushIndex("multi:1", "v2", "linux/amd64", "linux/arm64", "linux/arm/v7"); err != nil {
		t.Fatal(err)
	}
	armRef := ref(t, "Dockerfile", 2, repo+":1")
	armRef.Platform = "linux/arm/v7"
	refs = append(refs, armRef)
	res, err := testProject(t, refs, []string{"linux/amd64"}, path).Tidy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want = repo + " 1 " + idx + "\n" + repo + " 1/linux/amd64 " + plats["linux/amd64"] + "\n" + repo + " 1/linux/arm/v7 " + plats["linux/arm/v7"] + "\n"
	if data, _ := os.ReadFile(path); string(data) != want {
		t.Errorf("lock:\n%s\nwant:\n%s", data, want)
	}
	if len(res.Changes) != 1 || res.Changes[0].Key != "1/linux/arm/v7" || res.Changes[0].Old != "" {
		t.Errorf("changes %+v, want the arm/v7 line added", res.Changes)
	}
	if problems := lockedProject(t, refs, []string{"linux/amd64"}, want).Verify(); len(problems) != 0 {
		t.Errorf("verify: %v", problems)
	}

	// A platform no longer wanted is dropped, without a request.
	p := testProject(t, refs[:1], []string{"linux/amd64"}, path)
	p.newResolver = func() (resolve.Resolver, error) { return nil, errors.New("no request expected") }
	res, err = p.Tidy(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 1 || res.Changes[0].New != "" {
		t.Errorf("changes %+v, want the arm/v7 line dropped", res.Changes)
	}
}

func TestVerifyPlatformLines(t *testing.T) {
	refs := []dockerfile.Reference{ref(t, "Dockerfile", 1, "alpine:3")}
	got := lockedProject(t, refs, []string{"linux/amd64"}, "docker.io/library/alpine 3 "+digestA+"\n"+
		"docker.io/library/alpine 3/linux/s390x "+digestB+"\n").Verify().Error()
	want := "Dockerfile:1: alpine:3 has no linux/amd64 line in images.lock; run 'imglock lock' to add it\n" +
		"images.lock:2: docker.io/library/alpine 3/linux/s390x is for a platform not configured or named by a FROM --platform; run 'imglock lock' to drop it"
	if got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

// TestComposeBuildsOfADockerfile: a Dockerfile that discovery finds and a
// compose file builds is evaluated both ways, one reference per place:
// the compose build's platforms are recorded, its args and target add the
// images they select. A Dockerfile only a compose file names is evaluated
// only as it builds it.
func TestComposeBuildsOfADockerfile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "Dockerfile"), "ARG BASE=alpine:3.22\nFROM ${BASE} AS base\nFROM golang:1.26 AS build\nFROM base\n")
	writeFile(t, filepath.Join(dir, "only.df"), "FROM debian:12 AS a\nFROM ubuntu:24.04 AS b\n")
	writeFile(t, filepath.Join(dir, "compose.yaml"), `services:
  app:
    build:
      context: .
      args: {BASE: alpine:3.21}
      platforms: [linux/arm64]
  tool:
    build:
      context: .
      dockerfile: only.df
      target: a
`)
	p, err := Open(Options{Root: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Problems) > 0 {
		t.Fatal(p.Problems)
	}
	var got []string
	for _, r := range p.Refs {
		got = append(got, fmt.Sprintf("%s:%d %s %v", filepath.Base(r.File), r.Line, r.Expanded, r.Platforms))
	}
	want := []string{
		"Dockerfile:2 alpine:3.22 []",
		"Dockerfile:2 alpine:3.21 [linux/arm64]",
		"Dockerfile:3 golang:1.26 []",
		"only.df:1 debian:12 []",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Refs\n got %q\nwant %q", got, want)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
