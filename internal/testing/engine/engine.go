// Package engine is test support: it gives build tests the container
// engines that .ci/engines.sh starts: Docker Engine 20.10 (classic builder
// and its built-in BuildKit 0.8) and a modern buildkitd behind a buildx
// builder, all reached with the machine's docker CLI. They are the three
// build paths (Paths) tests run a build on: Classic, EngineBuildKit and
// BuildKit.
//
// Where the variables .ci/engines.sh prints are not set, Docker skips the
// test, except under CI=true, where it fails it.
package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/testing/testenv"
)

// The variables .ci/engines.sh prints.
const (
	EnvDockerHost    = "IMGLOCK_DOCKER_HOST"    // unix:// socket of dockerd 20.10
	EnvBuildxConfig  = "IMGLOCK_BUILDX_CONFIG"  // DOCKER_CONFIG dir with the buildx plugin and builder
	EnvBuildxBuilder = "IMGLOCK_BUILDX_BUILDER" // name of the buildx builder of buildkitd
)

// Path is one way a build can run.
type Path int

const (
	// Classic is dockerd 20.10's classic builder (DOCKER_BUILDKIT=0).
	Classic Path = iota
	// EngineBuildKit is dockerd 20.10's built-in BuildKit 0.8, through buildx's
	// default builder: no named contexts.
	EngineBuildKit
	// BuildKit is a modern buildkitd through a buildx remote builder: named
	// contexts (--build-context) and source policies work.
	BuildKit
)

// Paths lists every path, for table tests.
var Paths = []Path{Classic, EngineBuildKit, BuildKit}

func (p Path) String() string {
	switch p {
	case Classic:
		return "classic"
	case EngineBuildKit:
		return "engine-buildkit"
	case BuildKit:
		return "buildkit"
	}
	return fmt.Sprintf("Path(%d)", int(p))
}

// NamedContexts reports whether the path accepts --build-context.
func (p Path) NamedContexts() bool { return p == BuildKit }

// SourcePolicies reports whether the path applies a source policy
// (EXPERIMENTAL_BUILDKIT_SOURCE_POLICY): BuildKit 0.12 or later. buildx
// sends one to every builder, and BuildKit 0.8 ignores it.
func (p Path) SourcePolicies() bool { return p == BuildKit }

// Engine is how to reach one build path.
type Engine struct {
	Path    Path
	Host    string // DOCKER_HOST of dockerd
	Config  string // DOCKER_CONFIG
	Builder string // buildx builder of buildkitd
}

// Docker returns the engines on path Classic (On picks another), or skips the
// test where they are not configured (fails it under CI=true).
func Docker(tb testing.TB) Engine {
	tb.Helper()
	e := Engine{
		Host:    os.Getenv(EnvDockerHost),
		Config:  os.Getenv(EnvBuildxConfig),
		Builder: os.Getenv(EnvBuildxBuilder),
	}
	if e.Host == "" || e.Config == "" || e.Builder == "" {
		testenv.Missing(tb, fmt.Sprintf("no container engine: set %s, %s and %s as .ci/engines.sh prints them (eval \"$(.ci/engines.sh)\")",
			EnvDockerHost, EnvBuildxConfig, EnvBuildxBuilder))
	}
	if err := reachable(e.Host); err != nil {
		// Configured but down: a stale shell or a rebooted machine, never a skip.
		tb.Fatalf("%s=%s: %v; start it with .ci/engines.sh", EnvDockerHost, e.Host, err)
	}
	return e
}

// On returns the engine for path p.
func (e Engine) On(p Path) Engine {
	e.Path = p
	return e
}

// Env is the environment of a docker command on the path: this process's,
// without what would redirect the CLI elsewhere.
func (e Engine) Env() []string {
	env := append(testenv.Environ("DOCKER_", "BUILDX_", "BUILDKIT_"),
		"DOCKER_HOST="+e.Host,
		"DOCKER_CONFIG="+e.Config,
		"DOCKER_CLI_HINTS=false",
	)
	switch e.Path {
	case Classic:
		env = append(env, "DOCKER_BUILDKIT=0")
	case EngineBuildKit:
		// The docker CLI 23+ builds with BuildKit only through buildx; its
		// "default" builder is dockerd's own BuildKit.
		env = append(env, "DOCKER_BUILDKIT=1", "BUILDX_BUILDER=default")
	case BuildKit:
		env = append(env, "DOCKER_BUILDKIT=1", "BUILDX_BUILDER="+e.Builder)
	}
	return env
}

// Cmd is `docker args...` on the path.
func (e Engine) Cmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Env = e.Env()
	return cmd
}

// Forget removes dockerd's images of the registry at addr (host:port) when
// the test ends: dockerd builds FROM a tag it already holds without asking the
// registry, on both of its paths, and a later test registry may get the same
// port.
func (e Engine) Forget(tb testing.TB, addr string) {
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := e.RemoveImages(ctx, addr); err != nil {
			tb.Errorf("forgetting %s: %v", addr, err)
		}
	})
}

// RemoveImages removes dockerd's references to images of the registry at
// addr, by tag and by digest; images that other references still name stay.
func (e Engine) RemoveImages(ctx context.Context, addr string) error {
	out, err := e.On(Classic).Cmd(ctx, "image", "ls", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}").Output()
	if err != nil {
		return fmt.Errorf("docker image ls: %w", err)
	}
	var refs []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasPrefix(f[0], addr+"/") {
			continue
		}
		if f[1] != "<none>" {
			refs = append(refs, f[0]+":"+f[1])
		}
		if f[2] != "<none>" {
			refs = append(refs, f[0]+"@"+f[2])
		}
	}
	for _, ref := range refs {
		// Removing the tag may already have removed the digest reference.
		if b, err := e.On(Classic).Cmd(ctx, "rmi", ref).CombinedOutput(); err != nil && !strings.Contains(string(b), "No such image") {
			return fmt.Errorf("docker rmi %s: %v: %s", ref, err, b)
		}
	}
	return nil
}

// Output is where a build's result lands so that a test can read its files
// without running a container (the test images have no shell): a local
// export on the BuildKit paths, an image whose ID is written to a file on
// the classic builder.
type Output struct {
	e   Engine
	dir string
}

// NewOutput is an Output in dir, an empty directory.
func (e Engine) NewOutput(dir string) Output { return Output{e, dir} }

// Args are the docker build flags that put the result there.
func (o Output) Args() []string {
	if o.e.Path == Classic {
		return []string{"--iidfile", filepath.Join(o.dir, "iid")}
	}
	return []string{"--output", "type=local,dest=" + filepath.Join(o.dir, "fs")}
}

// ReadFile reads one file of the built image.
func (o Output) ReadFile(ctx context.Context, file string) (string, error) {
	files, err := o.ReadFiles(ctx, file)
	return files[file], err
}

// ReadFiles reads files of the built image; on the classic builder the
// image is removed afterwards.
func (o Output) ReadFiles(ctx context.Context, files ...string) (map[string]string, error) {
	out := map[string]string{}
	if o.e.Path != Classic {
		for _, f := range files {
			b, err := os.ReadFile(filepath.Join(o.dir, "fs", filepath.FromSlash(f)))
			if err != nil {
				return out, err
			}
			out[f] = string(b)
		}
		return out, nil
	}
	iid, err := os.ReadFile(filepath.Join(o.dir, "iid"))
	if err != nil {
		return out, err
	}
	return out, readFromImage(ctx, o.e, strings.TrimSpace(string(iid)), files, out)
}

// readFromImage copies files out of an image through a created, never
// started, container, then removes both.
func readFromImage(ctx context.Context, e Engine, image string, files []string, out map[string]string) error {
	// The image has no command, and create wants one, never run.
	id, err := e.Cmd(ctx, "create", image, "none").Output()
	if err != nil {
		return cmdErr("docker create", err)
	}
	cid := strings.TrimSpace(string(id))
	defer func() {
		_ = e.Cmd(context.Background(), "rm", cid).Run()
		_ = e.Cmd(context.Background(), "rmi", image).Run()
	}()
	for _, file := range files {
		archive, err := e.Cmd(ctx, "cp", cid+":"+file, "-").Output()
		if err != nil {
			return cmdErr("docker cp", err)
		}
		tr := tar.NewReader(bytes.NewReader(archive))
		if _, err := tr.Next(); err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		out[file] = string(b)
	}
	return nil
}

func cmdErr(what string, err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("%s: %v: %s", what, err, ee.Stderr)
	}
	return fmt.Errorf("%s: %w", what, err)
}

var reachOnce sync.Map // host -> error

// reachable checks once per process that a unix:// host accepts connections.
func reachable(host string) error {
	v, _ := reachOnce.LoadOrStore(host, sync.OnceValue(func() error {
		sock, ok := strings.CutPrefix(host, "unix://")
		if !ok {
			return nil
		}
		c, err := net.DialTimeout("unix", sock, 5*time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}))
	return v.(func() error)()
}
