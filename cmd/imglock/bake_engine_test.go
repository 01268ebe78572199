package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/build"
	"github.com/imglock/imglock/internal/testing/engine"
	"github.com/imglock/imglock/internal/testing/registry"
)

// bakeFile has two targets: app, for two platforms, whose Dockerfile's
// BASE has no default (the bake file's args give it, through the variable
// TAG), and tool, a matrix of two flavors whose Dockerfile's FLAVOR picks
// the base. Each exports its files to out/TARGET.
const bakeFile = `variable "TAG" {
  default = "1"
}

group "default" {
  targets = ["app", "tool"]
}

target "app" {
  dockerfile = "app.Dockerfile"
  args = { BASE = "$REG/acme/bakebase:${TAG}" }
  platforms = ["linux/amd64", "linux/arm64"]
  target = "final"
  output = ["type=local,dest=out/app"]
}

target "tool" {
  name = "tool-${flavor}"
  matrix = { flavor = ["alpha", "beta"] }
  context = "tools"
  args = { FLAVOR = flavor }
  output = ["type=local,dest=out/tool-${flavor}"]
}
`

var bakeDockerfiles = map[string]string{
	"app.Dockerfile":   "ARG BASE\nFROM ${BASE} AS build\nFROM $REG/acme/bakeextra:1 AS final\nCOPY --from=build /base.txt /app-base.txt\n",
	"tools/Dockerfile": "# syntax=$REG/acme/dockerfile:1\nARG FLAVOR\nFROM $REG/acme/tool-${FLAVOR}:1\n",
}

// TestBake: lock, with no imglock.toml, learns from the bake file what its
// targets build (BASE and FLAVOR have no default in the Dockerfiles), the
// app target's platforms included; then, every tag moved upstream,
// imglock bake builds both targets, all three builds, from the locked
// bytes on buildkitd: with a source policy (detected) and with --set
// named contexts (forced). It refuses, naming the bake target and the
// Dockerfile's line, an image that bake's own options make it pull and the
// lock does not hold.
func TestBake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	eng := engine.Docker(t).On(engine.BuildKit)
	reg := registry.Start()
	defer reg.Close()
	locked := map[string]string{}
	push := func(v string) {
		d, perPlatform, err := reg.PushIndex("acme/bakebase:1", "bakebase "+v, "linux/amd64", "linux/arm64")
		if err != nil {
			t.Fatal(err)
		}
		locked["bakebase"] = d
		for p, d := range perPlatform {
			locked["bakebase "+p] = d
		}
		if locked["bakeextra"], _, err = reg.PushIndex("acme/bakeextra:1", "bakeextra "+v, "linux/amd64", "linux/arm64"); err != nil {
			t.Fatal(err)
		}
		for _, flavor := range []string{"alpha", "beta", "gamma"} {
			if locked["tool-"+flavor], err = reg.Push("acme/tool-"+flavor+":1", "tool "+flavor+" "+v); err != nil {
				t.Fatal(err)
			}
		}
		if v == "v1" {
			locked["dockerfile"] = engine.PushFrontend(t, reg.Addr+"/acme/dockerfile:1")
		} else if _, err := reg.Push("acme/dockerfile:1", "not a frontend"); err != nil {
			t.Fatal(err)
		}
	}
	push("v1")
	want := map[string]string{}
	for k, v := range locked {
		want[k] = v
	}
	dir := t.TempDir()
	files := map[string]string{"docker-bake.hcl": strings.ReplaceAll(bakeFile, "$REG", reg.Addr)}
	for name, content := range bakeDockerfiles {
		files[name] = strings.ReplaceAll(content, "$REG", reg.Addr)
	}
	writeFiles(t, dir, files)

	// What lock learns from the bake file: BASE, FLAVOR and the platforms.
	t.Logf("imglock lock\n%s", mustRun(t, imglockCmd(ctx, eng, dir, "lock")))
	lockData, err := os.ReadFile(filepath.Join(dir, "images.lock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("images.lock:\n%s", lockData)
	for _, line := range []string{
		reg.Addr + "/acme/bakebase 1 " + want["bakebase"],
		reg.Addr + "/acme/bakebase 1/linux/amd64 " + want["bakebase linux/amd64"],
		reg.Addr + "/acme/bakebase 1/linux/arm64 " + want["bakebase linux/arm64"],
		reg.Addr + "/acme/tool-alpha 1 " + want["tool-alpha"],
		reg.Addr + "/acme/tool-beta 1 " + want["tool-beta"],
		reg.Addr + "/acme/dockerfile 1 " + want["dockerfile"],
	} {
		if !strings.Contains(string(lockData), line+"\n") {
			t.Errorf("images.lock lacks %s", line)
		}
	}
	if strings.Contains(string(lockData), "tool-gamma") {
		t.Errorf("images.lock has tool-gamma, which no bake target builds")
	}
	mustRun(t, imglockCmd(ctx, eng, dir, "verify"))
	push("v2")

	for _, force := range []build.Mode{"", build.ModeContexts} {
		name := "auto"
		if force != "" {
			name = string(force)
		}
		t.Run(name, func(t *testing.T) {
			args := []string{"bake"}
			if force != "" {
				args = append(args, "--pin-mode", string(force))
			}
			printed := mustRun(t, imglockCmd(ctx, eng, dir, append(args, "--print")...))
			t.Logf("imglock %s --print\n%s", strings.Join(args, " "), printed)
			wantMode := modeShown[build.ModePolicy]
			if force == build.ModeContexts {
				wantMode = "--set=app.contexts."
			}
			if !strings.Contains(printed, wantMode) {
				t.Errorf("imglock bake --print does not show %s", wantMode)
			}
			os.RemoveAll(filepath.Join(dir, "out"))
			mustRun(t, imglockCmd(ctx, eng, dir, args...))
			for file, content := range map[string]string{
				"out/app/linux_amd64/app-base.txt": "bakebase v1 linux/amd64\n",
				"out/app/linux_arm64/app-base.txt": "bakebase v1 linux/arm64\n",
				"out/app/linux_arm64/base.txt":     "bakeextra v1 linux/arm64\n",
				"out/tool-alpha/base.txt":          "tool alpha v1\n",
				"out/tool-beta/base.txt":           "tool beta v1\n",
			} {
				got, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil || string(got) != content {
					t.Errorf("%s: %q, %v; want %q, from the locked bytes", file, got, err, content)
				}
			}
		})
	}

	// The tags did move: a plain bake of app builds the new bytes.
	os.RemoveAll(filepath.Join(dir, "out"))
	plain := eng.Cmd(ctx, "buildx", "bake", "app")
	plain.Dir = dir
	mustRun(t, plain)
	if got, err := os.ReadFile(filepath.Join(dir, "out/app/linux_arm64/app-base.txt")); err != nil || string(got) != "bakebase v2 linux/arm64\n" {
		t.Errorf("plain docker buildx bake: app-base.txt %q, %v; want what the tag points at now", got, err)
	}

	// bake's own options reach what imglock evaluates: another flavor,
	// which the lock does not hold, is refused before building.
	b, err := imglockCmd(ctx, eng, dir, "bake", "--set", "tool-alpha.args.FLAVOR=gamma").CombinedOutput()
	if err == nil {
		t.Fatalf("imglock bake with an unlocked image succeeded:\n%s", b)
	}
	wantMsg := filepath.Join("tools", "Dockerfile") + ":3: bake target tool-alpha: " + reg.Addr + "/acme/tool-gamma:1 is not in images.lock; run 'imglock lock' first"
	if !strings.Contains(string(b), wantMsg) {
		t.Errorf("imglock bake refused with:\n%s\nwant:\n%s", b, wantMsg)
	}
}
