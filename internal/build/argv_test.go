package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/lock"
)

// A reference that looks like a flag or carries shell syntax never gets as
// far as an argv: the Dockerfile does not parse.
func TestArgvHostileReferencesRejected(t *testing.T) {
	for _, tc := range []struct {
		dockerfile string
		buildArgs  map[string]string
		want       string
	}{
		{"FROM --privileged\n", nil, "Dockerfile:1: FROM requires either one or three arguments"},
		{"FROM --privileged alpine\n", nil, "Dockerfile:1: unknown flag: --privileged"},
		{"FROM alpine:3 --privileged\n", nil, "Dockerfile:1: FROM requires either one or three arguments"},
		{"FROM alpine; rm -rf /\n", nil, "Dockerfile:1: FROM requires either one or three arguments"},
		{"FROM alpine;id\n", nil, `Dockerfile:1: FROM alpine;id: invalid image reference "alpine;id"`},
		{"FROM $(id)\n", nil, `Dockerfile:1: FROM $(id): invalid image reference "$(id)"`},
		{"FROM `id`\n", nil, "Dockerfile:1: FROM `id`: invalid image reference \"`id`\""},
		{"FROM alpine\\\n --privileged\n", nil, "Dockerfile:1: FROM requires either one or three arguments"},
		{"FROM alpine:3@sha256:--privileged\n", nil, `invalid image reference "alpine:3@sha256:--privileged"`},
		{"FROM a\nCOPY --from=x;id / /\n", nil, `Dockerfile:2: COPY --from=x;id: invalid image reference "x;id"`},
		{"FROM a\nCOPY --from=$(id) / /\n", nil, `Dockerfile:2: COPY --from=$(id): invalid image reference "$(id)"`},
		{"FROM a\nRUN --mount=type=bind,from=`id`,target=/x true\n", nil, "Dockerfile:2: RUN --mount from=`id`: invalid image reference"},
		{"# syntax=--privileged\nFROM a\n", nil, `Dockerfile:1: # syntax=--privileged: invalid image reference "--privileged"`},
		{"ARG BASE=--privileged\nFROM $BASE\n", nil, `Dockerfile:2: FROM $BASE: invalid image reference "--privileged"`},
		{"ARG BASE=alpine\nFROM ${BASE}\n", map[string]string{"BASE": "alpine:3 --privileged"},
			`Dockerfile:2: FROM ${BASE}: invalid image reference "alpine:3 --privileged"`},
		{"ARG BASE=alpine\nFROM ${BASE}\n", map[string]string{"BASE": "alpine\n--privileged"}, "Dockerfile:2: FROM ${BASE}: invalid image reference"},
		{"ARG BASE=alpine\nFROM ${BASE}\n", map[string]string{"BASE": "$(id)"}, `Dockerfile:2: FROM ${BASE}: invalid image reference "$(id)"`},
	} {
		refs, _, err := pullsOf("Dockerfile", []byte(tc.dockerfile), tc.buildArgs)
		var perr *diag.Diagnostic
		if !errors.As(err, &perr) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q, %q) = %v, %v; want an error saying %q", tc.dockerfile, tc.buildArgs, refs, err, tc.want)
		}
	}
}

// argvDockerfile uses every kind of reference: the syntax frontend, a
// global-ARG FROM, a plain FROM, COPY --from and RUN --mount from=. GREETING
// is declared, so a hostile --build-arg value for it reaches the parser.
const argvDockerfile = `# syntax=docker/dockerfile:1
ARG BASE=alpine:3.20
ARG GREETING=hello
FROM ${BASE} AS base
FROM ghcr.io/acme/tool:1.0 AS tool
COPY --from=base / /base
COPY --from=busybox:1.36 /bin/true /t
RUN --mount=type=bind,from=gcr.io/distroless/static:nonroot,target=/d echo "$GREETING"
`

// argvLock locks every reference of argvDockerfile, each to its own digest.
func argvLock(t *testing.T) (*lock.File, map[string]string) {
	t.Helper()
	f := lock.New()
	digests := map[string]string{}
	for i, rt := range [][2]string{
		{"docker.io/docker/dockerfile", "1"},
		{"docker.io/library/alpine", "3.20"},
		{"ghcr.io/acme/tool", "1.0"},
		{"docker.io/library/busybox", "1.36"},
		{"gcr.io/distroless/static", "nonroot"},
	} {
		d := "sha256:" + strings.Repeat(fmt.Sprintf("%x", i+1), 64)
		if err := f.Set(lock.Entry{Repo: rt[0], Tag: rt[1], Digest: d}); err != nil {
			t.Fatal(err)
		}
		digests[rt[0]+":"+rt[1]] = d
	}
	return f, digests
}

// argvContext is a build context whose path has spaces and shell syntax,
// holding argvDockerfile.
func argvContext(t *testing.T) (ctxDir, dockerfilePath string) {
	t.Helper()
	ctxDir = filepath.Join(t.TempDir(), "my ctx; $(id) `id` --privileged")
	if err := os.Mkdir(ctxDir, 0o755); err != nil {
		t.Fatal(err)
	}
	dockerfilePath = filepath.Join(ctxDir, "Dockerfile")
	if err := os.WriteFile(dockerfilePath, []byte(argvDockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return ctxDir, dockerfilePath
}

// hostileUserArgs are docker build options whose values look like flags,
// hold spaces, newlines, ';', '$(...)', backticks and '=': each must reach
// docker as the one argv element it was given as. The build context comes
// last and is added by the caller.
func hostileUserArgs(dockerfilePath string) []string {
	return []string{
		"-t", "x; rm -rf /",
		"--tag", "$(id)",
		"-t", "--privileged",
		"--build-arg", "A=--privileged",
		"--build-arg", "B=$(id)",
		"--build-arg", "C=`id`",
		"--build-arg", "D=x=y=z",
		"--build-arg", "E=line1\nline2",
		"--build-arg", "F=a b  c ; d",
		"--build-arg", "GREETING=$(id); --privileged",
		"--build-arg=G=--network=host",
		"--label", "--privileged",
		"--label=evil=--privileged",
		"--no-cache",
		"-f", dockerfilePath,
		"--progress=plain",
	}
}

func planFor(t *testing.T, mode Mode) (Plan, []string, map[string]string) {
	t.Helper()
	ctxDir, dockerfilePath := argvContext(t)
	user := append(hostileUserArgs(dockerfilePath), ctxDir)
	inv, err := ParseArgs(slices.Clone(user), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if inv.Context != ctxDir || inv.File != dockerfilePath {
		t.Fatalf("context %q, file %q; want %q, %q", inv.Context, inv.File, ctxDir, dockerfilePath)
	}
	for k, want := range map[string]string{"A": "--privileged", "B": "$(id)", "D": "x=y=z", "E": "line1\nline2", "G": "--network=host"} {
		if inv.BuildArgs[k] != want {
			t.Errorf("build arg %s = %q, want %q", k, inv.BuildArgs[k], want)
		}
	}
	path, err := inv.DockerfilePath("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	refs, stages, err := pullsOf(path, data, inv.BuildArgs)
	if err != nil {
		t.Fatal(err)
	}
	f, digests := argvLock(t)
	pins, err := Lookup(refs, f, "images.lock")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(inv, path, data, pins, stages, mode)
	if err != nil {
		t.Fatal(err)
	}
	return plan, user, digests
}

var (
	digestRE       = `sha256:[0-9a-f]{64}`
	refRE          = `[a-z0-9][a-z0-9._/-]*(:[0-9]+)?[a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*@` + digestRE
	buildContextRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._/:-]*=docker-image://` + refRE + `$`)
	buildArgPinRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=` + refRE + `$`)
)

// checkPins asserts pins is flag-value pairs, each value well-formed, and
// exactly want.
func checkPins(t *testing.T, pins, want []string) {
	t.Helper()
	if len(pins)%2 != 0 {
		t.Fatalf("pins %q are not flag-value pairs", pins)
	}
	for i := 0; i < len(pins); i += 2 {
		switch flag, value := pins[i], pins[i+1]; flag {
		case "--build-context":
			if !buildContextRE.MatchString(value) {
				t.Errorf("malformed pin --build-context %q", value)
			}
		case "--build-arg":
			if !buildArgPinRE.MatchString(value) {
				t.Errorf("malformed pin --build-arg %q", value)
			}
		default:
			t.Errorf("pin flag %q", flag)
		}
	}
	if !slices.Equal(pins, want) {
		t.Errorf("pins:\n%q\nwant:\n%q", pins, want)
	}
}

// TestArgvPlanKeepsEverySlot: in both modes, every user argument is one
// argv element, unchanged and in its place; the pins sit between them and
// the build context and are exactly the well-formed pairs expected.
func TestArgvPlanKeepsEverySlot(t *testing.T) {
	t.Run("policy", func(t *testing.T) {
		// The user's command as given: the pins are all in the policy.
		plan, user, d := planFor(t, ModePolicy)
		if want := append([]string{"docker", "buildx", "build"}, user...); !slices.Equal(plan.Argv, want) {
			t.Errorf("argv:\n%q\nwant:\n%q", plan.Argv, want)
		}
		if plan.Stdin != nil || plan.Policy == nil {
			t.Fatalf("policy mode: stdin %q, policy %v", plan.Stdin, plan.Policy)
		}
		policy := string(plan.Policy.JSON())
		for image, digest := range d {
			if !strings.Contains(policy, `"docker-image://`+image+`@`+digest+`"`) {
				t.Errorf("the policy does not pin %s to %s:\n%s", image, digest, policy)
			}
		}
	})
	t.Run("contexts", func(t *testing.T) {
		plan, user, d := planFor(t, ModeContexts)
		head := []string{"docker", "buildx", "build"}
		pins := []string{
			"--build-arg", "BASE=docker.io/library/alpine:3.20@" + d["docker.io/library/alpine:3.20"],
			"--build-arg", "BUILDKIT_SYNTAX=docker.io/docker/dockerfile:1@" + d["docker.io/docker/dockerfile:1"],
			"--build-context", "busybox:1.36=docker-image://docker.io/library/busybox:1.36@" + d["docker.io/library/busybox:1.36"],
			"--build-context", "gcr.io/distroless/static:nonroot=docker-image://gcr.io/distroless/static:nonroot@" + d["gcr.io/distroless/static:nonroot"],
			"--build-context", "ghcr.io/acme/tool:1.0=docker-image://ghcr.io/acme/tool:1.0@" + d["ghcr.io/acme/tool:1.0"],
		}
		argv := plan.Argv
		if len(argv) != len(head)+len(user)+len(pins) {
			t.Fatalf("argv has %d elements, want %d:\n%q", len(argv), len(head)+len(user)+len(pins), argv)
		}
		n := len(user) - 1
		if !slices.Equal(argv[:len(head)], head) || !slices.Equal(argv[len(head):len(head)+n], user[:n]) || argv[len(argv)-1] != user[n] {
			t.Errorf("argv:\n%q\nwant %q, then the user's arguments %q, the pins, and the context %q", argv, head, user[:n], user[n])
		}
		checkPins(t, argv[len(head)+n:len(argv)-1], pins)
		if plan.Stdin != nil {
			t.Errorf("contexts mode sends a Dockerfile on stdin:\n%s", plan.Stdin)
		}
	})
	t.Run("stdin", func(t *testing.T) {
		plan, user, d := planFor(t, ModeStdin)
		head := []string{"docker", "build", "-f", "-"}
		// -f and its value are dropped: the Dockerfile comes on stdin.
		i := slices.Index(user, "-f")
		kept := slices.Delete(slices.Clone(user), i, i+2)
		pins := []string{
			"--build-arg", "BASE=docker.io/library/alpine:3.20@" + d["docker.io/library/alpine:3.20"],
			"--build-arg", "BUILDKIT_SYNTAX=docker.io/docker/dockerfile:1@" + d["docker.io/docker/dockerfile:1"],
		}
		argv := plan.Argv
		if len(argv) != len(head)+len(kept)+len(pins) {
			t.Fatalf("argv has %d elements, want %d:\n%q", len(argv), len(head)+len(kept)+len(pins), argv)
		}
		n := len(kept) - 1
		if !slices.Equal(argv[:len(head)], head) || !slices.Equal(argv[len(head):len(head)+n], kept[:n]) || argv[len(argv)-1] != kept[n] {
			t.Errorf("argv:\n%q\nwant %q, then the user's arguments %q, the pins, and the context %q", argv, head, kept[:n], kept[n])
		}
		checkPins(t, argv[len(head)+n:len(argv)-1], pins)

		want := strings.NewReplacer(
			"FROM ghcr.io/acme/tool:1.0 ", "FROM ghcr.io/acme/tool:1.0@"+d["ghcr.io/acme/tool:1.0"]+" ",
			"--from=busybox:1.36 ", "--from=docker.io/library/busybox:1.36@"+d["docker.io/library/busybox:1.36"]+" ",
			"from=gcr.io/distroless/static:nonroot,", "from=gcr.io/distroless/static:nonroot@"+d["gcr.io/distroless/static:nonroot"]+",",
		).Replace(argvDockerfile)
		if string(plan.Stdin) != want {
			t.Errorf("Dockerfile on stdin:\n%s\nwant:\n%s", plan.Stdin, want)
		}
	})
}

// fakeDocker is a real program named docker, first on PATH, that writes
// each argument it receives NUL-separated to $ARGV_OUT, copies its standard
// input to $STDIN_OUT, the name and content of the policy file it is given
// to $POLICY_OUT and $POLICY_OUT.json, and exits 7.
func fakeDocker(t *testing.T) (argvOut, stdinOut string, env []string) {
	t.Helper()
	bin := t.TempDir()
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\000' \"$a\"; done > \"$ARGV_OUT\"\ncat > \"$STDIN_OUT\"\n" +
		"if [ -n \"$EXPERIMENTAL_BUILDKIT_SOURCE_POLICY\" ]; then printf %s \"$EXPERIMENTAL_BUILDKIT_SOURCE_POLICY\" > \"$POLICY_OUT\"; cat \"$EXPERIMENTAL_BUILDKIT_SOURCE_POLICY\" > \"$POLICY_OUT.json\"; fi\nexit 7\n"
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	// exec looks docker up in this process's PATH.
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out := t.TempDir()
	argvOut, stdinOut = filepath.Join(out, "argv"), filepath.Join(out, "stdin")
	return argvOut, stdinOut, []string{"PATH=" + os.Getenv("PATH"), "ARGV_OUT=" + argvOut, "STDIN_OUT=" + stdinOut, "POLICY_OUT=" + filepath.Join(out, "policy")}
}

// TestArgvRunPassesArgvVerbatim: build.Run starts docker with exactly the
// plan's argv, so no shell splits or expands anything, and in stdin mode
// docker reads the rewritten Dockerfile on its standard input.
func TestArgvRunPassesArgvVerbatim(t *testing.T) {
	for _, mode := range Modes {
		t.Run(string(mode), func(t *testing.T) {
			plan, _, _ := planFor(t, mode)
			argvOut, stdinOut, env := fakeDocker(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			userStdin := "the caller's own standard input\n"
			var stdout, stderr bytes.Buffer
			code, err := Run(ctx, plan, "", env, strings.NewReader(userStdin), &stdout, &stderr)
			if err != nil || code != 7 {
				t.Fatalf("Run = %d, %v; want the fake docker's exit code 7\n%s", code, err, stderr.String())
			}
			raw, err := os.ReadFile(argvOut)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSuffix(string(raw), "\x00"), "\x00")
			if !slices.Equal(got, plan.Argv[1:]) {
				t.Errorf("docker received %d arguments:\n%q\nwant the plan's %d:\n%q", len(got), got, len(plan.Argv)-1, plan.Argv[1:])
			}
			in, err := os.ReadFile(stdinOut)
			if err != nil {
				t.Fatal(err)
			}
			want := userStdin
			if mode == ModeStdin {
				want = string(plan.Stdin)
				if !strings.Contains(want, "@sha256:") {
					t.Errorf("stdin mode's Dockerfile is not pinned:\n%s", want)
				}
			}
			if string(in) != want {
				t.Errorf("docker read on stdin:\n%s\nwant:\n%s", in, want)
			}
			// In policy mode docker finds the policy in the file the
			// variable names, and the file is gone once docker exits.
			policyOut := filepath.Join(filepath.Dir(argvOut), "policy")
			name, err := os.ReadFile(policyOut)
			if mode != ModePolicy {
				if err == nil {
					t.Errorf("%s mode passes a policy file %s", mode, name)
				}
				return
			}
			if err != nil {
				t.Fatalf("docker got no policy: %v", err)
			}
			policy, err := os.ReadFile(policyOut + ".json")
			if err != nil || string(policy) != string(plan.Policy.JSON()) {
				t.Errorf("docker read the policy:\n%s\n(%v); want:\n%s", policy, err, plan.Policy.JSON())
			}
			if _, err := os.Stat(string(name)); !os.IsNotExist(err) {
				t.Errorf("the policy file %s is still there after the build (%v)", name, err)
			}
		})
	}
}

// pullsOf is what a build of the default target for the default platform
// with args pulls, and the file's stages.
func pullsOf(name string, data []byte, args map[string]string) ([]dockerfile.Reference, []string, error) {
	f, err := dockerfile.Parse(name, data)
	if err != nil {
		return nil, nil, err
	}
	refs, problems := f.Pulls([]dockerfile.Build{{Platform: dockerfile.DefaultPlatform, BuildArgs: args}}, []string{""})
	if err := problems.Err(); err != nil {
		return nil, nil, err
	}
	return refs, f.Stages(), nil
}
