package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/config"
	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/discover"
	"github.com/imglock/imglock/internal/project"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/version"
	"github.com/imglock/imglock/lock"
)

// Flag names shared by several commands.
const (
	flagChdir    = "chdir"
	flagLockfile = "lockfile"
	flagBuildArg = "build-arg"
	flagJSON     = "json"
	flagConfig   = "config"
	flagTimeout  = "timeout"
	flagQuiet    = "quiet"
	flagDebug    = "debug"
	flagLong     = "long"
)

// defaultTimeout bounds the network work of one run when neither the flag
// nor imglock.toml sets it.
const defaultTimeout = 5 * time.Minute

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:    "imglock",
		Usage:   "pin the base images of your Dockerfiles in images.lock",
		Version: version.String(),
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
		// An unknown command is bad usage (exit 2), not the exit 3 urfave/cli
		// gives it.
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return fmt.Errorf("No help topic for '%s'", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
		Flags: []cli.Flag{
			&cli.StringFlag{Name: flagChdir, Aliases: []string{"C"}, Value: ".", Usage: "work on the repository at `DIR`"},
			&cli.StringFlag{Name: flagLockfile, Value: "images.lock", Usage: "the lock `FILE`, relative to the repository"},
			&cli.StringFlag{Name: flagConfig, Value: config.FileName, Usage: "the configuration `FILE`, relative to the repository (optional)"},
		},
		Commands: []*cli.Command{lockCommand(), verifyCommand(), upgradeCommand(), outdatedCommand(), buildCommand(), bakeCommand(), composeCommand(), contextsCommand(), lsCommand(), pinCommand(), unpinCommand(), configCommand()},
	}
}

// networkFlags are the flags of the commands that talk to registries.
func networkFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: flagTimeout, Usage: "give up on registries after `DURATION` (default: imglock.toml's timeout, else 5m)"},
		&cli.BoolFlag{Name: flagQuiet, Aliases: []string{"q"}, Usage: "no progress display"},
		&cli.BoolFlag{Name: flagDebug, Usage: "log each registry request to stderr (never its headers)"},
	}
}

func buildArgFlag() cli.Flag {
	return &cli.StringSliceFlag{Name: flagBuildArg, Usage: "set a global ARG, as docker build does (`NAME=VALUE`)"}
}

// openProject opens the repository that holds the -C directory (the
// nearest one upward with images.lock or imglock.toml, not crossing a
// repository root), about the Dockerfiles named (relative to the -C
// directory), or all of them when none is.
func openProject(c *cli.Context, files []string) (*project.Project, error) {
	args, err := buildArgs(c.StringSlice(flagBuildArg))
	if err != nil {
		return nil, err
	}
	machine, err := config.LoadMachine(config.MachinePath())
	if err != nil {
		return nil, err
	}
	root, err := projectRoot(c)
	if err != nil {
		return nil, err
	}
	rel, err := relativeTo(root, c.String(flagChdir), files)
	if err != nil {
		return nil, err
	}
	p, err := project.Open(project.Options{
		Machine:    machine,
		Root:       root,
		LockFile:   c.String(flagLockfile),
		ConfigFile: c.String(flagConfig),
		NeedConfig: c.IsSet(flagConfig),
		Files:      rel,
		BuildArgs:  args,
		Resolver:   func(cfg *config.Config) (resolve.Resolver, error) { return newResolver(c, cfg) },
	})
	if err != nil {
		return nil, err
	}
	for _, w := range p.Config.Warnings {
		fmt.Fprintln(c.App.ErrWriter, w)
	}
	return p, nil
}

// projectRoot finds the repository root from the -C directory.
func projectRoot(c *cli.Context) (string, error) {
	dir := c.String(flagChdir)
	root, _, err := discover.FindRoot(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("-C %s: no such directory", dir)
	case err != nil:
		return "", fmt.Errorf("-C %s: %w", dir, err)
	}
	return root, nil
}

// readLock reads the lock of the wrapper commands (build, bake, compose),
// found as every other command finds it: --lockfile, relative to the
// repository root found upward from the -C directory unless absolute.
func readLock(c *cli.Context) (*lock.File, string, error) {
	path := c.String(flagLockfile)
	if !filepath.IsAbs(path) {
		root, err := projectRoot(c)
		if err != nil {
			return nil, "", err
		}
		path = filepath.Join(root, path)
	}
	f, _, err := lock.ReadFile(path)
	return f, path, err
}

// relativeTo turns files named from dir into paths relative to root.
func relativeTo(root, dir string, files []string) ([]string, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range files {
		abs, err := filepath.Abs(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(absRoot, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("%s is outside the repository at %s", f, root)
		}
		out = append(out, filepath.ToSlash(rel))
	}
	return out, nil
}

// withNetwork runs fn with the context of a run's network work, bounded
// by its deadline, and says which setting to raise when the deadline ends
// it.
func withNetwork(c *cli.Context, p *project.Project, fn func(context.Context) error) error {
	timeout := defaultTimeout
	switch {
	case c.IsSet(flagTimeout):
		timeout = c.Duration(flagTimeout)
	case p.Config.Timeout > 0:
		timeout = p.Config.Timeout
	}
	ctx, cancel := context.WithTimeout(c.Context, timeout)
	defer cancel()
	err := fn(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w\ngave up after %s (--timeout, or timeout in imglock.toml)", err, timeout)
	}
	return err
}

// printWarnings prints warnings and notes to stderr, each once.
func printWarnings(c *cli.Context, lists ...diag.List) {
	seen := map[string]bool{}
	for _, l := range lists {
		for _, d := range l {
			if msg := d.Error(); !seen[msg] {
				seen[msg] = true
				fmt.Fprintln(c.App.ErrWriter, msg)
			}
		}
	}
}

// fromLockOnly prints, as a warning, each Dockerfile problem that an
// operation working from the lock goes past (upgrade, outdated): the tags
// of that file are taken from the lock alone.
func fromLockOnly(c *cli.Context, p *project.Project) {
	var notes diag.List
	for _, d := range p.Failures() {
		notes = append(notes, &diag.Diagnostic{File: d.File, Line: d.Line, Col: d.Col, Kind: diag.Warning, Msg: d.Msg})
	}
	printWarnings(c, notes)
}

// buildArgs reads --build-arg values as docker build does.
func buildArgs(values []string) (map[string]string, error) {
	args := map[string]string{}
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("--build-arg %q: want NAME=VALUE", kv)
		}
		if !ok {
			// A bare NAME takes its value from the environment.
			if v, ok = os.LookupEnv(k); !ok {
				continue
			}
		}
		args[k] = v
	}
	return args, nil
}
