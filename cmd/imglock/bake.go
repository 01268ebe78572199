package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/bake"
	"github.com/imglock/imglock/internal/build"
	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/lock"
)

func bakeCommand() *cli.Command {
	return &cli.Command{
		Name:      "bake",
		Usage:     "run docker buildx bake with every base image pinned from images.lock",
		ArgsUsage: "[--print] [--pin-mode auto|policy|contexts] [BAKE OPTIONS] [TARGET...]",
		Description: `Reads the bake definition docker buildx bake would build with the same
options and targets, as buildx resolves it (docker buildx bake --print:
HCL, JSON and compose files, variables, inheritance and matrices), reads
each target's Dockerfile with its build args, target stage and platforms,
and fails before building (exit 1) if an image any target pulls is not
locked, naming the bake target and the Dockerfile's FILE:LINE.

Then it runs docker buildx bake with the options as given and, on a
builder with BuildKit 0.12 or later, one source policy for every target
(EXPERIMENTAL_BUILDKIT_SOURCE_POLICY, a temporary file removed after the
build) that converts each locked image to its digest, the # syntax=
frontend included, and denies any other image; on BuildKit 0.10 or later,
--set TARGET.contexts.NAME=docker-image://... and TARGET.args values.
An image a target's contexts name (docker-image://) must be written with
its digest. The exit code is bake's.

imglock's own options come first:
   --print          print the exact command (and the policy) and run nothing
   --pin-mode MODE  policy or contexts instead of detecting what the
                    builder supports (auto)`,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			printOnly, mode, args, err := wrapperOptions("bake", "", c.Args().Slice())
			if err != nil {
				return err
			}
			if args == nil {
				return showHelp(c)
			}
			dir := c.String(flagChdir)
			env := os.Environ()
			// Ask the builder while buildx resolves the definition: each
			// is a docker command of its own.
			detected := make(chan build.Mode, 1)
			if mode == "" {
				go func() { detected <- build.DetectBuildx(c.Context, env, bakeBuilder(args)) }()
			}
			def, err := bake.Runner{Dir: dir, Env: env}.Print(c.Context, args)
			if err != nil {
				return fmt.Errorf("imglock bake: %w", err)
			}
			f, lockPath, err := readLock(c)
			if err != nil {
				return err
			}
			targets, err := bakeTargets(dir, def, f, lockPath)
			if err != nil {
				return err
			}
			if mode == "" {
				mode = <-detected
			}
			plan, err := build.NewBakePlan(args, targets, mode)
			if err != nil {
				return err
			}
			return runPlan(c, plan, printOnly)
		},
	}
}

// bakeTargets evaluates each target's Dockerfile as the target builds it
// and pins what it pulls from the lock f. Every reference the lock lacks,
// in any target, is reported, naming the target; so is what imglock
// cannot read.
func bakeTargets(dir string, def *bake.Definition, f *lock.File, lockPath string) ([]build.BakeTarget, error) {
	var problems diag.List
	parsed := map[string]*dockerfile.File{}
	var out []build.BakeTarget
	for _, t := range def.Sorted() {
		inTarget := func(d *diag.Diagnostic) *diag.Diagnostic {
			d.Msg = "bake target " + t.Name + ": " + d.Msg
			return d
		}
		path, err := t.DockerfilePath()
		if err != nil {
			problems = append(problems, diag.New(diag.Input, "", 0, "bake target %s: %v", t.Name, err))
			continue
		}
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path) // as messages name it: from where imglock runs
		}
		df := parsed[path]
		if df == nil {
			data, err := os.ReadFile(path)
			if err != nil {
				problems = append(problems, diag.New(diag.Input, "", 0, "bake target %s: %v", t.Name, err))
				continue
			}
			if df, err = dockerfile.Parse(path, data); err != nil {
				l, _ := diag.Collect(err)
				for _, d := range l {
					problems = append(problems, inTarget(d))
				}
				continue
			}
			parsed[path] = df
		}
		refs, pullProblems := df.Pulls(t.Builds(nil), []string{t.Stage()})
		for _, d := range pullProblems.Failures() {
			problems = append(problems, inTarget(d))
		}
		refs = slices.DeleteFunc(refs, t.Replaces)
		pins, err := build.Lookup(refs, f, lockPath)
		if err != nil {
			l, _ := diag.Collect(err)
			for _, d := range l {
				problems = append(problems, inTarget(d))
			}
			continue
		}
		contextPins, err := bakeContextPins(t)
		if err != nil {
			problems = append(problems, diag.New(diag.Input, "", 0, "bake target %s: %v", t.Name, err))
			continue
		}
		out = append(out, build.BakeTarget{Name: t.Name, Pins: append(pins, contextPins...), Stages: df.Stages()})
	}
	if len(problems) > 0 {
		problems.Sort()
		return nil, problems
	}
	return out, nil
}

// bakeContextPins are the images a target's named contexts give: the bake
// file names them, not a Dockerfile, so the lock does not hold them, and
// each must be written with its digest.
func bakeContextPins(t *bake.Target) ([]build.Pin, error) {
	contexts := t.ImageContexts()
	var pins []build.Pin
	for _, k := range slices.Sorted(maps.Keys(contexts)) {
		ref, err := imageref.Parse(contexts[k])
		if err != nil {
			return nil, fmt.Errorf("contexts.%s: %v", k, err)
		}
		if ref.Digest == "" {
			return nil, fmt.Errorf("contexts.%s=docker-image://%s: imglock locks the images Dockerfiles name; write this one with its digest (%s@sha256:...)", k, contexts[k], contexts[k])
		}
		pins = append(pins, build.Pin{Ref: dockerfile.Reference{Kind: "context", Written: contexts[k], Expanded: contexts[k], Image: ref}, Digest: ref.Digest})
	}
	return pins, nil
}

// bakeBuilder is the --builder bake options name, "" for the current one.
func bakeBuilder(args []string) string {
	builder := ""
	for i, a := range args {
		switch {
		case a == "--builder" && i+1 < len(args):
			builder = args[i+1]
		case strings.HasPrefix(a, "--builder="):
			builder = strings.TrimPrefix(a, "--builder=")
		}
	}
	return builder
}
