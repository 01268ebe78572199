package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/project"
	"github.com/imglock/imglock/lock"
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
an ::error annotation.

Example:
   $ imglock verify
   Dockerfile:7: redis:7 is not in images.lock; run 'imglock lock' to add it`,
		Flags: []cli.Flag{buildArgFlag(), &cli.BoolFlag{Name: flagJSON, Usage: "print the result as JSON"}},
		Action: func(c *cli.Context) error {
			w, refs, err := scanWorkspace(c)
			if err != nil {
				return err
			}
			name := w.lockPath
			f, data, err := lock.ReadFile(name)
			if err != nil {
				return err
			}
			problems := project.Verify(refs, w.cfg.Platforms, project.Lock{Name: name, File: f, Data: data})
			if c.Bool(flagJSON) {
				if err := printJSON(c, verifyJSON(problems)); err != nil {
					return err
				}
			}
			if os.Getenv("GITHUB_ACTIONS") == "true" {
				for _, p := range problems {
					fmt.Fprintf(c.App.Writer, "::error file=%s,line=%d::%s\n", p.File, p.Line, escapeAnnotation(p.Msg))
				}
			}
			if len(problems) > 0 {
				if c.Bool(flagJSON) {
					return silentError{exitDiffers}
				}
				return &project.VerifyError{Problems: problems}
			}
			if !c.Bool(flagJSON) {
				fmt.Fprintf(c.App.Writer, "%s: %d %s verified\n", name, len(refs), plural(len(refs), "reference"))
			}
			return nil
		},
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
}

func verifyJSON(problems []project.Problem) verifyResultJSON {
	out := verifyResultJSON{OK: len(problems) == 0, Problems: []problemJSON{}}
	for _, p := range problems {
		out.Problems = append(out.Problems, problemJSON{p.File, p.Line, p.Msg})
	}
	return out
}

// escapeAnnotation escapes a workflow-command message as GitHub documents.
func escapeAnnotation(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
