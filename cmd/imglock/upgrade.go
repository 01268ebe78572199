package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/project"
)

const (
	flagDryRun  = "dry-run"
	flagVerbose = "verbose"
)

func upgradeCommand() *cli.Command {
	return &cli.Command{
		Name:      "upgrade",
		Usage:     "move locked tags to the digests they point at now",
		ArgsUsage: "[IMAGE...]",
		Description: `Re-resolves every locked tag, or only the images named (as written in a
Dockerfile, python:3.12 or ${BASE}, or by repository, with or without a
tag: python, docker.io/library/python:3.12), and writes the new digests to
images.lock, per-platform lines with their tag. Prints each move as
REPO TAG: OLD -> NEW. A tag pinned with a digest in a Dockerfile is left
to the file. --dry-run prints the same and writes nothing.

Example:
   $ imglock upgrade python
   docker.io/library/python 3.12-slim: sha256:1f0e4b3c5a7d -> sha256:9ac2d1e0f8b6`,
		Flags: append(networkFlags(),
			buildArgFlag(),
			&cli.BoolFlag{Name: flagDryRun, Aliases: []string{"n"}, Usage: "print what would change; write nothing"},
			&cli.BoolFlag{Name: flagLong, Usage: "print full digests"},
			&cli.BoolFlag{Name: flagVerbose, Aliases: []string{"v"}, Usage: "also print tags that did not move"},
			&cli.BoolFlag{Name: flagJSON, Usage: "print the result as JSON"},
		),
		Action: func(c *cli.Context) error {
			p, err := openProject(c, nil) // the arguments name images, not Dockerfiles
			if err != nil {
				return err
			}
			fromLockOnly(c, p)
			var res project.UpgradeResult
			err = withNetwork(c, p, func(ctx context.Context) (err error) {
				res, err = p.Upgrade(ctx, c.Args().Slice(), c.Bool(flagDryRun))
				return err
			})
			if err != nil {
				return err
			}
			if c.Bool(flagJSON) {
				return printJSON(c, upgradeResultJSON{
					DryRun:    c.Bool(flagDryRun),
					Changes:   changesJSON(res.Changes),
					Unchanged: changesJSON(res.Unchanged),
					Pinned:    problemsJSON(res.Pinned),
				})
			}
			digest := shortDigest
			if c.Bool(flagLong) {
				digest = func(d string) string { return d }
			}
			for _, ch := range res.Changes {
				if !strings.Contains(ch.Key, "/") { // platform lines move with their tag
					fmt.Fprintf(c.App.Writer, "%s %s: %s -> %s\n", ch.Repo, ch.Key, digest(ch.Old), digest(ch.New))
				}
			}
			if c.Bool(flagVerbose) {
				for _, ch := range res.Unchanged {
					fmt.Fprintf(c.App.Writer, "%s %s: %s (unchanged)\n", ch.Repo, ch.Key, digest(ch.Old))
				}
			}
			for _, n := range res.Pinned {
				fmt.Fprintln(c.App.ErrWriter, n)
			}
			if c.Bool(flagDryRun) && len(res.Changes) > 0 {
				fmt.Fprintf(c.App.ErrWriter, "dry run: %s not written\n", p.LockName)
			}
			return nil
		},
	}
}

type upgradeResultJSON struct {
	DryRun    bool          `json:"dry_run"`
	Changes   []changeJSON  `json:"changes"`   // every lock line that moves, platform lines included
	Unchanged []changeJSON  `json:"unchanged"` // tags asked about that did not move (old == new)
	Pinned    []problemJSON `json:"pinned"`    // tags left alone: a Dockerfile pins their digest
}
