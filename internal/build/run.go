package build

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
)

// namedContextsSince is the first BuildKit release whose Dockerfile
// frontend takes named contexts (--build-context); sourcePoliciesSince
// the first whose source policies cover every image a build loads, the
// # syntax= frontend included (0.11 left the frontend out).
var (
	namedContextsSince  = [2]int{0, 10}
	sourcePoliciesSince = [2]int{0, 12}
)

// Detect picks the strongest mode the builder supports: a source policy
// when docker buildx is there and its builder runs BuildKit >= 0.12 on
// every node, named contexts for BuildKit >= 0.10, the Dockerfile on
// standard input otherwise (the classic builder, or BuildKit 0.8 inside
// Docker 20.10). It asks, never assumes: buildx sends a policy to any
// daemon, and BuildKit 0.8 ignores it. env is the environment docker runs
// with; builder is the --builder the build names, if any.
func Detect(ctx context.Context, env []string, builder string) Mode {
	if classicBuilder(env) {
		return ModeStdin
	}
	return DetectBuildx(ctx, env, builder)
}

// classicBuilder reports whether env asks docker for the classic builder:
// DOCKER_BUILDKIT false in any form strconv.ParseBool reads, as the docker
// CLI reads it.
func classicBuilder(env []string) bool {
	on, err := strconv.ParseBool(lookupEnv(env, "DOCKER_BUILDKIT"))
	return err == nil && !on
}

// DetectBuildx is Detect for a command that always runs on a buildx
// builder, whatever DOCKER_BUILDKIT says (docker buildx bake).
func DetectBuildx(ctx context.Context, env []string, builder string) Mode {
	v, ok := BuilderVersion(ctx, env, builder)
	switch {
	case !ok:
		return ModeStdin
	case !less(v, sourcePoliciesSince):
		return ModePolicy
	case !less(v, namedContextsSince):
		return ModeContexts
	}
	return ModeStdin
}

// BuilderVersion is the BuildKit version (major, minor) of the buildx
// builder, the oldest of its nodes; ok is false when there is none: no
// buildx, or a version it does not report.
func BuilderVersion(ctx context.Context, env []string, builder string) (v [2]int, ok bool) {
	args := []string{"buildx", "inspect"}
	if builder != "" {
		args = append(args, "--builder", builder)
	}
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return v, false
	}
	return buildkitVersion(out)
}

// buildkitVersion reads the BuildKit version from docker buildx inspect
// ("BuildKit version: v0.34.2", or "Buildkit: v0.12.0" from older buildx),
// the oldest when the builder has several nodes.
func buildkitVersion(inspect []byte) ([2]int, bool) {
	var oldest [2]int
	found := false
	sc := bufio.NewScanner(bytes.NewReader(inspect))
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		key = strings.ToLower(strings.TrimSpace(key))
		if !ok || (key != "buildkit version" && key != "buildkit") {
			continue
		}
		v := strings.TrimPrefix(strings.TrimSpace(value), "v")
		parts := strings.SplitN(v, ".", 3)
		if len(parts) < 2 {
			continue
		}
		major, err1 := strconv.Atoi(parts[0])
		minor, err2 := strconv.Atoi(strings.TrimRightFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
		// The docker driver may report the engine's version (20.10.24)
		// rather than BuildKit's; that tells nothing about its features.
		if err1 != nil || err2 != nil || major >= 10 {
			continue
		}
		if v := [2]int{major, minor}; !found || less(v, oldest) {
			oldest, found = v, true
		}
	}
	return oldest, found
}

func less(a, b [2]int) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }

// Run runs the plan's command in dir and returns its exit code. Arguments
// go to docker as argv, never through a shell. stdin is used when the plan
// has no Dockerfile of its own to send. A plan's policy is written to a
// temporary file that PolicyEnv names for the command, and removed once
// it exits, also when imglock is interrupted meanwhile.
func Run(ctx context.Context, p Plan, dir string, env []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, p.Argv[0], p.Argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = stdin
	if p.Stdin != nil {
		cmd.Stdin = bytes.NewReader(p.Stdin)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if p.Policy != nil {
		if env == nil {
			env = os.Environ()
		}
		path, err := writePolicy(p.Policy)
		if err != nil {
			return 0, err
		}
		defer os.Remove(path)
		cmd.Env = append(withoutEnv(env, PolicyEnv), PolicyEnv+"="+path)
	}
	return Wait(cmd)
}

// Wait starts cmd and returns its exit code once it exits. The command
// gets the terminal's interrupt itself; imglock outlives it, so that the
// caller can remove the files the command read, and passes a termination
// on.
func Wait(cmd *exec.Cmd) (int, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-signals:
				if s == syscall.SIGTERM {
					_ = cmd.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// writePolicy writes p to a new temporary file, readable by its owner
// only, and returns its path.
func writePolicy(p *Policy) (string, error) {
	f, err := os.CreateTemp("", "imglock-policy-*.json")
	if err != nil {
		return "", fmt.Errorf("writing the source policy: %w", err)
	}
	_, err = f.Write(p.JSON())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("writing the source policy: %w", err)
	}
	return f.Name(), nil
}

// withoutEnv is env without any KEY= entry.
func withoutEnv(env []string, key string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k != key {
			out = append(out, kv)
		}
	}
	return out
}
