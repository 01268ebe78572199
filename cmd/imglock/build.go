package main

import (
	"fmt"
	"io"
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
		ArgsUsage: "[--print] [--pin-mode auto|policy|contexts|stdin] [DOCKER BUILD OPTIONS] PATH",
		Description: `Takes docker build's options and context as they are, reads the Dockerfile
docker would (-f, else PATH/Dockerfile) with the same --build-arg values,
--platform and --target, and fails before building (exit 1) if any image
that build pulls is not locked.

How the pins reach the builder depends on what it supports (asked with
docker buildx inspect):
   policy    BuildKit 0.12 or later: docker buildx build as given, with a
             source policy (EXPERIMENTAL_BUILDKIT_SOURCE_POLICY, a
             temporary file removed after the build) that converts each
             locked image to its digest, the # syntax= frontend included,
             and denies any other image: the build can pull nothing else
   contexts  BuildKit 0.10 or later: a named build context per image
             (--build-context), never keyed by a stage's name
   stdin     older builders (the classic builder, Docker 20.10's BuildKit
             0.8): the Dockerfile with its references pinned goes to
             docker build on standard input (-f -), the file on disk
             untouched
In contexts and stdin modes a reference from a global ARG gets
--build-arg NAME=REF@DIGEST and the # syntax= frontend BUILDKIT_SYNTAX.
A policy of your own in EXPERIMENTAL_BUILDKIT_SOURCE_POLICY is kept, its
rules after imglock's. The exit code is the builder's. Arguments travel as
argv, never through a shell.

imglock's own options, anywhere among docker's:
   --print          print the exact command (and the policy, or the
                    Dockerfile sent on standard input) and run nothing
   --pin-mode MODE  policy, contexts or stdin instead of detecting what the
                    builder supports (auto)

Example:
   $ imglock build --print -t app .
   EXPERIMENTAL_BUILDKIT_SOURCE_POLICY=imglock-policy.json docker buildx build -t app .
   # imglock-policy.json, a temporary file for the build:
   {
     "rules": [ ...`,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			printOnly, mode, args, err := wrapperOptions("build", "PATH", c.Args().Slice())
			if err != nil {
				return err
			}
			if args == nil {
				return showHelp(c)
			}
			in, err := readBuild(c, args)
			if err != nil {
				return err
			}
			// Refuse before asking the builder anything.
			pins, err := build.Lookup(in.refs, in.lock, in.lockPath)
			if err != nil {
				return err
			}
			if mode == "" {
				mode = build.Detect(c.Context, os.Environ(), in.inv.Builder)
			}
			plan, err := build.NewPlan(in.inv, in.path, in.data, pins, in.df.Stages(), mode)
			if err != nil {
				return err
			}
			return runPlan(c, plan, printOnly)
		},
	}
}

// buildInput is one docker build command line and what its build pulls.
type buildInput struct {
	inv      *build.Invocation
	path     string // the Dockerfile, as messages name it
	data     []byte
	df       *dockerfile.File
	refs     []dockerfile.Reference
	lock     *lock.File
	lockPath string
}

// readBuild reads docker build arguments, the Dockerfile docker would
// read, and the lock, and evaluates what that build pulls: for its
// platforms and target, with its build args. Like the other commands, it
// works in the -C directory: the context and -f are read from there.
func readBuild(c *cli.Context, args []string) (*buildInput, error) {
	dir := c.String(flagChdir)
	inv, err := build.ParseArgs(args, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("imglock %s: %w", c.Command.Name, err)
	}
	path, err := inv.DockerfilePath(dir)
	if err != nil {
		return nil, fmt.Errorf("imglock %s: %w", c.Command.Name, err)
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path) // as messages name it: from where imglock runs
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	df, err := dockerfile.Parse(path, data)
	if err != nil {
		return nil, err
	}
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
		return nil, err
	}
	f, lockPath, err := readLock(c)
	if err != nil {
		return nil, err
	}
	return &buildInput{inv: inv, path: path, data: data, df: df, refs: refs, lock: f, lockPath: lockPath}, nil
}

// runPlan prints the plan (--print) or runs it in the -C directory, with
// a policy of the user's own kept, and exits with the builder's code.
func runPlan(c *cli.Context, plan build.Plan, printOnly bool) error {
	env := os.Environ()
	if plan.Policy != nil {
		if err := plan.Policy.AddUserPolicy(env); err != nil {
			return err
		}
	}
	if printOnly {
		printPlan(c.App.Writer, plan)
		return nil
	}
	code, err := build.Run(c.Context, plan, c.String(flagChdir), env, os.Stdin, c.App.Writer, c.App.ErrWriter)
	if err != nil {
		return err
	}
	if code != 0 {
		return cli.Exit("", code)
	}
	return nil
}

// printPlan writes the command as a shell would take it, and what it
// reads besides its arguments: the policy file, or the Dockerfile on
// standard input.
func printPlan(w io.Writer, plan build.Plan) {
	if plan.Policy != nil {
		fmt.Fprintf(w, "%s=%s %s\n", build.PolicyEnv, build.PolicyFile, shellQuote(plan.Argv))
		fmt.Fprintf(w, "# %s, a temporary file for the build:\n%s", build.PolicyFile, plan.Policy.JSON())
		return
	}
	fmt.Fprintln(w, shellQuote(plan.Argv))
	if plan.Stdin != nil {
		fmt.Fprintf(w, "# Dockerfile on standard input:\n%s", plan.Stdin)
	}
}

// wrapperOptions takes imglock's own options out of the arguments of a
// command that wraps a docker one (build, bake): they may come anywhere, as
// docker's do, and the value of one of docker's options is never taken for
// one. A nil rest asks for help. what names the argument the command needs
// ("" for none).
func wrapperOptions(command, what string, args []string) (printOnly bool, mode build.Mode, rest []string, err error) {
	rest = []string{}
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
	case build.ModePolicy, build.ModeContexts, build.ModeStdin:
	default:
		return false, "", nil, fmt.Errorf("--pin-mode %q: want auto, policy, contexts or stdin", mode)
	}
	if len(rest) == 0 && what != "" {
		return false, "", nil, fmt.Errorf("imglock %s: no build context given (imglock %s [OPTIONS] %s)", command, command, what)
	}
	return printOnly, mode, rest, nil
}

// showHelp prints a wrapper command's help: cli.ShowCommandHelp would look
// among the command's (absent) subcommands.
func showHelp(c *cli.Context) error {
	cli.HelpPrinter(c.App.Writer, cli.CommandHelpTemplate, c.Command)
	return nil
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
