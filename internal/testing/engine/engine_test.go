package engine_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/testing/engine"
	"github.com/imglock/imglock/internal/testing/registry"
)

// TestSmoke builds FROM an image of a loopback registry on every path and
// reads the base image's file back from the result; on BuildKit a named
// context replaces the FROM, which dockerd's BuildKit 0.8 refuses.
func TestSmoke(t *testing.T) {
	docker := engine.Docker(t)
	reg := startRegistry(t, docker)
	push(t, reg, "acme/base:1", "v1")
	v2 := push(t, reg, "acme/base:2", "v2")
	base := reg.Addr + "/acme/base:1"
	dir := buildContext(t, "FROM "+base+"\nCOPY hello.txt /hello.txt\n")
	dockerfile := filepath.Join(dir, "Dockerfile")

	for _, p := range engine.Paths {
		t.Run(p.String(), func(t *testing.T) {
			e := docker.On(p)
			got, out, err := build(t, e, dir, "", "-f", dockerfile)
			if err != nil {
				t.Fatalf("build: %v\n%s", err, out)
			}
			if got != "v1\n" {
				t.Fatalf("/base.txt = %q, want v1", got)
			}

			// The Dockerfile on standard input, as imglock build sends one
			// with its references pinned.
			pinned := "FROM " + reg.Addr + "/acme/base@" + v2 + "\nCOPY hello.txt /hello.txt\n"
			got, out, err = build(t, e, buildContext(t, ""), pinned, "-f", "-")
			if err != nil {
				t.Fatalf("build -f -: %v\n%s", err, out)
			}
			if got != "v2\n" {
				t.Fatalf("build -f -: /base.txt = %q, want v2", got)
			}

			// The key is the FROM reference as written; buildx normalizes
			// keys itself, so docker.io/library/x:latest would do for x.
			override := []string{"-f", dockerfile,
				"--build-context", base + "=docker-image://" + reg.Addr + "/acme/base@" + v2}
			got, out, err = build(t, e, dir, "", override...)
			switch p {
			case engine.BuildKit:
				if err != nil {
					t.Fatalf("build --build-context: %v\n%s", err, out)
				}
				if got != "v2\n" {
					t.Fatalf("build --build-context: /base.txt = %q, want v2, the named context's", got)
				}
			case engine.EngineBuildKit:
				wantFailure(t, err, out, "unsupported frontend capability moby.buildkit.frontend.contexts")
			case engine.Classic:
				wantFailure(t, err, out, "unknown flag: --build-context")
			}
		})
	}
}

// TestSyntaxArg shows that BuildKit, 0.8 as well, takes its frontend from
// the BUILDKIT_SYNTAX build argument rather than the `# syntax=` line, and
// that the classic builder ignores both. The frontend image named is not
// there: the build fails asking the registry for it.
func TestSyntaxArg(t *testing.T) {
	docker := engine.Docker(t)
	reg := startRegistry(t, docker)
	push(t, reg, "acme/base:1", "v1")
	const missing = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
	frontend := reg.Addr + "/acme/frontend@" + missing
	dir := buildContext(t, "# syntax="+reg.Addr+"/acme/frontend:1\nFROM "+reg.Addr+"/acme/base:1\n")

	for _, p := range engine.Paths {
		t.Run(p.String(), func(t *testing.T) {
			got, out, err := build(t, docker.On(p), dir, "", "-f", filepath.Join(dir, "Dockerfile"),
				"--build-arg", "BUILDKIT_SYNTAX="+frontend)
			if p == engine.Classic {
				if err != nil || got != "v1\n" {
					t.Fatalf("got %q, %v, want v1\n%s", got, err, out)
				}
				if want := "[Warning] One or more build-args [BUILDKIT_SYNTAX] were not consumed"; !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
				return
			}
			wantFailure(t, err, out, frontend+": not found")
		})
	}
}

// TestRemoveImages shows why tests forget their registries: dockerd keeps
// building from the tag it pulled first, even once the registry moved it.
func TestRemoveImages(t *testing.T) {
	docker := engine.Docker(t)
	reg := startRegistry(t, docker)
	push(t, reg, "acme/base:1", "v1")
	dir := buildContext(t, "FROM "+reg.Addr+"/acme/base:1\nCOPY hello.txt /hello.txt\n")
	e := docker.On(engine.Classic)
	read := func() string {
		got, out, err := build(t, e, dir, "", "-f", filepath.Join(dir, "Dockerfile"))
		if err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		return got
	}

	read()
	push(t, reg, "acme/base:1", "v3")
	if got := read(); got != "v1\n" {
		t.Fatalf("after the tag moved: /base.txt = %q, want dockerd's stale v1", got)
	}
	if err := e.RemoveImages(context.Background(), reg.Addr); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != "v3\n" {
		t.Fatalf("after RemoveImages: /base.txt = %q, want v3", got)
	}
}

func startRegistry(t *testing.T, e engine.Engine) *registry.Registry {
	reg := registry.Start()
	t.Cleanup(reg.Close)
	e.Forget(t, reg.Addr)
	return reg
}

func push(t *testing.T, reg *registry.Registry, ref, content string) string {
	d, err := reg.Push(ref, content)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func wantFailure(t *testing.T, err error, out, want string) {
	t.Helper()
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("got error %v, want one saying %q; output:\n%s", err, want, out)
	}
}

// buildContext is a build context directory with hello.txt and, unless
// empty, a Dockerfile.
func buildContext(t *testing.T, dockerfile string) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if dockerfile != "" {
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// build runs `docker build ARGS DIR` on e with stdin and returns /base.txt of
// the result and the build's output.
func build(t *testing.T, e engine.Engine, dir, stdin string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out := e.NewOutput(t.TempDir())
	args = append(args, out.Args()...)
	cmd := e.Cmd(ctx, append(append([]string{"build"}, args...), dir)...)
	cmd.Stdin = strings.NewReader(stdin)
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s: docker build %s: %v in %v", e.Path, strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return "", output.String(), err
	}
	got, err := out.ReadFile(ctx, "/base.txt")
	return got, output.String(), err
}
