package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/project"
)

func outdatedCommand() *cli.Command {
	return &cli.Command{
		Name:      "outdated",
		Usage:     "list locked tags that moved upstream: what upgrade would change",
		ArgsUsage: "[DOCKERFILE...]",
		Description: `Asks the registries (HEAD requests) what each locked tag points at now and
lists those that moved since they were locked, with the locked and the
current digest. Changes nothing.

Example:
   $ imglock outdated
   IMAGE                     TAG   LOCKED               CURRENT
   docker.io/library/python  3.12  sha256:1f0e4b3c5a7d  sha256:9ac2d1e0f8b6`,
		Flags: append(networkFlags(),
			buildArgFlag(),
			&cli.BoolFlag{Name: flagJSON, Usage: "print every locked tag's state as JSON"},
			&cli.BoolFlag{Name: flagLong, Usage: "print full digests"},
		),
		Action: func(c *cli.Context) error {
			p, err := openProject(c, c.Args().Slice())
			if err != nil {
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
			if c.Bool(flagJSON) {
				return printJSON(c, remoteStatusesJSON(statuses))
			}
			digest := shortDigest
			if c.Bool(flagLong) {
				digest = func(d string) string { return d }
			}
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
			return tw.Flush()
		},
	}
}

// shortDigest is a digest cut to 12 hex characters, as docker shows them.
func shortDigest(d string) string {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || len(hex) <= 12 {
		return d
	}
	return alg + ":" + hex[:12]
}

type remoteJSON struct {
	File       string   `json:"file"`
	Line       int      `json:"line"`
	Repository string   `json:"repository"`
	Tag        string   `json:"tag"`
	Locked     string   `json:"locked"`
	Current    string   `json:"current"` // "" when the registry no longer has the tag
	Moved      bool     `json:"moved"`
	Vanished   []string `json:"vanished"` // locked digests the registry no longer has
}

func remoteStatusesJSON(statuses []project.RemoteStatus) []remoteJSON {
	out := []remoteJSON{}
	for _, s := range statuses {
		vanished := s.Vanished
		if vanished == nil {
			vanished = []string{}
		}
		out = append(out, remoteJSON{s.Ref.File, s.Ref.Line, s.Repo, s.Tag, s.Locked, s.Current, s.Moved(), vanished})
	}
	return out
}
