package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/testing/engine"
	"github.com/imglock/imglock/internal/testing/registry"
)

// TestComposeUsesLockedBytes is the promise of imglock compose, on every
// build path, with the docker compose plugin: a project with a plain
// image, an image from .env, a build with args and a target, a service of
// a profile and an override file is locked with exactly what it pulls;
// then every tag moves upstream. imglock compose pull pulls the locked
// digests and imglock compose build builds from the locked bases, while a
// plain docker compose pull gets the new ones. The pin mode is detected:
// a source policy on buildkitd, dockerfile_inline on the engine's BuildKit
// 0.8, a pinned Dockerfile outside the context on the classic builder.
func TestComposeUsesLockedBytes(t *testing.T) {
	e := engine.Docker(t)
	e.Compose(t)
	reg := registry.Start()
	defer reg.Close()
	wantMode := map[engine.Path]string{
		engine.Classic:        "/app.Dockerfile",
		engine.EngineBuildKit: "dockerfile_inline: |",
		engine.BuildKit:       "EXPERIMENTAL_BUILDKIT_SOURCE_POLICY=",
	}
	for _, path := range engine.Paths {
		t.Run(path.String(), func(t *testing.T) {
			eng := e.On(path)
			eng.Forget(t, reg.Addr)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			acme := reg.Addr + "/acme-" + path.String()
			push := func(tag, content string) string {
				t.Helper()
				d, err := reg.Push(strings.TrimPrefix(acme, reg.Addr+"/")+"/"+tag, content)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			images := []string{"web:1", "web:2", "cache:7", "debug:1", "base:1", "tools:1", "default:1", "other:1"}
			v1 := map[string]string{}
			for _, img := range images {
				v1[img] = push(img, img+" v1")
			}
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"compose.yaml": "name: pins-" + path.String() + "\n" +
					"services:\n" +
					"  web:\n" +
					"    image: " + acme + "/web:1\n" +
					"  cache:\n" +
					"    image: ${CACHE_IMAGE}\n" +
					"  app:\n" +
					"    build:\n" +
					"      context: app\n" +
					"      dockerfile: Buildfile\n" +
					"      args:\n" +
					"        BASE: " + acme + "/base:1\n" +
					"      target: final\n" +
					"  debug:\n" +
					"    image: " + acme + "/debug:1\n" +
					"    profiles: [debug]\n",
				"compose.override.yaml": "services:\n  web:\n    image: " + acme + "/web:2\n",
				".env":                  "CACHE_IMAGE=" + acme + "/cache:7\n",
				"app/Buildfile": "ARG BASE=" + acme + "/default:1\n" +
					"FROM ${BASE} AS base\n" +
					"FROM " + acme + "/tools:1 AS tools\n" +
					"FROM base AS final\n" +
					"COPY --from=tools /base.txt /tools.txt\n" +
					"COPY hello.txt /hello.txt\n" +
					"FROM " + acme + "/other:1 AS other\n",
				"app/hello.txt": "hello\n",
			})

			mustRun(t, imglockCmd(ctx, eng, dir, "lock"))
			lockText, err := os.ReadFile(filepath.Join(dir, "images.lock"))
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			for _, img := range []string{"base:1", "cache:7", "debug:1", "tools:1", "web:2"} {
				repo, tag, _ := strings.Cut(img, ":")
				want += acme + "/" + repo + " " + tag + " " + v1[img] + "\n"
			}
			if string(lockText) != want {
				t.Fatalf("images.lock:\n%s\nwant exactly:\n%s", lockText, want)
			}
			t.Logf("locked:\n%s", lockText)

			moved := map[string]string{}
			for _, img := range images {
				moved[img] = push(img, img+" moved")
			}

			printed := mustRun(t, imglockCmd(ctx, eng, dir, "compose", "--print", "build"))
			if !strings.Contains(printed, wantMode[path]) {
				t.Errorf("on %s, imglock compose --print build chose:\n%s\nwant %s", path, printed, wantMode[path])
			}

			// pull: the locked digests, stored untagged, by digest.
			mustRun(t, imglockCmd(ctx, eng, dir, "compose", "pull"))
			for _, img := range []string{"web:2", "cache:7"} {
				repo, _, _ := strings.Cut(img, ":")
				if ok, out := eng.Inspect(ctx, acme+"/"+repo+"@"+v1[img]); !ok {
					t.Errorf("after imglock compose pull, no %s@%s (locked): %s", repo, v1[img], out)
				}
				if ok, _ := eng.Inspect(ctx, acme+"/"+repo+"@"+moved[img]); ok {
					t.Errorf("imglock compose pull pulled %s@%s, where the tag moved, not the locked digest", repo, moved[img])
				}
			}

			// build: from the locked bases; on buildkitd with named
			// contexts too, the mode for a BuildKit without policies.
			app := "pins-" + path.String() + "-app"
			modes := [][]string{nil}
			if path == engine.BuildKit {
				modes = append(modes, []string{"--pin-mode", "contexts"})
			}
			for _, mode := range modes {
				mustRun(t, imglockCmd(ctx, eng, dir, append(append([]string{"compose"}, mode...), "build", "app")...))
				got, err := eng.ImageFiles(ctx, app, "/base.txt", "/tools.txt", "/hello.txt")
				if err != nil {
					t.Fatal(err)
				}
				for file, want := range map[string]string{"/base.txt": "base:1 v1\n", "/tools.txt": "tools:1 v1\n", "/hello.txt": "hello\n"} {
					if got[file] != want {
						t.Errorf("imglock compose %v build on %s: %s says %q, want the locked %q", mode, path, file, got[file], want)
					}
				}
				t.Logf("on %s, imglock compose %v build: /base.txt %q, /tools.txt %q", path, mode, got["/base.txt"], got["/tools.txt"])
			}

			// docker compose alone builds from what the tags point at today.
			plainBuild := eng.Cmd(ctx, "compose", "build", "--pull", "app")
			plainBuild.Dir = dir
			mustRun(t, plainBuild)
			got, err := eng.ImageFiles(ctx, app, "/base.txt", "/tools.txt")
			if err != nil {
				t.Fatal(err)
			}
			if got["/base.txt"] != "base:1 moved\n" || got["/tools.txt"] != "tools:1 moved\n" {
				t.Errorf("docker compose build --pull on %s: /base.txt %q, /tools.txt %q; want the moved tags", path, got["/base.txt"], got["/tools.txt"])
			}

			// docker compose alone pulls what the tags point at today.
			plain := eng.Cmd(ctx, "compose", "pull", "--ignore-buildable")
			plain.Dir = dir
			mustRun(t, plain)
			for _, img := range []string{"web:2", "cache:7"} {
				repo, _, _ := strings.Cut(img, ":")
				if ok, out := eng.Inspect(ctx, acme+"/"+repo+"@"+moved[img]); !ok {
					t.Errorf("docker compose pull did not pull %s@%s, where the tag points now: %s", repo, moved[img], out)
				}
			}
			for _, img := range []string{"web:2", "cache:7", "base:1", "tools:1"} {
				t.Logf("on %s: %s locked %s, moved upstream to %s", path, img, v1[img], moved[img])
			}
		})
	}
}
