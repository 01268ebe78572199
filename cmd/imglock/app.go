package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/project"
)

// Flag names shared by several commands.
const (
	flagChdir    = "chdir"
	flagLockfile = "lockfile"
	flagBuildArg = "build-arg"
	flagJSON     = "json"
)

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:    "imglock",
		Usage:   "pin the base images of your Dockerfiles in images.lock",
		Version: version(),
		Description: `imglock keeps readable tags in Dockerfiles (FROM python:3.12-slim) and records,
go.sum-style, the digest each tag resolved to in a committed images.lock.

Exit codes: 0 success, 1 verification found a difference, 2 bad usage or
bad input, 3 registry or network failure.`,
		Writer:               stdout,
		ErrWriter:            stderr,
		HideHelpCommand:      true,
		EnableBashCompletion: false,
		// main prints the error once and picks the exit code.
		ExitErrHandler: func(*cli.Context, error) {},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: flagChdir, Aliases: []string{"C"}, Value: ".", Usage: "work on the repository at `DIR`"},
			&cli.StringFlag{Name: flagLockfile, Value: "images.lock", Usage: "the lock `FILE`, relative to the repository"},
		},
		Commands: []*cli.Command{lockCommand(), verifyCommand(), lsCommand()},
	}
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
}

func buildArgFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: flagBuildArg, Usage: "set a global ARG, as docker build does (`NAME=VALUE`)"}
}

// scanProject returns the references of the Dockerfiles the flags and
// arguments choose.
func scanProject(c *cli.Context) ([]dockerfile.Reference, error) {
	opts, err := projectOptions(c)
	if err != nil {
		return nil, err
	}
	return project.Scan(opts)
}

// projectOptions reads the flags and arguments that choose the Dockerfiles.
func projectOptions(c *cli.Context) (project.Options, error) {
	args := map[string]string{}
	for _, kv := range c.StringSlice(flagBuildArg) {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return project.Options{}, fmt.Errorf("--build-arg %q: want NAME=VALUE", kv)
		}
		if !ok {
			// As docker build does: a bare NAME takes its value from the environment.
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		args[k] = v
	}
	return project.Options{Root: c.String(flagChdir), Files: c.Args().Slice(), BuildArgs: args}, nil
}

// lockPath is the lock file's path from the working directory.
func lockPath(c *cli.Context) string {
	return project.Options{Root: c.String(flagChdir)}.Path(c.String(flagLockfile))
}
