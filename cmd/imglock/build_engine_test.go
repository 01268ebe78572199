package main

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/build"
	"github.com/imglock/imglock/internal/testing/engine"
	"github.com/imglock/imglock/internal/testing/faultproxy"
	"github.com/imglock/imglock/internal/testing/registry"
)

// imglockCmd runs the imglock binary (testscript.Main puts it on PATH) in
// dir with the engine's environment.
func imglockCmd(ctx context.Context, e engine.Engine, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "imglock", args...)
	cmd.Dir = dir
	cmd.Env = e.Env()
	return cmd
}

func mustRun(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return string(out)
}

// buildPath is one way imglock build runs: an engine, and the pin mode
// when the test forces one rather than letting imglock detect it.
type buildPath struct {
	engine.Engine
	force build.Mode
}

// buildPaths are the engines, each with the mode imglock detects, and
// buildkitd with named contexts forced: the fallback for builders between
// BuildKit 0.10 and 0.12, which CI does not run.
func buildPaths(e engine.Engine) []buildPath {
	var out []buildPath
	for _, p := range engine.Paths {
		out = append(out, buildPath{Engine: e.On(p)})
	}
	return append(out, buildPath{Engine: e.On(engine.BuildKit), force: build.ModeContexts})
}

func (p buildPath) String() string {
	if p.force != "" {
		return p.Path.String() + "-" + string(p.force)
	}
	return p.Path.String()
}

// mode is the pin mode imglock build uses on the path.
func (p buildPath) mode() build.Mode {
	switch {
	case p.force != "":
		return p.force
	case p.Path.SourcePolicies():
		return build.ModePolicy
	case p.Path.NamedContexts():
		return build.ModeContexts
	}
	return build.ModeStdin
}

// build is imglock build args, in dir, on the path.
func (p buildPath) build(ctx context.Context, dir string, args ...string) *exec.Cmd {
	if p.force != "" {
		args = append([]string{"--pin-mode", string(p.force)}, args...)
	}
	return imglockCmd(ctx, p.Engine, dir, append([]string{"build"}, args...)...)
}

// modeShown is what --print shows of each mode.
var modeShown = map[build.Mode]string{
	build.ModePolicy:   build.PolicyEnv + "=",
	build.ModeContexts: "--build-context",
	build.ModeStdin:    " -f - ",
}

// onEveryPath runs test on each build path, against one in-process
// registry whose images dockerd forgets after each path.
func onEveryPath(t *testing.T, test func(t *testing.T, ctx context.Context, path buildPath, reg *registry.Registry)) {
	e := engine.Docker(t)
	reg := registry.Start()
	defer reg.Close()
	for _, path := range buildPaths(e) {
		t.Run(path.String(), func(t *testing.T) {
			path.Forget(t, reg.Addr)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			test(t, ctx, path, reg)
		})
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBuildUsesLockedBytes is the promise of imglock build, on every build
// path: a base locked at v1 and re-pointed upstream to v2 still builds v1
// through imglock, while a plain docker build of the same Dockerfile gets
// v2. The mode is detected, not forced: a source policy on buildkitd, the
// Dockerfile on standard input on the engine's BuildKit 0.8 and the classic
// builder; and named contexts, forced, on buildkitd.
func TestBuildUsesLockedBytes(t *testing.T) {
	onEveryPath(t, func(t *testing.T, ctx context.Context, path buildPath, reg *registry.Registry) {
		eng := path.Engine
		repo := "acme/base-" + path.String()
		if _, err := reg.Push(repo+":1", "v1"); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"Dockerfile": "# the app\nFROM " + reg.Addr + "/" + repo + ":1\nCOPY hello.txt /hello.txt\n",
			"hello.txt":  "hello\n",
		})
		mustRun(t, imglockCmd(ctx, eng, dir, "lock"))
		if _, err := reg.Push(repo+":1", "v2"); err != nil {
			t.Fatal(err)
		}

		wantMode := modeShown[path.mode()]
		printed := mustRun(t, path.build(ctx, dir, "--print", "-t", "app", "."))
		if !strings.Contains(printed, wantMode) {
			t.Errorf("on %s, imglock build --print chose:\n%s\nwant a command with %s", path, printed, wantMode)
		}

		out := eng.NewOutput(t.TempDir())
		mustRun(t, path.build(ctx, dir, append(append([]string{"-t", "app"}, out.Args()...), ".")...))
		got, err := out.ReadFile(ctx, "/base.txt")
		if err != nil {
			t.Fatal(err)
		}
		if got != "v1\n" {
			t.Errorf("imglock build on %s: /base.txt says %q, want the locked v1", path, got)
		}

		// --pull: dockerd would otherwise reuse the v1 it pulled for the
		// pinned build, and the point is what the tag gives today.
		plain := eng.NewOutput(t.TempDir())
		cmd := eng.Cmd(ctx, append(append([]string{"build", "--pull", "-t", "plain"}, plain.Args()...), dir)...)
		mustRun(t, cmd)
		got, err = plain.ReadFile(ctx, "/base.txt")
		if err != nil {
			t.Fatal(err)
		}
		if got != "v2\n" {
			t.Errorf("plain docker build on %s: /base.txt says %q, want what the tag points at now, v2", path, got)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "Dockerfile")); !strings.HasPrefix(string(b), "# the app\nFROM "+reg.Addr+"/"+repo+":1\n") {
			t.Errorf("the Dockerfile on disk changed:\n%s", b)
		}
	})
}

// TestBuildPinsEveryKindOfReference: a global-ARG FROM, a COPY --from image
// and a multi-stage --target build pinned on every path, and --print shows
// each pin.
func TestBuildPinsEveryKindOfReference(t *testing.T) {
	onEveryPath(t, func(t *testing.T, ctx context.Context, path buildPath, reg *registry.Registry) {
		eng := path.Engine
		base, extra := reg.Addr+"/acme/argbase-"+path.String(), reg.Addr+"/acme/extra-"+path.String()
		baseV1, err := reg.Push(strings.TrimPrefix(base, reg.Addr+"/")+":1", "base v1")
		if err != nil {
			t.Fatal(err)
		}
		extraV1, err := reg.Push(strings.TrimPrefix(extra, reg.Addr+"/")+":1", "extra v1")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"Dockerfile": "ARG BASE=" + base + ":1\n" +
				"FROM ${BASE} AS base\n" +
				"COPY hello.txt /hello.txt\n" +
				"FROM base AS final\n" +
				"COPY --from=" + extra + ":1 /base.txt /extra.txt\n" +
				"FROM final AS other\n",
			"hello.txt": "hello\n",
		})
		mustRun(t, imglockCmd(ctx, eng, dir, "lock"))
		for _, ref := range []string{base, extra} {
			if _, err := reg.Push(strings.TrimPrefix(ref, reg.Addr+"/")+":1", "moved"); err != nil {
				t.Fatal(err)
			}
		}

		printed := mustRun(t, path.build(ctx, dir, "--print", "--target", "final", "."))
		for _, pin := range []string{base + ":1@" + baseV1, extra + ":1@" + extraV1} {
			if !strings.Contains(printed, pin) {
				t.Errorf("--print on %s does not show the pin %s:\n%s", path, pin, printed)
			}
		}
		out := eng.NewOutput(t.TempDir())
		mustRun(t, path.build(ctx, dir, append(append([]string{"--target", "final"}, out.Args()...), ".")...))
		got, err := out.ReadFiles(ctx, "/base.txt", "/extra.txt", "/hello.txt")
		if err != nil {
			t.Fatal(err)
		}
		for file, want := range map[string]string{"/base.txt": "base v1\n", "/extra.txt": "extra v1\n", "/hello.txt": "hello\n"} {
			if got[file] != want {
				t.Errorf("on %s, %s says %q, want %q", path, file, got[file], want)
			}
		}
	})
}

// TestBuildPinsSyntaxFrontend: the "# syntax=" frontend is locked like a
// base and reaches BuildKit pinned: through the source policy, or through
// BUILDKIT_SYNTAX with named contexts. Upstream re-points the frontend's
// tag to an image that is no frontend: a plain build fails on it, imglock
// build still runs the locked one.
func TestBuildPinsSyntaxFrontend(t *testing.T) {
	e := engine.Docker(t)
	reg := registry.Start()
	defer reg.Close()
	e.Forget(t, reg.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	frontend := reg.Addr + "/acme/dockerfile:1"
	locked := engine.PushFrontend(t, frontend)
	if _, err := reg.Push("acme/base:1", "v1"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"Dockerfile": "# syntax=" + frontend + "\nFROM " + reg.Addr + "/acme/base:1\nCOPY hello.txt /hello.txt\n",
		"hello.txt":  "hello\n",
	})
	eng := e.On(engine.BuildKit)
	mustRun(t, imglockCmd(ctx, eng, dir, "lock"))
	if _, err := reg.Push("acme/dockerfile:1", "not a frontend"); err != nil {
		t.Fatal(err)
	}

	for _, path := range []buildPath{{Engine: eng}, {Engine: eng, force: build.ModeContexts}} {
		t.Run(path.String(), func(t *testing.T) {
			printed := mustRun(t, path.build(ctx, dir, "--print", "."))
			want := map[build.Mode]string{
				build.ModePolicy:   `"updates":{"identifier":"docker-image://` + frontend + "@" + locked + `"}`,
				build.ModeContexts: "BUILDKIT_SYNTAX=" + frontend + "@" + locked,
			}[path.mode()]
			if !strings.Contains(printed, want) {
				t.Errorf("--print does not pin the frontend (%s):\n%s", want, printed)
			}
			out := eng.NewOutput(t.TempDir())
			mustRun(t, path.build(ctx, dir, append(out.Args(), ".")...))
			if got, err := out.ReadFile(ctx, "/base.txt"); err != nil || got != "v1\n" {
				t.Errorf("imglock build: /base.txt %q, %v; want v1", got, err)
			}
		})
	}

	plain := eng.Cmd(ctx, append(append([]string{"build"}, eng.NewOutput(t.TempDir()).Args()...), dir)...)
	b, err := plain.CombinedOutput()
	if err == nil {
		t.Fatalf("a plain build with the moved frontend tag succeeded:\n%s", b)
	}
	// It failed running what the tag now names, not for another reason.
	if !strings.Contains(string(b), "acme/dockerfile:1") {
		t.Errorf("the plain build failed, but not on the frontend:\n%s", b)
	}
	t.Logf("plain build, as expected:\n%s", b)
}

// TestBuildExitCodeIsTheBuilders: a build that fails in the builder makes
// imglock build exit with the builder's own code, on every path.
func TestBuildExitCodeIsTheBuilders(t *testing.T) {
	onEveryPath(t, func(t *testing.T, ctx context.Context, path buildPath, reg *registry.Registry) {
		eng := path.Engine
		if _, err := reg.Push("acme/base:1", "v1"); err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"Dockerfile": "FROM " + reg.Addr + "/acme/base:1\nCOPY missing.txt /missing.txt\n",
		})
		mustRun(t, imglockCmd(ctx, eng, dir, "lock"))
		plain := eng.Cmd(ctx, "build", dir)
		plainErr := plain.Run()
		wrapped := path.build(ctx, dir, ".")
		wrappedErr := wrapped.Run()
		if plainErr == nil || wrappedErr == nil {
			t.Fatalf("a build of a missing file succeeded: docker %v, imglock %v", plainErr, wrappedErr)
		}
		if p, w := plain.ProcessState.ExitCode(), wrapped.ProcessState.ExitCode(); p != w {
			t.Errorf("on %s, docker build exited %d but imglock build %d", path, p, w)
		}
	})
}

// TestBuildRefusesBytesThatDoNotMatchTheDigest: a pin is only as good as
// the engine's check of what it pulls. The lock holds the right digest of a
// base; then its registry answers that digest with another image's bytes.
// On every path the engine hashes what it got, refuses it, and the build
// fails; it never builds from the substitute, whose blobs are right there.
func TestBuildRefusesBytesThatDoNotMatchTheDigest(t *testing.T) {
	onEveryPath(t, func(t *testing.T, ctx context.Context, path buildPath, reg *registry.Registry) {
		eng := path.Engine
		repo := "acme/swapped-" + path.String()
		// Contents no engine has seen: a digest it holds already is not
		// fetched again.
		nonce := strconv.FormatUint(rand.Uint64(), 16)
		locked, err := reg.Push(repo+":1", "locked "+nonce)
		if err != nil {
			t.Fatal(err)
		}
		substitute, err := reg.Push(repo+":other", "substitute "+nonce)
		if err != nil {
			t.Fatal(err)
		}
		// The registry as a compromised one or its mirror would answer:
		// requests for the locked digest get the substitute's manifest,
		// still labelled with the locked digest.
		swapping := faultproxy.Start(reg.Addr)
		t.Cleanup(swapping.Close)
		swapping.Substitute(locked, substitute)
		host := swapping.Addr
		eng.Forget(t, host)
		dir := t.TempDir()
		writeFiles(t, dir, map[string]string{
			"Dockerfile": "FROM " + host + "/" + repo + ":1\nCOPY hello.txt /hello.txt\n",
			"hello.txt":  "hello\n",
		})
		// The tag's HEAD passes through: the lock gets the right digest.
		mustRun(t, imglockCmd(ctx, eng, dir, "lock"))
		printed := mustRun(t, path.build(ctx, dir, "--print", "."))
		if !strings.Contains(printed, repo+":1@"+locked) {
			t.Fatalf("the build is not pinned to %s:\n%s", locked, printed)
		}

		out := eng.NewOutput(t.TempDir())
		b, err := path.build(ctx, dir, append(append([]string{"-t", "swapped"}, out.Args()...), ".")...).CombinedOutput()
		if err == nil {
			got, _ := out.ReadFile(ctx, "/base.txt")
			t.Fatalf("on %s the build succeeded from bytes that do not match %s (/base.txt %q):\n%s", path, locked, got, b)
		}
		// It failed on the check of the locked digest, not for another
		// reason: dockerd's puller and containerd's content store word it
		// differently.
		check := regexp.MustCompile(`manifest verification failed for digest ` + locked + `|unexpected commit digest sha256:[0-9a-f]{64}, expected ` + locked)
		if !check.Match(b) {
			t.Errorf("on %s the build failed, but not on the digest check:\n%s", path, b)
		}
	})
}

// TestBuildPlatformsFromLockedBytes: a repository whose Dockerfile pulls
// a different image per platform (tool-${TARGETARCH}) and takes its base
// from a build arg that imglock.toml sets, locked for linux/amd64 and
// linux/arm64 with no command-line build args; after every tag moved
// upstream, imglock build for arm64, and for both platforms at once,
// builds from the locked bytes of each platform (buildkitd: no step runs,
// so no emulation is needed).
func TestBuildPlatformsFromLockedBytes(t *testing.T) {
	eng := engine.Docker(t).On(engine.BuildKit)
	reg := registry.Start()
	defer reg.Close()
	platforms := []string{"linux/amd64", "linux/arm64"}
	push := func(content string) {
		t.Helper()
		for _, repo := range []string{"acme/mbase", "acme/tool-amd64", "acme/tool-arm64"} {
			if _, _, err := reg.PushIndex(repo+":1", content, platforms...); err != nil {
				t.Fatal(err)
			}
		}
	}
	push("v1")
	base := reg.Addr + "/acme/mbase:1"
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"imglock.toml": "platforms = [\"linux/amd64\", \"linux/arm64\"]\n\n[[dockerfile]]\npath = \"Dockerfile\"\nbuild-args = { BASE_IMAGE = \"" + base + "\" }\n",
		"Dockerfile": "ARG BASE_IMAGE\n" +
			"FROM " + reg.Addr + "/acme/tool-${TARGETARCH}:1 AS tool\n" +
			"FROM ${BASE_IMAGE}\n" +
			"COPY --from=tool /base.txt /tool.txt\n",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	mustRun(t, imglockCmd(ctx, eng, dir, "lock"))
	push("v2")

	read := func(dest, file string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dest, filepath.FromSlash(file)))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	one := t.TempDir()
	mustRun(t, imglockCmd(ctx, eng, dir, "build", "--platform", "linux/arm64", "--build-arg", "BASE_IMAGE="+base,
		"--output", "type=local,dest="+one, "."))
	if got := read(one, "base.txt") + read(one, "tool.txt"); got != "v1 linux/arm64\nv1 linux/arm64\n" {
		t.Errorf("arm64 build: base and tool say %q, want the locked v1 for arm64", got)
	}
	// Without imglock the same build gets what the tags point at now.
	plain := t.TempDir()
	mustRun(t, eng.Cmd(ctx, "buildx", "build", "--platform", "linux/arm64", "--build-arg", "BASE_IMAGE="+base,
		"--output", "type=local,dest="+plain, dir))
	if got := read(plain, "tool.txt"); got != "v2 linux/arm64\n" {
		t.Errorf("plain build: tool says %q, want what the tag points at now, v2", got)
	}
	both := t.TempDir()
	mustRun(t, imglockCmd(ctx, eng, dir, "build", "--platform", "linux/amd64,linux/arm64", "--build-arg", "BASE_IMAGE="+base,
		"--output", "type=local,dest="+both, "."))
	for _, p := range platforms {
		sub := strings.ReplaceAll(p, "/", "_") + "/"
		if got := read(both, sub+"base.txt") + read(both, sub+"tool.txt"); got != "v1 "+p+"\nv1 "+p+"\n" {
			t.Errorf("two-platform build, %s: base and tool say %q, want the locked v1", p, got)
		}
	}
}
