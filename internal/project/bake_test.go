package project

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/imglock/imglock/internal/bake"
	"github.com/imglock/imglock/internal/config"
	"github.com/imglock/imglock/internal/dockerfile"
)

// bakeTargets are targets as docker buildx bake --print gives them.
func bakeTargets(t *testing.T, printed string) []*bake.Target {
	t.Helper()
	var def bake.Definition
	if err := json.Unmarshal([]byte(printed), &def); err != nil {
		t.Fatal(err)
	}
	for name, tg := range def.Targets {
		tg.Name = name
	}
	return def.Sorted()
}

// TestBakePulls: a Dockerfile whose ARGs have no default is evaluated with
// each bake target's args, over imglock.toml's, for its platforms, with
// imglock.toml's variants too; an image a named context replaces is not
// pulled; the lock records lines for the targets' platforms.
func TestBakePulls(t *testing.T) {
	const data = "ARG BASE\nARG FLAVOR=plain\nFROM ${BASE} AS build\nFROM tool-${FLAVOR}:1 AS tool\nFROM replaced:1\nCOPY --from=build / /b\nCOPY --from=tool / /t\n"
	f, err := dockerfile.Parse("Dockerfile", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	targets := bakeTargets(t, `{"target": {
		"app": {"context": ".", "dockerfile": "Dockerfile", "args": {"BASE": "base:1"}, "platforms": ["linux/arm64"],
			"contexts": {"replaced:1": "docker-image://other@sha256:`+fmt.Sprintf("%064x", 1)+`"}},
		"tool-a": {"context": ".", "dockerfile": "Dockerfile", "args": {"BASE": "base:2", "FLAVOR": "a"}}
	}}`)
	settings := config.Settings{
		BuildArgs: map[string]string{"BASE": "never", "FLAVOR": "toml"},
		Variants:  []map[string]string{{"FLAVOR": "variant"}},
	}
	refs, problems, platforms := bakePulls(f, settings, map[string]string{}, targets)
	if err := problems.Err(); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, r := range refs {
		got[fmt.Sprintf("%d %s", r.Line, r.Image)] = r.Platforms
	}
	want := map[string][]string{
		"3 docker.io/library/base:1":         {"linux/arm64"},
		"3 docker.io/library/base:2":         {"linux/amd64"},
		"4 docker.io/library/tool-toml:1":    {"linux/arm64"}, // app: imglock.toml's FLAVOR
		"4 docker.io/library/tool-a:1":       {"linux/amd64"}, // tool-a's own
		"4 docker.io/library/tool-variant:1": {"linux/amd64", "linux/arm64"},
		"5 docker.io/library/replaced:1":     {"linux/amd64"}, // tool-a has no context for it
	}
	if len(got) != len(want) {
		t.Errorf("refs %v, want %v", got, want)
	}
	for k, pls := range want {
		if !slices.Equal(got[k], pls) {
			t.Errorf("%s: platforms %v, want %v (all: %v)", k, got[k], pls, got)
		}
	}
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("recorded platforms %v", platforms)
	}

	// No target names a platform, nor does imglock.toml: no lines.
	_, _, platforms = bakePulls(f, config.Settings{}, nil, targets[1:])
	if platforms != nil {
		t.Errorf("recorded platforms %v, want none", platforms)
	}
	// The command line's build args win over the bake file's.
	refs, _, _ = bakePulls(f, config.Settings{}, map[string]string{"BASE": "cli:1"}, targets[1:])
	if refs[0].Image.String() != "docker.io/library/cli:1" {
		t.Errorf("with --build-arg BASE=cli:1: %s", refs[0].Image)
	}
}
