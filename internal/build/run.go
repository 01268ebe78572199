package build

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// namedContextsSince is the first BuildKit release whose Dockerfile
// frontend takes named contexts (--build-context).
var namedContextsSince = [2]int{0, 10}

// Detect picks the mode the builder supports: named contexts when docker
// buildx is there and its builder runs BuildKit >= 0.10, the Dockerfile on
// standard input otherwise (the classic builder, or BuildKit 0.8 inside
// Docker 20.10). env is the environment docker runs with; builder is the
// --builder the build names, if any.
func Detect(ctx context.Context, env []string, builder string) Mode {
	for _, kv := range env {
		if kv == "DOCKER_BUILDKIT=0" {
			return ModeStdin // the classic builder, asked for by name
		}
	}
	args := []string{"buildx", "inspect"}
	if builder != "" {
		args = append(args, "--builder", builder)
	}
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return ModeStdin
	}
	if v, ok := buildkitVersion(out); ok && !less(v, namedContextsSince) {
		return ModeContexts
	}
	return ModeStdin
}

// buildkitVersion reads the BuildKit version from docker buildx inspect
// ("BuildKit version: v0.34.2", or "Buildkit: v0.12.0" from older buildx).
func buildkitVersion(inspect []byte) ([2]int, bool) {
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
		// rather than BuildKit's; that tells nothing about named contexts.
		if err1 == nil && err2 == nil && major < 10 {
			return [2]int{major, minor}, true
		}
	}
	return [2]int{}, false
}

func less(a, b [2]int) bool { return a[0] < b[0] || a[0] == b[0] && a[1] < b[1] }

// Run runs the plan's command in dir and returns its exit code. Arguments
// go to docker as argv, never through a shell. stdin is used when the plan
// has no Dockerfile of its own to send.
func Run(ctx context.Context, p Plan, dir string, env []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, p.Argv[0], p.Argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin = stdin
	if p.Stdin != nil {
		cmd.Stdin = bytes.NewReader(p.Stdin)
	}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}
