package project

import (
	"context"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/imglock/imglock/internal/bake"
	"github.com/imglock/imglock/internal/config"
	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
)

// bakeTimeout bounds reading the bake definition: buildx evaluates the
// files locally, with no builder.
const bakeTimeout = time.Minute

// readBake reads the repository's bake definition, when it has one:
// buildx's default bake files at the root (then buildx reads them as it
// would, compose files beside them included), or the files imglock.toml's
// [bake] names; none when [bake] disable is set. Every target is read,
// resolved by docker buildx bake itself, so that its Dockerfile is
// evaluated as the target builds it. A target whose Dockerfile imglock
// cannot read is a warning, and left out.
func (p *Project) readBake() error {
	s := p.Config.Bake
	if s.Disable {
		return nil
	}
	name := "" // the bake file messages name
	for _, f := range s.Files {
		name = f
		break
	}
	if len(s.Files) == 0 {
		for _, f := range bake.DefaultFiles {
			if _, err := os.Stat(joinRoot(p.Root, f)); err == nil {
				name = f
				break
			}
		}
		if name == "" {
			return nil
		}
	}
	name = joinRoot(p.Root, name)
	ctx, cancel := context.WithTimeout(context.Background(), bakeTimeout)
	defer cancel()
	def, err := bake.Runner{Dir: p.Root, Env: os.Environ()}.All(ctx, s.Files)
	if err != nil {
		return diag.New(diag.Input, name, 0, "reading the bake definition: %v\n(imglock reads bake files with docker buildx bake; set [bake] disable = true in %s to leave them out)", err, config.FileName)
	}
	p.bake = map[string][]*bake.Target{}
	for _, t := range def.Sorted() {
		path, err := t.DockerfilePath()
		if err != nil {
			p.Problems.Add(diag.Warning, name, 0, "bake target %s left out: %v", t.Name, err)
			continue
		}
		rel, ok := bake.Rel(p.Root, path)
		if !ok {
			p.Problems.Add(diag.Warning, name, 0, "bake target %s left out: its Dockerfile %s is outside the repository", t.Name, path)
			continue
		}
		if _, err := os.Stat(joinRoot(p.Root, rel)); err != nil {
			p.Problems.Add(diag.Warning, name, 0, "bake target %s left out: no Dockerfile %s", t.Name, rel)
			continue
		}
		p.bake[rel] = append(p.bake[rel], t)
	}
	return nil
}

// withBakeFiles adds to files (sorted) the Dockerfiles bake targets build
// that discovery did not find.
func (p *Project) withBakeFiles(files []string) []string {
	for _, f := range slices.Sorted(maps.Keys(p.bake)) {
		if !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	slices.Sort(files)
	return files
}

// bakePulls evaluates f as the bake targets that build it do: each with
// its build args over imglock.toml's, its platforms (imglock.toml's when
// it names none), every stage as a target (or imglock.toml's targets and
// its own), imglock.toml's variants too; images its named contexts
// replace are not pulled. The platforms returned are those whose lines
// the lock records: imglock.toml's and the targets', none when neither
// names any.
func bakePulls(f *dockerfile.File, s config.Settings, cliArgs map[string]string, targets []*bake.Target) ([]dockerfile.Reference, diag.List, []string) {
	var refs []dockerfile.Reference
	var problems diag.List
	recorded := len(s.Platforms) > 0 || slices.ContainsFunc(targets, func(t *bake.Target) bool { return len(t.Platforms) > 0 })
	var platforms []string
	for _, t := range targets {
		pls := s.Platforms
		if len(t.Platforms) > 0 || len(pls) == 0 {
			pls = t.BuildPlatforms()
		}
		if recorded {
			platforms = append(platforms, pls...)
		}
		base := withArgs(s.BuildArgs, t.BuildArgs())
		argSets := []map[string]string{withArgs(base, cliArgs)}
		for _, v := range s.Variants {
			argSets = append(argSets, withArgs(base, v, cliArgs))
		}
		var builds []dockerfile.Build
		for _, pl := range pls {
			for _, args := range argSets {
				builds = append(builds, dockerfile.Build{Platform: pl, BuildArgs: args})
			}
		}
		stages := s.Targets // nil: every stage, the target's among them
		if stages != nil && !slices.Contains(stages, t.Stage()) {
			stages = append(slices.Clone(stages), t.Stage())
		}
		got, more := f.Pulls(builds, stages)
		refs = dockerfile.MergeReferences(refs, slices.DeleteFunc(got, t.Replaces))
		problems = append(problems, more...)
	}
	problems = problems.Dedupe()
	problems.Sort()
	slices.Sort(platforms)
	return refs, problems, slices.Compact(platforms)
}
