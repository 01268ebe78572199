// Command demo walks through imglock on a throwaway project, offline: it
// starts a registry on loopback, seeds it with a few images, writes two
// Dockerfiles, and runs the imglock binary it is given through lock, verify,
// a tag re-pointed upstream, verify --remote, outdated and upgrade (what
// changed in the moved tag, a cooldown holding it back, the pull request
// body), showing each command's real output and the diff of images.lock.
//
// `go tool task demo` runs it. It exits non-zero when a step does not
// behave as expected, so it doubles as a smoke test of the built binary:
//
//	go build -o bin/imglock ./cmd/imglock
//	go run ./internal/demo ./bin/imglock
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/diff"

	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/testing/registry"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: demo IMGLOCK_BINARY")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "demo: FAILED:", err)
		os.Exit(1)
	}
	fmt.Println("\ndemo: every step behaved as expected")
}

func run(binary string) error {
	bin, err := filepath.Abs(binary)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "imglock-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	reg := registry.Start()
	defer reg.Close()
	host := reg.Addr
	now := time.Now().UTC().Truncate(time.Minute)
	step("A registry on %s, seeded with three images", host)
	d, err := pushPython(reg, python1(now))
	if err != nil {
		return err
	}
	fmt.Printf("pushed %s/acme/python:3.12-slim %s (for linux/amd64 and linux/arm64, annotated as Docker Official Images are)\n", host, d)
	for _, img := range []string{"acme/golang:1.26", "acme/redis:7"} {
		d, err := reg.Push(img, img+" v1")
		if err != nil {
			return err
		}
		fmt.Printf("pushed %s/%s %s\n", host, img, d)
	}

	dir := filepath.Join(tmp, "project")
	files := []struct{ name, text string }{
		{"Dockerfile", `ARG BASE=` + host + `/acme/python:3.12-slim
FROM ` + host + `/acme/golang:1.26 AS build
RUN go build -o /out/app ./cmd/app
FROM ${BASE}
COPY --from=build /out/app /usr/local/bin/app
COPY --from=` + host + `/acme/redis:7 /usr/local/bin/redis-cli /usr/local/bin/
`},
		{"worker/Dockerfile", `FROM ` + host + `/acme/python:3.12-slim
CMD ["python", "-m", "worker"]
`},
	}
	step("A project with two Dockerfiles")
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(f.text), 0o644); err != nil {
			return err
		}
		fmt.Printf("$ cat %s\n%s", f.name, f.text)
	}

	im := imglock{bin: bin, dir: dir, env: append(os.Environ(),
		"DOCKER_CONFIG="+filepath.Join(tmp, "docker"), // no credentials from this machine
		"GITHUB_ACTIONS=")}
	lockPath := filepath.Join(dir, "images.lock")
	python := host + "/acme/python"

	verified := func(r result) bool { return strings.Contains(r.out, "images.lock: 4 references verified") }

	step("Lock every base image, then verify offline")
	if err := im.check("three added entries", func(r result) bool {
		return strings.Count("\n"+r.out, "\n+ ") == 3
	}, "lock"); err != nil {
		return err
	}
	before, err := os.ReadFile(lockPath)
	if err != nil {
		return err
	}
	fmt.Printf("$ cat images.lock\n%s", before)
	if err := im.check("4 references verified", verified, "verify"); err != nil {
		return err
	}

	step("Upstream re-points %s:3.12-slim to new content", python)
	oldDigest := lockedDigest(before, python, "3.12-slim")
	newDigest, err := pushPython(reg, python2(now))
	if err != nil {
		return err
	}
	fmt.Printf("%s:3.12-slim: %s -> %s\n", python, oldDigest, newDigest)
	if oldDigest == "" || oldDigest == newDigest {
		return fmt.Errorf("images.lock does not hold the old python digest (%q)", oldDigest)
	}

	step("The lock still builds the old bytes: offline verify passes; --remote sees the drift")
	if err := im.check("4 references verified", verified, "verify"); err != nil {
		return err
	}
	if err := im.check("a warning that "+python+":3.12-slim moved to "+newDigest, func(r result) bool {
		return strings.Contains(r.out, "warning: "+python+":3.12-slim moved upstream") && strings.Contains(r.out, newDigest) && verified(r)
	}, "verify", "--remote"); err != nil {
		return err
	}
	if err := im.check("python alone listed, with its new digest and what changed", func(r result) bool {
		return strings.Contains(r.out, python) && strings.Contains(r.out, imageref.ShortDigest(newDigest)) &&
			!strings.Contains(r.out, "golang") && !strings.Contains(r.out, "redis") && reviewed(r)
	}, "outdated"); err != nil {
		return err
	}

	step("A cooldown: a digest younger than --min-age (or min-age in imglock.toml) is held back")
	if err := im.check("python held back, with the day it becomes eligible", func(r result) bool {
		return strings.Contains(r.out, "held back: created 2 days ago, younger than the minimum age 168h; eligible from ")
	}, "upgrade", "--dry-run", "--min-age", "168h"); err != nil {
		return err
	}

	step("The same as a pull request body (what a scheduled workflow opens a pull request with)")
	if err := im.check("a Markdown table with a compare link", func(r result) bool {
		return strings.Contains(r.out, "| version | `3.12.7` | `3.12.8` |") && strings.Contains(r.out, "[Compare `")
	}, "upgrade", "--dry-run", "--format", "markdown"); err != nil {
		return err
	}

	step("Move the pin deliberately")
	move := fmt.Sprintf("%s 3.12-slim: %s -> %s", python, imageref.ShortDigest(oldDigest), imageref.ShortDigest(newDigest))
	if err := im.check(move+" and what changed, written nothing", func(r result) bool {
		return strings.HasPrefix(r.out, move+"\n") && reviewed(r) && strings.HasSuffix(r.out, "\ndry run: images.lock not written\n")
	}, "upgrade", "--dry-run"); err != nil {
		return err
	}
	if now, err := os.ReadFile(lockPath); err != nil || !bytes.Equal(now, before) {
		return fmt.Errorf("upgrade --dry-run changed images.lock (%v)", err)
	}
	if err := im.check(move, func(r result) bool { return strings.HasPrefix(r.out, move+"\n") && reviewed(r) }, "upgrade"); err != nil {
		return err
	}
	after, err := os.ReadFile(lockPath)
	if err != nil {
		return err
	}
	if got := lockedDigest(after, python, "3.12-slim"); got != newDigest {
		return fmt.Errorf("after upgrade, images.lock locks python to %q, want %s", got, newDigest)
	}
	os.Stdout.Write(diff.Diff("images.lock.before", before, "images.lock", after))

	step("The new pin verifies")
	return im.check("4 references verified", verified, "verify")
}

// reviewed reports whether output shows what changed in the python move:
// version, created time and age, the revision's compare link and the size
// change of the platform the project builds.
func reviewed(r result) bool {
	for _, want := range []string{
		"    version: 3.12.7 -> 3.12.8\n",
		" (2 days ago)\n",
		"    compare: https://github.com/docker-library/python/compare/" + pythonRev1 + "..." + pythonRev2 + "\n",
		"    base: debian:bookworm-slim sha256:",
		"    linux/amd64: changed, ",
		"    linux/arm64: changed (not used)\n",
	} {
		if !strings.Contains(r.out, want) {
			return false
		}
	}
	return true
}

const (
	pythonRev1 = "8f3c1a9e5b7d2c4f6a8b0d1e3f5a7c9b2d4e6f80"
	pythonRev2 = "c27e9d41b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3"
)

// python1 and python2 describe the python image before and after upstream
// re-points its tag, as Docker Official Images describe themselves: OCI
// annotations on each platform manifest and its index entry, the version
// in the config's env too.
func python1(now time.Time) registry.Meta {
	return pythonMeta(now.Add(-40*24*time.Hour), "3.12.7", pythonRev1, "sha256:4f1f2c8d3b6a5e7c9d0b1a2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d", 1_180_000)
}

func python2(now time.Time) registry.Meta {
	return pythonMeta(now.Add(-2*24*time.Hour-3*time.Hour), "3.12.8", pythonRev2, "sha256:9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c", 1_245_000)
}

func pythonMeta(created time.Time, version, rev, base string, size int) registry.Meta {
	return registry.Meta{
		Created: created,
		Annotations: map[string]string{
			"org.opencontainers.image.created":     created.Format(time.RFC3339),
			"org.opencontainers.image.version":     version,
			"org.opencontainers.image.revision":    rev,
			"org.opencontainers.image.source":      "https://github.com/docker-library/python",
			"org.opencontainers.image.base.name":   "debian:bookworm-slim",
			"org.opencontainers.image.base.digest": base,
		},
		Env: []string{"PYTHON_VERSION=" + version},
		Pad: size,
	}
}

// pushPython pushes the python index for linux/amd64 and linux/arm64.
func pushPython(reg *registry.Registry, m registry.Meta) (string, error) {
	idx, _, err := registry.IndexWithMeta("python "+m.Annotations["org.opencontainers.image.version"], m, "linux/amd64", "linux/arm64")
	if err != nil {
		return "", err
	}
	return reg.PushImage("acme/python:3.12-slim", idx)
}

// step prints a section heading.
func step(format string, args ...any) {
	fmt.Printf("\n## "+format+"\n", args...)
}

// imglock runs the binary in the project directory.
type imglock struct {
	bin, dir string
	env      []string
}

type result struct {
	out  string // stdout and stderr, in the order they were written
	code int
	err  error // the binary could not be run at all
}

// run runs imglock with args (argv, no shell), printing the command line
// and its output as a terminal would show it: stdout and stderr share one
// pipe, so their lines keep their order.
func (im imglock) run(args ...string) result {
	fmt.Printf("$ imglock %s\n", strings.Join(args, " "))
	var out bytes.Buffer
	cmd := exec.Command(im.bin, args...)
	cmd.Dir, cmd.Env = im.dir, im.env
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	r := result{out: out.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		r.err = err
	}
	fmt.Print(r.out)
	if r.code != 0 {
		fmt.Printf("(exit status %d)\n", r.code)
	}
	return r
}

// check runs imglock with args and wants exit status 0 and ok to hold of
// its output (what describes it).
func (im imglock) check(what string, ok func(result) bool, args ...string) error {
	r := im.run(args...)
	cmd := "imglock " + strings.Join(args, " ")
	switch {
	case r.err != nil:
		return fmt.Errorf("%s: %w", cmd, r.err)
	case r.code != 0:
		return fmt.Errorf("%s exited with status %d, want 0", cmd, r.code)
	case !ok(r):
		return fmt.Errorf("%s: want %s", cmd, what)
	}
	return nil
}

// lockedDigest is the digest of a tag's line in a lock file, or "".
func lockedDigest(lock []byte, repo, tag string) string {
	for _, line := range strings.Split(string(lock), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == repo && f[1] == tag {
			return f[2]
		}
	}
	return ""
}
