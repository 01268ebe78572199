package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/config"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/project"
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
)

// defaultTimeout bounds the network work of one run when neither the flag
// nor imglock.toml sets it.
const defaultTimeout = 5 * time.Minute

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
			&cli.StringFlag{Name: flagConfig, Value: config.FileName, Usage: "the configuration `FILE`, relative to the repository (optional)"},
		},
		Commands: []*cli.Command{lockCommand(), verifyCommand(), upgradeCommand(), outdatedCommand(), buildCommand(), lsCommand(), pinCommand(), unpinCommand()},
	}
}

func version() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "(devel)"
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

// workspace is what the commands share: the repository's configuration
// and the Dockerfiles the flags and arguments choose.
type workspace struct {
	cfg      *config.Config
	opts     project.Options
	lockPath string     // from the working directory
	lock     *lock.File // as scanWorkspace read it
	lockData []byte     // its bytes (nil when there is no file)
}

func openWorkspace(c *cli.Context) (*workspace, error) {
	root := c.String(flagChdir)
	paths := project.Options{Root: root}
	cfgPath := paths.Path(c.String(flagConfig))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, err
	}
	if c.IsSet(flagConfig) {
		if _, err := os.Stat(cfgPath); err != nil {
			return nil, err
		}
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(c.App.ErrWriter, w)
	}
	flagArgs, err := buildArgs(c.StringSlice(flagBuildArg))
	if err != nil {
		return nil, err
	}
	// project.Options holds one set of build args for every Dockerfile: the
	// global ones and those of [[dockerfile]] tables for every path (the
	// legacy [[variant]] tables among them), under the command line's.
	args := maps.Clone(cfg.BuildArgs)
	if args == nil {
		args = map[string]string{}
	}
	var variants []map[string]string
	for _, d := range cfg.Dockerfiles {
		if d.Path == "**" {
			maps.Copy(args, d.BuildArgs)
			variants = append(variants, d.Variants...)
		}
	}
	maps.Copy(args, flagArgs)
	return &workspace{
		cfg: cfg,
		opts: project.Options{
			Root:      root,
			Files:     c.Args().Slice(),
			Include:   cfg.Include,
			Exclude:   cfg.Exclude,
			BuildArgs: args,
			Variants:  variants,
		},
		lockPath: paths.Path(c.String(flagLockfile)),
	}, nil
}

// scanWorkspace opens the workspace, reads its lock and returns the
// references of its Dockerfiles.
func scanWorkspace(c *cli.Context) (*workspace, []dockerfile.Reference, error) {
	w, err := openWorkspace(c)
	if err != nil {
		return nil, nil, err
	}
	refs, err := w.scan()
	return w, refs, err
}

// scan reads the lock and the Dockerfiles the options choose.
func (w *workspace) scan() ([]dockerfile.Reference, error) {
	var err error
	if w.lock, w.lockData, err = lock.ReadFile(w.lockPath); err != nil {
		return nil, err
	}
	return project.Scan(w.opts)
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
