package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/project"
	"github.com/imglock/imglock/internal/review"
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
images.lock, per-platform lines with their tag. A tag pinned with a digest
in a Dockerfile is left to the file. --dry-run writes nothing.

Each move prints as REPO TAG: OLD -> NEW with what a reviewer needs to
judge it, as far as the image says: version, created time and age,
revision with a compare link, base image, and the platforms that changed
with their compressed sizes. --format markdown prints it as a pull
request body, --format json (or --json) as JSON.

--min-age (or min-age in imglock.toml) holds back a digest created less
than that long ago, saying when it becomes eligible; a digest with no
usable created time is held back too, unless --allow-unknown-age.
--ignore-unused-platforms (or ignore-unused-platforms) holds back a move
that changes no platform the project uses.

Example:
   $ imglock upgrade python
   docker.io/library/python 3.12-slim: sha256:1f0e4b3c5a7d -> sha256:9ac2d1e0f8b6
       version: 3.12.7 -> 3.12.8
       created: 2025-01-10 08:00 UTC (3 days ago)
       linux/amd64: changed, 45.1 MB -> 45.3 MB (+212 kB)`,
		Flags: append(append(networkFlags(), reviewFlags()...),
			buildArgFlag(),
			&cli.BoolFlag{Name: flagDryRun, Aliases: []string{"n"}, Usage: "print what would change; write nothing"},
			&cli.BoolFlag{Name: flagLong, Usage: "print full digests"},
			&cli.BoolFlag{Name: flagVerbose, Aliases: []string{"v"}, Usage: "also print tags that did not move"},
			&cli.BoolFlag{Name: flagJSON, Usage: "print the result as JSON (--format json)"},
		),
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			p, err := openProject(c, nil) // the arguments name images, not Dockerfiles
			if err != nil {
				return err
			}
			if err := applyPolicy(c, p); err != nil {
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
			now := time.Now()
			switch format {
			case formatJSON:
				return printJSON(c, upgradeResultJSON{
					DryRun:    c.Bool(flagDryRun),
					Changes:   changesJSON(res.Changes),
					Unchanged: changesJSON(res.Unchanged),
					Pinned:    problemsJSON(res.Pinned),
					Reviews:   reviewsJSON(res.Reviews),
				})
			case formatMarkdown:
				review.WriteMarkdown(c.App.Writer, upgradeDocument(res, p.LockName, c.Bool(flagDryRun), now))
			default:
				digest := digestFormat(c)
				writeReviews(c.App.Writer, res.Reviews, now, digest)
				reviewed := map[string]bool{}
				for _, r := range res.Reviews {
					reviewed[r.Repo+" "+r.Tag] = true
				}
				for _, ch := range res.Changes {
					// Platform lines move with their tag.
					if !strings.Contains(ch.Key, "/") && !reviewed[ch.Repo+" "+ch.Key] {
						fmt.Fprintf(c.App.Writer, "%s %s: %s -> %s\n", ch.Repo, ch.Key, digest(ch.Old), digest(ch.New))
					}
				}
				if c.Bool(flagVerbose) {
					for _, ch := range res.Unchanged {
						fmt.Fprintf(c.App.Writer, "%s %s: %s (unchanged)\n", ch.Repo, ch.Key, digest(ch.Old))
					}
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

// upgradeDocument is the pull request body of an upgrade.
func upgradeDocument(res project.UpgradeResult, lockName string, dryRun bool, now time.Time) review.Document {
	held := countHeld(res.Reviews)
	moved := len(res.Reviews) - held
	verb := "Moves"
	if dryRun {
		verb = "Would move"
	}
	target := "the digests their tags point at"
	if moved == 1 {
		target = "the digest its tag points at"
	}
	summary := fmt.Sprintf("%s %s in `%s` to %s now.", verb, diag.Count(moved, "base image"), filepath.Base(lockName), target)
	switch {
	case len(res.Reviews) == 0:
		summary = "No locked tag moved upstream."
	case moved == 0:
		summary = fmt.Sprintf("No base image moves: %d held back (below).", held)
	case held > 0:
		summary += fmt.Sprintf(" %d held back (below).", held)
	}
	return review.Document{Title: "Base image updates", Summary: summary, Reviews: res.Reviews, Now: now,
		Footer: "<sub>Written by `imglock upgrade`.</sub>"}
}

type upgradeResultJSON struct {
	DryRun    bool          `json:"dry_run"`
	Changes   []changeJSON  `json:"changes"`   // every lock line that moves, platform lines included
	Unchanged []changeJSON  `json:"unchanged"` // tags asked about that did not move (old == new)
	Pinned    []problemJSON `json:"pinned"`    // tags left alone: a Dockerfile pins their digest
	Reviews   []reviewJSON  `json:"reviews"`   // what changed in each tag that moved upstream; held ones did not move
}
