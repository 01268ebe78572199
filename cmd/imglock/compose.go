package main

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/build"
	"github.com/imglock/imglock/internal/compose"
	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/discover"
	"github.com/imglock/imglock/internal/dockerfile"
)

func composeCommand() *cli.Command {
	return &cli.Command{
		Name:      "compose",
		Usage:     "run docker compose with every image and build base pinned from images.lock",
		ArgsUsage: "[--print] [--pin-mode auto|policy|contexts|inline|file] [COMPOSE OPTIONS] COMMAND [ARGS...]",
		Description: `Takes docker compose's options and command as they are, reads the compose
project docker compose would (-f, COMPOSE_FILE, else compose.yaml and its
override found from the current directory), and runs docker compose with one
more -f: a temporary override file that sets each pulled service image and
image volume to REPO:TAG@DIGEST and pins what each build pulls. For pull, up,
build, run, create, watch and config it fails before running (exit 1) if any
reference is not locked, every profile counted; other commands run as they
are. The exit code is docker compose's own.

How the builds are pinned depends on their builder (detected, or --pin-mode):
   policy    a source policy (EXPERIMENTAL_BUILDKIT_SOURCE_POLICY) that
             converts each locked image to its digest and denies any other:
             BuildKit 0.12 or later, through bake
   contexts  build.additional_contexts, a named context per image: BuildKit
             0.10 or later
   inline    build.dockerfile_inline, the Dockerfile with its references
             pinned: any BuildKit (Docker 20.10's 0.8 has no named contexts
             and ignores source policies)
   file      build.dockerfile, a pinned copy outside the context: the classic
             builder (DOCKER_BUILDKIT=0), which ignores dockerfile_inline
A global ARG that is a whole reference is pinned with build.args, the
# syntax= frontend with BUILDKIT_SYNTAX. An image pulled by REPO:TAG@DIGEST
is stored untagged: inspect it by digest.

imglock's own options come first:
   --print          print the exact command and the files it reads, run nothing
   --pin-mode MODE  how builds are pinned, instead of detecting it (auto)

Example:
   $ imglock compose up -d
   $ imglock compose --print pull`,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			printOnly, mode, args, err := composeOptions(c.Args().Slice())
			if err != nil {
				return err
			}
			if args == nil {
				return showHelp(c)
			}
			dir := c.String(flagChdir)
			inv, err := build.ParseComposeArgs(args, os.LookupEnv)
			if err != nil {
				return fmt.Errorf("imglock compose: %w", err)
			}
			if !inv.Pins() {
				argv := append(append([]string{"docker", "compose"}, inv.Global...), append([]string{inv.Command}, inv.CommandArgs...)...)
				if printOnly {
					fmt.Fprintln(c.App.Writer, shellQuote(argv))
					return nil
				}
				return runCompose(c, argv, nil, dir)
			}
			plan, cleanup, err := composePlan(c, inv, dir, mode)
			if err != nil {
				return err
			}
			defer cleanup()
			printWarnings(c, plan.Notes)
			if printOnly {
				fmt.Fprintln(c.App.Writer, shellQuote(append(slices.Clone(plan.Env), plan.Argv...)))
				for _, path := range slices.Sorted(maps.Keys(plan.Files)) {
					fmt.Fprintf(c.App.Writer, "# %s:\n%s", path, plan.Files[path])
					if !strings.HasSuffix(string(plan.Files[path]), "\n") {
						fmt.Fprintln(c.App.Writer)
					}
				}
				return nil
			}
			if err := plan.WriteFiles(); err != nil {
				return err
			}
			return runCompose(c, plan.Argv, plan.Env, dir)
		},
	}
}

// composePlan reads the project inv runs on and the lock, and plans the
// pinned command; cleanup removes the files the plan writes.
func composePlan(c *cli.Context, inv *build.ComposeInvocation, dir string, mode build.ComposeMode) (build.ComposePlan, func(), error) {
	none := func() {}
	files, err := inv.ComposeFiles(dir, discover.ComposeFileNames, discover.ComposeOverrideFileNames)
	if err != nil {
		return build.ComposePlan{}, none, fmt.Errorf("imglock compose: %w", err)
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	var envFiles []string
	for _, f := range inv.EnvFiles {
		envFiles = append(envFiles, abs(f))
	}
	// Messages name files from where imglock runs, as the other commands do.
	name := func(p string) string {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
				return filepath.ToSlash(rel)
			}
		}
		return p
	}
	p, err := compose.Load(c.Context, compose.Options{
		Files:      files,
		ProjectDir: abs(inv.ProjectDir),
		EnvFiles:   envFiles,
		Environ:    os.Environ(),
		Name:       name,
	})
	if err != nil {
		return build.ComposePlan{}, none, err
	}
	f, lockPath, err := readLock(c)
	if err != nil {
		return build.ComposePlan{}, none, err
	}
	builds, notes, err := composeBuilds(p, name)
	if err != nil {
		return build.ComposePlan{}, none, err
	}
	if mode == "" && len(builds) > 0 {
		mode = build.DetectCompose(c.Context, os.Environ(), inv)
	}
	tmp, err := os.MkdirTemp("", "imglock-compose-")
	if err != nil {
		return build.ComposePlan{}, none, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	plan, err := build.NewComposePlan(inv, files, p.Images, builds, f, lockPath, mode, tmp, os.Environ())
	if err != nil {
		cleanup()
		return build.ComposePlan{}, none, err
	}
	plan.Notes = append(append(p.Problems, notes...), plan.Notes...)
	return plan, cleanup, nil
}

// composeBuilds evaluates each build of the project for the platforms it
// builds for: its own, else DOCKER_DEFAULT_PLATFORM, else this machine's
// (docker compose builds for the engine's, which is local as a rule).
func composeBuilds(p *compose.Project, name func(string) string) ([]build.ComposeBuild, diag.List, error) {
	platform := os.Getenv("DOCKER_DEFAULT_PLATFORM")
	if platform == "" {
		platform = "linux/" + runtime.GOARCH
	}
	var out []build.ComposeBuild
	var notes, problems diag.List
	for _, b := range p.Builds {
		cb := build.ComposeBuild{Build: b}
		switch {
		case b.Remote != "":
			continue // a warning of the project already
		case b.Inline != "":
			cb.Name, cb.Dockerfile = b.InlineFile, []byte(b.Inline)
		default:
			data, err := os.ReadFile(b.Dockerfile)
			if err != nil {
				problems.Add(diag.Input, b.File, b.Line, "build of service %s: %v", b.Service, err)
				continue
			}
			cb.Name, cb.Dockerfile = name(b.Dockerfile), data
		}
		var df *dockerfile.File
		var err error
		if b.Inline != "" {
			df, err = b.ParseInline()
		} else {
			df, err = dockerfile.Parse(cb.Name, cb.Dockerfile)
		}
		if err != nil {
			list, _ := diag.Collect(err)
			problems = append(problems, list...)
			continue
		}
		refs, pr := cb.Build.Pulls(df, []string{platform})
		if err := pr.Err(); err != nil {
			problems = append(problems, pr.Failures()...)
			continue
		}
		notes = append(notes, pr.Others()...)
		cb.Refs, cb.Stages = refs, df.Stages()
		out = append(out, cb)
	}
	if len(problems) > 0 {
		return nil, nil, problems
	}
	return out, notes, nil
}

// runCompose runs argv in dir with the environment and env added, and
// exits with its code; an interrupt leaves imglock the time to remove the
// plan's files.
func runCompose(c *cli.Context, argv, env []string, dir string) error {
	cmd := exec.CommandContext(c.Context, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, c.App.Writer, c.App.ErrWriter
	code, err := build.Wait(cmd)
	if err != nil {
		return err
	}
	if code != 0 {
		return cli.Exit("", code)
	}
	return nil
}

// composeOptions takes imglock's own options from the front of the
// arguments. A nil rest asks for help.
func composeOptions(args []string) (printOnly bool, mode build.ComposeMode, rest []string, err error) {
options:
	for len(args) > 0 {
		switch a := args[0]; {
		case a == "--print":
			printOnly = true
			args = args[1:]
		case a == "--pin-mode" && len(args) > 1:
			mode, args = build.ComposeMode(args[1]), args[2:]
		case strings.HasPrefix(a, "--pin-mode="):
			mode, args = build.ComposeMode(strings.TrimPrefix(a, "--pin-mode=")), args[1:]
		case a == "-h" || a == "--help":
			return false, "", nil, nil
		default:
			break options
		}
	}
	switch mode {
	case "", "auto":
		mode = ""
	case build.ComposePolicy, build.ComposeContexts, build.ComposeInline, build.ComposeFile:
	default:
		return false, "", nil, fmt.Errorf("--pin-mode %q: want auto, policy, contexts, inline or file", mode)
	}
	if len(args) == 0 {
		return false, "", nil, fmt.Errorf("imglock compose: no docker compose command given (imglock compose [OPTIONS] COMMAND [ARGS...])")
	}
	return printOnly, mode, args, nil
}
