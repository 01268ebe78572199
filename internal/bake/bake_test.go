package bake

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imglock/imglock/internal/dockerfile"
)

// printed is docker buildx bake --print output (v0.38) for targets with a
// context, inherited args, a matrix, named contexts, an inline Dockerfile
// and a remote context.
const printed = `{
  "group": {"default": {"targets": ["app", "tools"]}},
  "target": {
    "app": {
      "context": ".",
      "dockerfile": "app.Dockerfile",
      "args": {"BASE": "reg/acme/base:1", "COMMON": "x", "UNSET": null},
      "target": "final",
      "platforms": ["linux/amd64", "linux/arm64", "local"]
    },
    "tools-a": {"context": "tools", "dockerfile": "Dockerfile", "args": {"V": "a"}},
    "extra": {
      "context": ".",
      "contexts": {"alpine": "target:app", "base": "docker-image://busybox:1", "build": "./dir"},
      "dockerfile": "Dockerfile"
    },
    "inline": {"context": ".", "dockerfile-inline": "FROM alpine\n"},
    "remote": {"context": "https://github.com/moby/buildkit.git#v0.34.2", "dockerfile": "Dockerfile"},
    "abs": {"context": "sub", "dockerfile": "/src/x.Dockerfile"}
  }
}`

func definition(t *testing.T) *Definition {
	t.Helper()
	var d Definition
	if err := json.Unmarshal([]byte(printed), &d); err != nil {
		t.Fatal(err)
	}
	for name, tg := range d.Targets {
		tg.Name = name
	}
	return &d
}

func TestDockerfilePath(t *testing.T) {
	d := definition(t)
	for name, want := range map[string]string{
		"app":     "app.Dockerfile",
		"tools-a": filepath.Join("tools", "Dockerfile"),
		"extra":   "Dockerfile",
		"abs":     filepath.FromSlash("/src/x.Dockerfile"),
		"inline":  "error: inline",
		"remote":  "error: imglock needs a local directory",
	} {
		got, err := d.Targets[name].DockerfilePath()
		if w, ok := strings.CutPrefix(want, "error: "); ok {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q, %v; want an error saying %q", name, got, err, w)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	if names := targetNames(d.Sorted()); !slices.Equal(names, []string{"abs", "app", "extra", "inline", "remote", "tools-a"}) {
		t.Errorf("Sorted: %q", names)
	}
}

func targetNames(ts []*Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

func TestBuilds(t *testing.T) {
	d := definition(t)
	builds := d.Targets["app"].Builds(map[string]string{"BASE": "under", "OTHER": "kept"})
	if len(builds) != 2 {
		t.Fatalf("builds %v; want linux/amd64 (local too) and linux/arm64", builds)
	}
	for i, pl := range []string{"linux/amd64", "linux/arm64"} {
		b := builds[i]
		if b.Platform != pl || b.BuildArgs["BASE"] != "reg/acme/base:1" || b.BuildArgs["OTHER"] != "kept" || b.BuildArgs["COMMON"] != "x" {
			t.Errorf("build %d: %+v", i, b)
		}
		if _, ok := b.BuildArgs["UNSET"]; ok {
			t.Errorf("build %d passes the null arg UNSET", i)
		}
	}
	if got := d.Targets["tools-a"].BuildPlatforms(); !slices.Equal(got, []string{dockerfile.DefaultPlatform}) {
		t.Errorf("no platforms: %q", got)
	}
	if d.Targets["app"].Stage() != "final" || d.Targets["tools-a"].Stage() != "" {
		t.Error("Stage")
	}
}

// TestReplaces: a named context replaces an image by its familiar name and
// a stage by its name, in any case, as BuildKit looks them up.
func TestReplaces(t *testing.T) {
	data := "FROM alpine AS one\nFROM docker.io/library/busybox:1 AS build\nFROM debian:12\nCOPY --from=alpine:latest / /\n"
	f, err := dockerfile.Parse("Dockerfile", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	refs, problems := f.Pulls([]dockerfile.Build{{Platform: dockerfile.DefaultPlatform}}, nil)
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	extra := definition(t).Targets["extra"]
	var kept []string
	for _, r := range refs {
		if !extra.Replaces(r) {
			kept = append(kept, r.Written)
		}
	}
	// alpine (FROM and COPY --from) by its name; the stage build by its
	// name; busybox:1 is no context of its own.
	if want := []string{"debian:12"}; !slices.Equal(kept, want) {
		t.Errorf("not replaced: %q, want %q", kept, want)
	}
	if got := extra.ImageContexts(); len(got) != 1 || got["base"] != "busybox:1" {
		t.Errorf("ImageContexts: %v", got)
	}
}

func TestRel(t *testing.T) {
	root := t.TempDir()
	for p, want := range map[string]string{
		"Dockerfile":                        "Dockerfile",
		filepath.Join("a", "..", "b", "D"):  "b/D",
		filepath.Join(root, "c", "D"):       "c/D",
		filepath.Join("..", "outside", "D"): "",
		filepath.Join(root, "..", "other"):  "",
	} {
		got, ok := Rel(root, p)
		if got != want || ok != (want != "") {
			t.Errorf("Rel(%q) = %q, %v; want %q", p, got, ok, want)
		}
	}
}
