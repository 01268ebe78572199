package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/testing/engine"
	"github.com/imglock/imglock/internal/testing/registry"
)

// TestContextsFeedBuildx: what imglock contexts prints for
// docker/build-push-action's build-contexts input, each line given to
// docker buildx build --build-context as the action does, builds from the
// locked bytes on buildkitd after the tags moved upstream: an ARG-selected
// FROM and a COPY --from image.
func TestContextsFeedBuildx(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	eng := engine.Docker(t).On(engine.BuildKit)
	reg := registry.Start()
	defer reg.Close()
	push := func(v string) {
		for _, name := range []string{"ctxbase", "ctxextra"} {
			if _, err := reg.Push("acme/"+name+":1", name+" "+v); err != nil {
				t.Fatal(err)
			}
		}
	}
	push("v1")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "ARG BASE=" + reg.Addr + "/acme/ctxbase:1\nFROM ${BASE}\nCOPY --from=" + reg.Addr + "/acme/ctxextra:1 /base.txt /extra.txt\n",
	})
	mustRun(t, imglockCmd(ctx, eng, dir, "lock"))
	push("v2")

	cmd := imglockCmd(ctx, eng, dir, "contexts", "--format", "build-push-action", ".")
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("imglock contexts: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("imglock contexts printed %d lines, want 2:\n%s", len(lines), b)
	}
	t.Logf("imglock contexts --format build-push-action .\n%s", b)
	out := eng.NewOutput(t.TempDir())
	args := []string{"buildx", "build"}
	for _, l := range lines {
		args = append(args, "--build-context", l)
	}
	mustRun(t, eng.Cmd(ctx, append(append(args, out.Args()...), dir)...))
	got, err := out.ReadFiles(ctx, "/base.txt", "/extra.txt")
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"/base.txt": "ctxbase v1\n", "/extra.txt": "ctxextra v1\n"} {
		if got[file] != want {
			t.Errorf("%s says %q, want the locked %q", file, got[file], want)
		}
	}
}
