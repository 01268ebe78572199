package main

import (
	"cmp"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/lock"
)

func lsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls",
		Usage:     "list every base-image reference and its lock state",
		ArgsUsage: "[DOCKERFILE...]",
		Description: `Lists each reference with its file and line, canonical name, tag and the
digest images.lock holds for it ("unlocked" when none). Offline. A
Dockerfile that does not read is reported on stderr (in --json as an entry
of state "error") and fails the command (exit 2) after everything else is
listed.

Example:
   $ imglock ls
   Dockerfile:3  from  docker.io/library/golang:1.26-bookworm  sha256:a688600ca24f...`,
		Flags: []cli.Flag{buildArgFlag(), &cli.BoolFlag{Name: flagJSON, Usage: "print the references as JSON"}},
		Action: func(c *cli.Context) error {
			p, err := openProject(c, c.Args().Slice())
			if err != nil {
				return err
			}
			var entries []lsEntry
			for _, r := range p.Refs {
				if p.Selected(r.File) {
					entries = append(entries, newLsEntry(r, p.Lock()))
				}
			}
			var problems diag.List
			for _, d := range p.Problems {
				if p.Selected(d.File) {
					problems = append(problems, d)
				}
			}
			failed := func() error {
				if f := problems.Failures(); len(f) > 0 {
					return cli.Exit("", diag.ExitCode(f))
				}
				return nil
			}
			if c.Bool(flagJSON) {
				for _, d := range problems {
					state := "error"
					if !d.Kind.Fails() {
						state = "warning"
					}
					entries = append(entries, lsEntry{File: d.File, Line: d.Line, Kind: state, State: state, Message: d.Msg})
				}
				slices.SortStableFunc(entries, func(a, b lsEntry) int { return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line)) })
				if err := printJSON(c, entries); err != nil {
					return err
				}
				return failed()
			}
			printWarnings(c, problems)
			tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			for _, e := range entries {
				state := e.Locked
				if state == "" {
					state = e.State
				}
				fmt.Fprintf(tw, "%s:%d\t%s\t%s\t%s\n", e.File, e.Line, e.Kind, e.Image, state)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			return failed()
		},
	}
}

type lsEntry struct {
	File       string `json:"file"`
	Line       int    `json:"line"`
	Kind       string `json:"kind"`
	Written    string `json:"written"`
	Image      string `json:"image"`
	Repository string `json:"repository"`
	Tag        string `json:"tag,omitempty"`
	Digest     string `json:"digest,omitempty"`  // written in the Dockerfile
	Locked     string `json:"locked,omitempty"`  // held by images.lock
	State      string `json:"state"`             // locked, unlocked, mismatch or pinned; error or warning for a problem
	Message    string `json:"message,omitempty"` // a problem's
}

func newLsEntry(r dockerfile.Reference, f *lock.File) lsEntry {
	e := lsEntry{
		File: r.File, Line: r.Line, Kind: string(r.Kind), Written: r.Written,
		Image: r.Image.String(), Repository: r.Image.Repo, Tag: r.Image.Tag, Digest: r.Image.Digest,
	}
	if r.Image.Tag == "" {
		e.State = "pinned" // digest only: nothing to lock
		return e
	}
	locked, ok := f.Lookup(r.Image.Repo, r.Image.Tag)
	switch {
	case !ok:
		e.State = "unlocked"
	case r.Image.Digest != "" && r.Image.Digest != locked:
		e.Locked, e.State = locked, "mismatch"
	default:
		e.Locked, e.State = locked, "locked"
	}
	return e
}
