package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/project"
	"github.com/imglock/imglock/internal/review"
)

func outdatedCommand() *cli.Command {
	return &cli.Command{
		Name:      "outdated",
		Usage:     "list locked tags that moved upstream: what upgrade would change",
		ArgsUsage: "[DOCKERFILE...]",
		Description: `Asks the registries (HEAD requests) what each locked tag points at now and
lists those that moved since they were locked, with the locked and the
current digest, then what changed in each, as upgrade prints it (read
only for the tags that moved); with a minimum age or unused platforms
ignored, those upgrade would hold back say so. Changes nothing.
--format markdown prints a report, --format json (or --json) every
locked tag's state.

Example:
   $ imglock outdated
   IMAGE                     TAG   LOCKED               CURRENT
   docker.io/library/python  3.12  sha256:1f0e4b3c5a7d  sha256:9ac2d1e0f8b6

   docker.io/library/python 3.12: sha256:1f0e4b3c5a7d -> sha256:9ac2d1e0f8b6
       version: 3.12.7 -> 3.12.8
       created: 2025-01-10 08:00 UTC (3 days ago)`,
		Flags: append(append(networkFlags(), reviewFlags()...),
			buildArgFlag(),
			&cli.BoolFlag{Name: flagJSON, Usage: "print every locked tag's state as JSON (--format json)"},
			&cli.BoolFlag{Name: flagLong, Usage: "print full digests"},
		),
		Action: func(c *cli.Context) error {
			format, err := outputFormat(c)
			if err != nil {
				return err
			}
			p, err := openProject(c, c.Args().Slice())
			if err != nil {
				return err
			}
			if err := applyPolicy(c, p); err != nil {
				return err
			}
			fromLockOnly(c, p)
			var statuses []project.RemoteStatus
			err = withNetwork(c, p, func(ctx context.Context) (err error) {
				statuses, err = p.CheckRemote(ctx)
				return err
			})
			if err != nil {
				return err
			}
			now := time.Now()
			var reviews []review.Review
			var gone []string
			for _, s := range statuses {
				if s.Review != nil {
					reviews = append(reviews, *s.Review)
				}
				if s.Current == "" {
					gone = append(gone, s.Repo+":"+s.Tag)
				}
			}
			switch format {
			case formatJSON:
				return printJSON(c, remoteStatusesJSON(statuses))
			case formatMarkdown:
				review.WriteMarkdown(c.App.Writer, outdatedDocument(reviews, gone, len(statuses), now))
				return nil
			}
			digest := digestFormat(c)
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "IMAGE\tTAG\tLOCKED\tCURRENT")
			moved := 0
			for _, s := range statuses {
				current := digest(s.Current)
				switch {
				case s.Current == "":
					current = "(tag gone)"
				case !s.Moved():
					continue
				}
				moved++
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Repo, s.Tag, digest(s.Locked), current)
			}
			if moved == 0 {
				fmt.Fprintf(c.App.Writer, "%s: %d locked %s, none moved upstream\n", p.LockName, len(statuses), diag.Plural(len(statuses), "tag"))
				return nil
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			for _, r := range reviews {
				fmt.Fprintln(c.App.Writer)
				review.WriteText(c.App.Writer, r, now, digest)
			}
			return nil
		},
	}
}

// outdatedDocument is a Markdown report of the tags that moved upstream.
func outdatedDocument(reviews []review.Review, gone []string, locked int, now time.Time) review.Document {
	held := countHeld(reviews)
	summary := fmt.Sprintf("%d of %s moved upstream; `imglock upgrade` would move %d.", len(reviews), diag.Count(locked, "locked tag"), len(reviews)-held)
	if len(gone) > 0 {
		summary += " The registry no longer has: `" + strings.Join(gone, "`, `") + "`."
	}
	return review.Document{Title: "Base images moved upstream", Summary: summary, Reviews: reviews, Now: now,
		Footer: "<sub>Written by `imglock outdated`.</sub>"}
}

type remoteJSON struct {
	File       string      `json:"file"`
	Line       int         `json:"line"`
	Repository string      `json:"repository"`
	Tag        string      `json:"tag"`
	Locked     string      `json:"locked"`
	Current    string      `json:"current"` // "" when the registry no longer has the tag
	Moved      bool        `json:"moved"`
	Vanished   []string    `json:"vanished"`         // locked digests the registry no longer has
	Review     *reviewJSON `json:"review,omitempty"` // what changed, when the tag moved
}

func remoteStatusesJSON(statuses []project.RemoteStatus) []remoteJSON {
	out := []remoteJSON{}
	for _, s := range statuses {
		vanished := s.Vanished
		if vanished == nil {
			vanished = []string{}
		}
		var r *reviewJSON
		if s.Review != nil {
			rj := newReviewJSON(*s.Review)
			r = &rj
		}
		out = append(out, remoteJSON{s.Ref.File, s.Ref.Line, s.Repo, s.Tag, s.Locked, s.Current, s.Moved(), vanished, r})
	}
	return out
}
