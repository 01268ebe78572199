package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/project"
)

func lockCommand() *cli.Command {
	return &cli.Command{
		Name:      "lock",
		Usage:     "add new references to images.lock and drop unused ones",
		ArgsUsage: "[DOCKERFILE...]",
		Description: `Finds every Dockerfile in the tree (or the ones named), resolves the tags
that images.lock does not have yet, and drops entries no Dockerfile uses,
like 'go mod tidy'. A reference written with a digest (python:3.12@sha256:...)
seeds the lock with no request. When the lock is up to date, nothing is
written and no request is made.

Example:
   $ imglock lock
   + docker.io/library/python 3.12-slim sha256:1f0e...`,
		Flags: append(networkFlags(), buildArgFlag(), &cli.BoolFlag{Name: flagJSON, Usage: "print the changes as JSON"}),
		Action: func(c *cli.Context) error {
			p, err := openProject(c, c.Args().Slice())
			if err != nil {
				return err
			}
			var res project.TidyResult
			err = withNetwork(c, p, func(ctx context.Context) (err error) {
				res, err = p.Tidy(ctx)
				return err
			})
			if err != nil {
				return err
			}
			printWarnings(c, p.Problems.Others(), res.Warnings)
			if c.Bool(flagJSON) {
				return printJSON(c, changesJSON(res.Changes))
			}
			for _, ch := range res.Changes {
				fmt.Fprintln(c.App.Writer, formatChange(ch))
			}
			return nil
		},
	}
}

func formatChange(ch project.Change) string {
	switch {
	case ch.Old == "":
		return fmt.Sprintf("+ %s %s %s", ch.Repo, ch.Key, ch.New)
	case ch.New == "":
		return fmt.Sprintf("- %s %s %s", ch.Repo, ch.Key, ch.Old)
	default:
		return fmt.Sprintf("~ %s %s %s -> %s", ch.Repo, ch.Key, ch.Old, ch.New)
	}
}

type changeJSON struct {
	Repository string `json:"repository"`
	Key        string `json:"key"` // TAG or TAG/OS/ARCH[/VARIANT], as in images.lock
	Old        string `json:"old,omitempty"`
	New        string `json:"new,omitempty"`
}

func changesJSON(changes []project.Change) []changeJSON {
	out := make([]changeJSON, len(changes))
	for i, ch := range changes {
		out[i] = changeJSON{ch.Repo, ch.Key, ch.Old, ch.New}
	}
	return out
}

func printJSON(c *cli.Context, v any) error {
	enc := json.NewEncoder(c.App.Writer)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
