package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/project"
	"github.com/imglock/imglock/internal/review"
)

const (
	flagRemote      = "remote"
	flagFailOnDrift = "fail-on-drift"
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check, offline, that images.lock matches the Dockerfiles",
		ArgsUsage: "[DOCKERFILE...]",
		Description: `Fails (exit 1) when a reference is missing from images.lock, an entry is
unused, a digest written in a Dockerfile disagrees with the lock, or the lock
is not in canonical form. Every problem is reported as FILE:LINE: message,
with the command that fixes it. Makes no network request: made for CI.
Under GitHub Actions (GITHUB_ACTIONS=true) each problem is also printed as
an ::error annotation (a warning as ::warning), except with --json.

With --remote it also asks the registries (HEAD requests) whether each
locked digest still exists (a vanished one fails: the build would not find
it) and whether each tag moved upstream since it was locked (a warning, or a
failure with --fail-on-drift), and says what changed in each tag that
moved, as upgrade does. A move that upgrade would hold back (min-age or
ignore-unused-platforms in imglock.toml) stays a warning.

Example:
   $ imglock verify
   Dockerfile:7: redis:7 is not in images.lock; run 'imglock lock' to add it
   $ imglock verify --remote
   Dockerfile:2: warning: python:3.12 moved upstream: locked sha256:1f0e..., now sha256:9ac2...; run 'imglock upgrade python:3.12' to move`,
		Flags: append(networkFlags(),
			buildArgFlag(),
			&cli.BoolFlag{Name: flagJSON, Usage: "print the result as JSON"},
			&cli.BoolFlag{Name: flagRemote, Usage: "also check the registries: vanished digests and moved tags"},
			&cli.BoolFlag{Name: flagFailOnDrift, Usage: "with --remote, fail when a tag moved upstream"},
		),
		Action: func(c *cli.Context) error {
			p, err := openProject(c, c.Args().Slice())
			if err != nil {
				return err
			}
			found := p.Verify()
			problems, warnings := found.Failures(), found.Others()
			var statuses []project.RemoteStatus
			if c.Bool(flagRemote) {
				err := withNetwork(c, p, func(ctx context.Context) (err error) {
					statuses, err = p.CheckRemote(ctx)
					return err
				})
				if err != nil {
					return err
				}
				// A move upgrade would hold back (imglock.toml's min-age,
				// ignore-unused-platforms) is drift, but not yet a failure.
				var ready, held []project.RemoteStatus
				for _, s := range statuses {
					if s.Review != nil && s.Review.Hold != review.NotHeld {
						held = append(held, s)
					} else {
						ready = append(ready, s)
					}
				}
				vanished, drift := project.RemoteFindings(ready)
				heldVanished, heldDrift := project.RemoteFindings(held)
				problems = append(append(problems, vanished...), heldVanished...)
				if c.Bool(flagFailOnDrift) {
					for _, d := range drift {
						d.Kind = diag.Mismatch
					}
					problems = append(problems, drift...)
				} else {
					warnings = append(warnings, drift...)
				}
				warnings = append(warnings, heldDrift...)
			}
			if c.Bool(flagJSON) {
				if err := printJSON(c, verifyJSON(problems, warnings, statuses)); err != nil {
					return err
				}
			} else {
				for _, w := range warnings {
					fmt.Fprintln(c.App.ErrWriter, w)
				}
				now := time.Now()
				for _, s := range statuses {
					if s.Review != nil {
						review.WriteText(c.App.ErrWriter, *s.Review, now, imageref.ShortDigest)
					}
				}
			}
			// Annotations would break the JSON document on stdout.
			if os.Getenv("GITHUB_ACTIONS") == "true" && !c.Bool(flagJSON) {
				annotate(c.App.Writer, "error", problems)
				annotate(c.App.Writer, "warning", warnings)
			}
			if len(problems) > 0 {
				if c.Bool(flagJSON) {
					return cli.Exit("", diag.ExitCode(problems))
				}
				return problems
			}
			if !c.Bool(flagJSON) {
				fmt.Fprintf(c.App.Writer, "%s: %s verified\n", p.LockName, diag.Count(p.Verified(), "reference"))
			}
			return nil
		},
	}
}

// annotate prints GitHub Actions workflow commands for problems.
func annotate(w io.Writer, level string, problems diag.List) {
	for _, p := range problems {
		fmt.Fprintf(w, "::%s file=%s,line=%d::%s\n", level, p.File, p.Line, escapeAnnotation(p.Msg))
	}
}

type problemJSON struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

type verifyResultJSON struct {
	OK       bool          `json:"ok"`
	Problems []problemJSON `json:"problems"`
	Warnings []problemJSON `json:"warnings"`
	Remote   []remoteJSON  `json:"remote,omitempty"` // with --remote: one entry per locked tag
}

func verifyJSON(problems, warnings diag.List, statuses []project.RemoteStatus) verifyResultJSON {
	return verifyResultJSON{
		OK:       len(problems) == 0,
		Problems: problemsJSON(problems),
		Warnings: problemsJSON(warnings),
		Remote:   remoteStatusesJSON(statuses),
	}
}

func problemsJSON(problems diag.List) []problemJSON {
	out := []problemJSON{}
	for _, p := range problems {
		out = append(out, problemJSON{p.File, p.Line, p.Msg})
	}
	return out
}

// escapeAnnotation escapes a workflow-command message as GitHub documents.
func escapeAnnotation(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}
