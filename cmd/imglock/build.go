package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/build"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/lock"
)

func buildCommand() *cli.Command {
	return &cli.Command{
		Name:      "build",
		Usage:     "run docker build with every base image pinned from images.lock",
		ArgsUsage: "[--print] [--pin-mode auto|contexts|stdin] [DOCKER BUILD OPTIONS] PATH",
		Description: `Takes docker build's options and context as they are, reads the Dockerfile
docker would (-f, else PATH/Dockerfile) with the same --build-arg values,
and fails before building (exit 1) if any base image is not locked.

The pins go in as named build contexts (--build-context) with docker buildx
build when its builder runs BuildKit 0.10 or later; otherwise the Dockerfile
with its references pinned goes to docker build on standard input (-f -),
the file on disk untouched. A reference from a global ARG gets
--build-arg NAME=REF@DIGEST; the # syntax= frontend gets BUILDKIT_SYNTAX.
The exit code is the builder's. Arguments travel as argv, never through a
shell.

imglock's own options, anywhere among docker's:
   --print          print the exact command (and the Dockerfile sent on
                    standard input) and run nothing
   --pin-mode MODE  contexts or stdin instead of detecting what the builder
                    supports (auto)

Example:
   $ imglock build --print -t app .
   docker buildx build -t app --build-context python:3.12-slim=docker-image://docker.io/library/python:3.12-slim@sha256:1f0e... .`,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			printOnly, mode, args, err := buildOptions(c.Args().Slice())
			if err != nil {
				return err
			}
			if args == nil {
				// ShowCommandHelp would look among build's (absent) subcommands.
				cli.HelpPrinter(c.App.Writer, cli.CommandHelpTemplate, c.Command)
				return nil
			}
			// Like the other commands, build runs in the -C directory: the
			// context and -f are read, and docker runs, from there.
			dir := c.String(flagChdir)
			inv, err := build.ParseArgs(args, os.LookupEnv)
			if err != nil {
				return fmt.Errorf("imglock build: %w", err)
			}
			path, err := inv.DockerfilePath(dir)
			if err != nil {
				return fmt.Errorf("imglock build: %w", err)
			}
			shown := path // as messages name it: from where imglock runs
			if !filepath.IsAbs(path) {
				shown = filepath.Join(dir, path)
			}
			data, err := os.ReadFile(shown)
			if err != nil {
				return err
			}
			df, err := dockerfile.Parse(shown, data)
			if err != nil {
				return err
			}
			// What this build pulls: its platforms and target, its build args.
			platforms := inv.Platforms
			if len(platforms) == 0 {
				platforms = []string{dockerfile.DefaultPlatform}
			}
			var builds []dockerfile.Build
			for _, pl := range platforms {
				builds = append(builds, dockerfile.Build{Platform: pl, BuildArgs: inv.BuildArgs})
			}
			refs, problems := df.Pulls(builds, []string{inv.Target})
			if err := problems.Err(); err != nil {
				return err
			}
			root, err := projectRoot(c)
			if err != nil {
				return err
			}
			lockPath := c.String(flagLockfile)
			if !filepath.IsAbs(lockPath) {
				lockPath = filepath.Join(root, lockPath)
			}
			f, _, err := lock.ReadFile(lockPath)
			if err != nil {
				return err
			}
			if mode == "" {
				mode = build.Detect(c.Context, os.Environ(), inv.Builder)
			}
			plan, err := build.NewPlan(inv, shown, data, refs, df.Stages(), f, lockPath, mode)
			if err != nil {
				return err
			}
			if printOnly {
				fmt.Fprintln(c.App.Writer, shellQuote(plan.Argv))
				if plan.Stdin != nil {
					fmt.Fprintf(c.App.Writer, "# Dockerfile on standard input:\n%s", plan.Stdin)
				}
				return nil
			}
			code, err := build.Run(c.Context, plan, dir, os.Environ(), os.Stdin, c.App.Writer, c.App.ErrWriter)
			if err != nil {
				return err
			}
			if code != 0 {
				return cli.Exit("", code)
			}
			return nil
		},
	}
}

// buildOptions takes imglock's own options out of the build arguments. A
// nil rest asks for help.
func buildOptions(args []string) (printOnly bool, mode build.Mode, rest []string, err error) {
	// imglock's own options may come anywhere, as docker's do; the value of
	// one of docker's options is never taken for one.
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--print":
			printOnly = true
		case a == "--pin-mode" && i+1 < len(args):
			mode = build.Mode(args[i+1])
			i++
		case strings.HasPrefix(a, "--pin-mode="):
			mode = build.Mode(strings.TrimPrefix(a, "--pin-mode="))
		case a == "-h" || a == "--help":
			return false, "", nil, nil
		case a == "--":
			rest = append(rest, args[i:]...)
			i = len(args)
		default:
			rest = append(rest, a)
			if build.TakesValue(a) && i+1 < len(args) {
				rest = append(rest, args[i+1])
				i++
			}
		}
	}
	switch mode {
	case "", "auto":
		mode = ""
	case build.ModeContexts, build.ModeStdin:
	default:
		return false, "", nil, fmt.Errorf("--pin-mode %q: want auto, contexts or stdin", mode)
	}
	if len(rest) == 0 {
		return false, "", nil, fmt.Errorf("imglock build: no build context given (imglock build [OPTIONS] PATH)")
	}
	return printOnly, mode, rest, nil
}

// shellQuote writes argv as a shell would need it, for display only: the
// command itself never goes through a shell.
func shellQuote(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
			out[i] = a
		} else {
			out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(out, " ")
}
