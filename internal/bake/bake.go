// Package bake reads the build definition of docker buildx bake as buildx
// resolves it (docker buildx bake --print), so that HCL, JSON and compose
// bake files, variables, functions, inheritance and matrices are buildx's
// own, and says what each target builds: its Dockerfile, build args,
// target stage and platforms, and the named contexts that replace images
// of the Dockerfile.
package bake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/imglock/imglock/internal/dockerfile"
)

// DefaultFiles are the bake files buildx reads without -f, besides compose
// files (bake/bake.go defaultFilenames).
var DefaultFiles = []string{"docker-bake.json", "docker-bake.hcl", "docker-bake.override.json", "docker-bake.override.hcl"}

// Definition is a resolved bake definition: its targets by name.
type Definition struct {
	Targets map[string]*Target `json:"target"`
}

// Target is one resolved bake target, as far as what it pulls goes. The
// JSON names are buildx's (bake.Target).
type Target struct {
	Name             string             `json:"-"`
	Context          *string            `json:"context"`
	Contexts         map[string]string  `json:"contexts"`
	Dockerfile       *string            `json:"dockerfile"`
	DockerfileInline *string            `json:"dockerfile-inline"`
	Args             map[string]*string `json:"args"`
	Target           *string            `json:"target"`
	Platforms        []string           `json:"platforms"`
}

// Runner runs docker commands for a bake definition.
type Runner struct {
	Dir string   // where bake runs: paths in the definition are relative to it
	Env []string // docker's environment: bake variables come from it too
}

// Print is the definition docker buildx bake args would build, resolved
// by buildx itself. args are bake's own options and targets, as given.
func (r Runner) Print(ctx context.Context, args []string) (*Definition, error) {
	out, err := r.docker(ctx, append([]string{"buildx", "bake", "--print"}, args...))
	if err != nil {
		return nil, err
	}
	var def Definition
	if err := json.Unmarshal(out, &def); err != nil {
		return nil, fmt.Errorf("reading docker buildx bake --print: %w", err)
	}
	for name, t := range def.Targets {
		if t == nil {
			delete(def.Targets, name)
			continue
		}
		t.Name = name
	}
	return &def, nil
}

// All is the definition of every target the bake files define, not only
// those the default group builds. files are the -f options ("" for
// buildx's default files).
func (r Runner) All(ctx context.Context, files []string) (*Definition, error) {
	var fileArgs []string
	for _, f := range files {
		fileArgs = append(fileArgs, "--file", f)
	}
	out, err := r.docker(ctx, append([]string{"buildx", "bake", "--list", "type=targets,format=json"}, fileArgs...))
	if err != nil {
		return nil, err
	}
	var listed []struct {
		Name  string `json:"name"`
		Group bool   `json:"group"`
	}
	if err := json.Unmarshal(out, &listed); err != nil {
		return nil, fmt.Errorf("reading docker buildx bake --list: %w", err)
	}
	var names []string
	for _, t := range listed {
		if !t.Group {
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return &Definition{Targets: map[string]*Target{}}, nil
	}
	return r.Print(ctx, append(fileArgs, names...))
}

// docker runs docker args in r.Dir and returns its standard output; an
// error says what buildx said.
func (r Runner) docker(ctx context.Context, args []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.Dir, cmd.Env = r.Dir, r.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		what := "docker " + strings.Join(args[:min(len(args), 3)], " ")
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			said := lastLines(stderr.String())
			if first, _, _ := strings.Cut(said, "\n"); strings.HasPrefix(first, "unknown flag: ") || strings.Contains(first, "unknown command") {
				// The docker CLI without its buildx plugin.
				return nil, fmt.Errorf("%s: docker buildx is not installed (docker says: %s)", what, first)
			}
			return nil, fmt.Errorf("%s: %s", what, said)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// lastLines is what buildx says on failure, without its progress lines.
func lastLines(s string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Sorted are the targets by name.
func (d *Definition) Sorted() []*Target {
	var out []*Target
	for _, name := range slices.Sorted(maps.Keys(d.Targets)) {
		out = append(out, d.Targets[name])
	}
	return out
}

// DockerfilePath is the target's Dockerfile as bake finds it: relative to
// the context unless absolute, both relative to where bake runs. A target
// whose Dockerfile imglock cannot read (inline, remote, from another
// target) is an error saying so.
func (t *Target) DockerfilePath() (string, error) {
	ctxPath := "."
	if t.Context != nil && *t.Context != "" {
		ctxPath = *t.Context
	}
	file := "Dockerfile"
	if t.Dockerfile != nil && *t.Dockerfile != "" {
		file = *t.Dockerfile
	}
	ctxPath = strings.TrimPrefix(ctxPath, "cwd://")
	file = strings.TrimPrefix(file, "cwd://")
	switch {
	case t.DockerfileInline != nil:
		return "", errors.New("its Dockerfile is inline (dockerfile-inline); imglock reads Dockerfiles from files")
	case file == "-":
		return "", errors.New("its Dockerfile is standard input")
	case remote(ctxPath) || remote(file):
		return "", fmt.Errorf("context %s: imglock needs a local directory", ctxPath)
	case strings.HasPrefix(ctxPath, "target:") || strings.HasPrefix(ctxPath, "docker-image:"):
		return "", fmt.Errorf("context %s: imglock needs a local directory", ctxPath)
	case filepath.IsAbs(file):
		return filepath.Clean(file), nil
	}
	return filepath.Join(filepath.FromSlash(ctxPath), filepath.FromSlash(file)), nil
}

// remote reports whether a bake context or Dockerfile is a URL: a Git
// repository or an HTTP(S) tarball.
func remote(p string) bool {
	return strings.Contains(p, "://") || strings.HasPrefix(p, "git@") || strings.HasPrefix(p, "github.com/")
}

// Stage is the target stage the target builds ("" for the last).
func (t *Target) Stage() string {
	if t.Target == nil {
		return ""
	}
	return *t.Target
}

// Builds are the builds the target makes of its Dockerfile: one per
// platform (the default one when it names none, "local" too, so that the
// lock never depends on the machine), each with its build args, over
// base.
func (t *Target) Builds(base map[string]string) []dockerfile.Build {
	args := maps.Clone(base)
	if args == nil {
		args = map[string]string{}
	}
	maps.Copy(args, t.BuildArgs())
	var out []dockerfile.Build
	for _, pl := range t.BuildPlatforms() {
		out = append(out, dockerfile.Build{Platform: pl, BuildArgs: args})
	}
	return out
}

// BuildArgs are the target's build args; one set to null in the bake
// file is not passed, as buildx does.
func (t *Target) BuildArgs() map[string]string {
	args := map[string]string{}
	for k, v := range t.Args {
		if v != nil {
			args[k] = *v
		}
	}
	return args
}

// BuildPlatforms are the platforms the target builds for, the default one
// standing for none and for "local".
func (t *Target) BuildPlatforms() []string {
	var out []string
	for _, p := range t.Platforms {
		if p == "local" || p == "" {
			p = dockerfile.DefaultPlatform
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		out = []string{dockerfile.DefaultPlatform}
	}
	return out
}

// Replaces reports whether one of the target's named contexts replaces
// the reference: BuildKit looks a FROM image, a COPY --from or mount
// image up by its familiar name, and a stage by its (lower-case) name,
// before pulling anything (frontend/dockerui NamedContext). Where unsure
// it says no: the reference then stays one the build must have locked.
func (t *Target) Replaces(r dockerfile.Reference) bool {
	if len(t.Contexts) == 0 || r.Kind == dockerfile.KindSyntax {
		return false
	}
	if _, ok := t.Contexts[r.Image.Familiar()]; ok {
		return true
	}
	for k := range t.Contexts {
		if r.Kind == dockerfile.KindFrom && r.Stage != "" && k == r.Stage {
			return true
		}
	}
	return false
}

// ImageContexts are the target's named contexts that are images
// (docker-image://REF): a build pulls them besides its Dockerfile's, by
// key.
func (t *Target) ImageContexts() map[string]string {
	out := map[string]string{}
	for k, v := range t.Contexts {
		if ref, ok := strings.CutPrefix(v, "docker-image://"); ok {
			out[k] = ref
		}
	}
	return out
}

// Rel is p relative to root, slash-separated, when it is inside it.
func Rel(root, p string) (string, bool) {
	if !filepath.IsAbs(p) {
		p = filepath.Join(root, p)
	}
	absRoot, err1 := filepath.Abs(root)
	absP, err2 := filepath.Abs(p)
	if err1 != nil || err2 != nil {
		return "", false
	}
	rel, err := filepath.Rel(absRoot, absP)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return path.Clean(filepath.ToSlash(rel)), true
}
