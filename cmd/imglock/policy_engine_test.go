package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/build"
	"github.com/imglock/imglock/internal/testing/engine"
	"github.com/imglock/imglock/internal/testing/registry"
)

// policyFixture is a repository whose one Dockerfile pulls an image in
// every way BuildKit does, all locked, and then every tag moved upstream.
type policyFixture struct {
	eng    engine.Engine
	reg    *registry.Registry
	dir    string
	locked map[string]string // image (REGISTRY/acme/NAME:1) -> locked digest
}

// policyDockerfile pulls, from $REG: the # syntax= frontend; node:1, the
// base of a stage named node whose RUN must run; the ARG-selected
// argbase:1; copied:1 by COPY --from; mounted:1 by RUN --mount from=.
// The last stage builds FROM node, the stage, not the image.
const policyDockerfile = `# syntax=$REG/acme/dockerfile:1
ARG BASE=$REG/acme/argbase:1
FROM $REG/acme/node:1 AS node
RUN ["/bin/tool", "write", "/ran.txt", "the node stage ran"]
FROM ${BASE} AS argbase
FROM node
COPY --from=$REG/acme/copied:1 /base.txt /copied.txt
COPY --from=argbase /base.txt /arg.txt
RUN --mount=type=bind,from=$REG/acme/mounted:1,target=/m ["/bin/tool", "cp", "/m/base.txt", "/mounted.txt"]
`

// lockedOutput is what a build of policyDockerfile from the locked bytes
// holds.
var lockedOutput = map[string]string{
	"/base.txt":    "node v1\n",
	"/ran.txt":     "the node stage ran\n",
	"/arg.txt":     "argbase v1\n",
	"/copied.txt":  "copied v1\n",
	"/mounted.txt": "mounted v1\n",
}

func newPolicyFixture(t *testing.T, ctx context.Context) *policyFixture {
	t.Helper()
	fx := &policyFixture{eng: engine.Docker(t).On(engine.BuildKit), reg: registry.Start(), dir: t.TempDir(), locked: map[string]string{}}
	t.Cleanup(fx.reg.Close)
	fx.push(t, "v1")
	writeFiles(t, fx.dir, map[string]string{
		"Dockerfile": strings.ReplaceAll(policyDockerfile, "$REG", fx.reg.Addr),
	})
	mustRun(t, imglockCmd(ctx, fx.eng, fx.dir, "lock"))
	fx.push(t, "v2")
	return fx
}

// push pushes every image at version v, v1 first: the locked ones. At v2
// the frontend is no frontend at all, and the others hold other bytes.
func (fx *policyFixture) push(t *testing.T, v string) {
	t.Helper()
	img := func(name string) string { return fx.reg.Addr + "/acme/" + name + ":1" }
	digests := map[string]string{}
	if v == "v1" {
		digests[img("dockerfile")] = engine.PushFrontend(t, img("dockerfile"))
	} else if _, err := fx.reg.Push("acme/dockerfile:1", "not a frontend"); err != nil {
		t.Fatal(err)
	}
	digests[img("node")] = engine.PushTool(t, img("node"), "node "+v)
	for _, name := range []string{"argbase", "copied", "mounted"} {
		d, err := fx.reg.Push("acme/"+name+":1", name+" "+v)
		if err != nil {
			t.Fatal(err)
		}
		digests[img(name)] = d
	}
	if v == "v1" {
		fx.locked = digests
	}
}

// TestBuildPolicyPinsEveryKindOfReference: on buildkitd, imglock build
// detects source policies and, after every tag moved upstream, builds
// from the locked bytes: the frontend, an ARG-selected FROM, COPY --from
// and RUN --mount from= images, and a stage named node built FROM node,
// whose RUN runs (a named context keyed node would replace the stage).
func TestBuildPolicyPinsEveryKindOfReference(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fx := newPolicyFixture(t, ctx)

	printed := mustRun(t, imglockCmd(ctx, fx.eng, fx.dir, "build", "--print", "-t", "app", "."))
	t.Logf("imglock build --print -t app .\n%s", printed)
	if !strings.HasPrefix(printed, build.PolicyEnv+"="+build.PolicyFile+" docker buildx build -t app .\n") {
		t.Errorf("on buildkitd imglock build did not choose a source policy:\n%s", printed)
	}
	for image, digest := range fx.locked {
		if convert := `{"action":"CONVERT","selector":{"identifier":"docker-image://` + image + `","match_type":"EXACT"},"updates":{"identifier":"docker-image://` + image + "@" + digest + `"}}`; !strings.Contains(printed, convert) {
			t.Errorf("the policy lacks %s", convert)
		}
	}

	out := fx.eng.NewOutput(t.TempDir())
	start := time.Now()
	b, err := imglockCmd(ctx, fx.eng, fx.dir, append(append([]string{"build", "-t", "app"}, out.Args()...), ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("imglock build: %v\n%s", err, b)
	}
	t.Logf("imglock build (policy) in %v", time.Since(start).Round(time.Millisecond))
	got, err := out.ReadFiles(ctx, "/base.txt", "/ran.txt", "/arg.txt", "/copied.txt", "/mounted.txt")
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	for file, want := range lockedOutput {
		if got[file] != want {
			t.Errorf("%s says %q, want %q (from the locked bytes)", file, got[file], want)
		}
	}
	if t.Failed() {
		t.Logf("build output:\n%s", b)
	}

	// The tags did move: a plain build, given the locked frontend (the
	// tag's is none now), gets the new bytes of every image.
	frontend := fx.reg.Addr + "/acme/dockerfile:1"
	plain := fx.eng.NewOutput(t.TempDir())
	mustRun(t, fx.eng.Cmd(ctx, append(append([]string{"buildx", "build", "--build-arg", "BUILDKIT_SYNTAX=" + frontend + "@" + fx.locked[frontend]}, plain.Args()...), fx.dir)...))
	got, err = plain.ReadFiles(ctx, "/base.txt", "/arg.txt", "/copied.txt", "/mounted.txt")
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range lockedOutput {
		if want = strings.Replace(want, "v1", "v2", 1); file != "/ran.txt" && got[file] != want {
			t.Errorf("plain build: %s says %q, want %q, what the tag points at now", file, got[file], want)
		}
	}
}

// TestBuildPolicyDenies: the deny rule works. The policy imglock build
// prints for the fixture, with one rule taken out, fails the build,
// BuildKit naming the image that rule was for: without the ALLOW of a
// pinned image, the converted source is denied; without its CONVERT, the
// tag itself is; the frontend too.
func TestBuildPolicyDenies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fx := newPolicyFixture(t, ctx)
	printed := mustRun(t, imglockCmd(ctx, fx.eng, fx.dir, "build", "--print", "."))
	_, policy, ok := strings.Cut(printed, "# "+build.PolicyFile+", a temporary file for the build:\n")
	if !ok {
		t.Fatalf("no policy in:\n%s", printed)
	}
	image := fx.reg.Addr + "/acme/copied:1"
	pinned := image + "@" + fx.locked[image]
	frontend := fx.reg.Addr + "/acme/dockerfile:1"
	for _, tc := range []struct{ name, action, identifier, denied string }{
		{"allow", "ALLOW", "docker-image://" + pinned, pinned},
		{"convert", "CONVERT", "docker-image://" + image, image},
		// The frontend is a source like the others.
		{"frontend", "ALLOW", "docker-image://" + frontend + "@" + fx.locked[frontend], frontend + "@" + fx.locked[frontend]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pol struct {
				Rules []build.Rule `json:"rules"`
			}
			if err := json.Unmarshal([]byte(policy), &pol); err != nil {
				t.Fatalf("%v\n%s", err, policy)
			}
			n := len(pol.Rules)
			pol.Rules = slices.DeleteFunc(pol.Rules, func(r build.Rule) bool {
				return r.Action == tc.action && r.Selector.Identifier == tc.identifier
			})
			if len(pol.Rules) != n-1 {
				t.Fatalf("no one %s rule for %s in the policy:\n%s", tc.action, tc.identifier, policy)
			}
			data, err := json.Marshal(pol)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "policy.json")
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := fx.eng.Cmd(ctx, append(append([]string{"buildx", "build"}, fx.eng.NewOutput(t.TempDir()).Args()...), fx.dir)...)
			cmd.Env = append(cmd.Env, build.PolicyEnv+"="+file)
			b, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the build without the rule succeeded:\n%s", b)
			}
			denied := regexp.MustCompile(`source "docker-image://` + regexp.QuoteMeta(tc.denied) + `" denied by policy`)
			if !denied.Match(b) {
				t.Errorf("the build failed, but not denying %s:\n%s", tc.denied, b)
			}
			t.Logf("without the %s rule for %s:\n%s", tc.action, strings.TrimPrefix(tc.identifier, "docker-image://"), denied.Find(b))
		})
	}
}

// TestBuildPolicyDeniesNamedContexts: an image that reaches the build
// other than through the Dockerfile, here a named context of the user's
// own, is denied too: imglock build exits with the builder's code.
func TestBuildPolicyDeniesNamedContexts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	fx := newPolicyFixture(t, ctx)
	other := fx.reg.Addr + "/acme/unlocked:1"
	if _, err := fx.reg.Push("acme/unlocked:1", "unlocked"); err != nil {
		t.Fatal(err)
	}
	cmd := imglockCmd(ctx, fx.eng, fx.dir, append(append([]string{"build", "--build-context", fx.reg.Addr + "/acme/copied:1=docker-image://" + other}, fx.eng.NewOutput(t.TempDir()).Args()...), ".")...)
	b, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("a build given an unlocked named context succeeded:\n%s", b)
	}
	if want := `source "docker-image://` + other + `" denied by policy`; !strings.Contains(string(b), want) {
		t.Errorf("the build failed, but not denying %s:\n%s", other, b)
	}
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("imglock build exited %d, want buildx's 1", code)
	}
}

// TestBuildPolicyIgnoredByBuildKit08 is why the mode is detected: buildx
// sends the policy to Docker 20.10's BuildKit 0.8 too, which ignores it
// and builds the tag as it is now. Detection picks stdin there, which
// builds the locked bytes (TestBuildUsesLockedBytes).
func TestBuildPolicyIgnoredByBuildKit08(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := engine.Docker(t)
	reg := registry.Start()
	defer reg.Close()
	eng := e.On(engine.EngineBuildKit)
	eng.Forget(t, reg.Addr)
	if _, err := reg.Push("acme/base:1", "v1"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Dockerfile": "FROM " + reg.Addr + "/acme/base:1\n"})
	mustRun(t, imglockCmd(ctx, eng, dir, "lock"))
	if _, err := reg.Push("acme/base:1", "v2"); err != nil {
		t.Fatal(err)
	}
	out := eng.NewOutput(t.TempDir())
	mustRun(t, imglockCmd(ctx, eng, dir, append(append([]string{"build", "--pin-mode", "policy"}, out.Args()...), ".")...))
	if got, err := out.ReadFile(ctx, "/base.txt"); err != nil || got != "v2\n" {
		t.Errorf("forced policy mode on BuildKit 0.8: /base.txt %q, %v; want v2, the policy ignored", got, err)
	}
	printed := mustRun(t, imglockCmd(ctx, eng, dir, "build", "--print", "."))
	if !strings.Contains(printed, modeShown[build.ModeStdin]) {
		t.Errorf("on BuildKit 0.8 imglock build chose:\n%s\nwant the Dockerfile on standard input", printed)
	}
}
