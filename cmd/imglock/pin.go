package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/project"
)

func pinCommand() *cli.Command {
	return &cli.Command{
		Name:      "pin",
		Usage:     "write TAG@DIGEST from images.lock into the Dockerfiles",
		ArgsUsage: "[DOCKERFILE...]",
		Description: `Rewrites each locked reference of FROM, COPY --from and RUN --mount from=
as TAG@DIGEST, in place and atomically, touching nothing else in the file.
For builds that cannot go through 'imglock build'. 'imglock unpin' undoes it.

Example:
   $ imglock pin
   Dockerfile: 2 references pinned`,
		Flags:  []cli.Flag{buildArgFlag()},
		Action: rewriteAction((*project.Project).Pin, "pinned"),
	}
}

func unpinCommand() *cli.Command {
	return &cli.Command{
		Name:      "unpin",
		Usage:     "strip digests from the Dockerfiles, recording them in images.lock first",
		ArgsUsage: "[DOCKERFILE...]",
		Description: `Rewrites each reference written as TAG@DIGEST to TAG, in place and
atomically, touching nothing else in the file. A digest images.lock does not
have yet is recorded there first, so the build keeps the same bytes: the way
to move from in-file pins to images.lock. A digest that disagrees with the
lock is left in its file and reported.

Example:
   $ imglock unpin
   Dockerfile: 2 references unpinned`,
		Flags:  []cli.Flag{buildArgFlag()},
		Action: rewriteAction((*project.Project).Unpin, "unpinned"),
	}
}

// rewriteAction runs pin or unpin on the files named (all when none is)
// and says what it did to each file, and what it left alone.
func rewriteAction(rewrite func(*project.Project) ([]project.PinResult, error), verb string) cli.ActionFunc {
	return func(c *cli.Context) error {
		p, err := openProject(c, c.Args().Slice())
		if err != nil {
			return err
		}
		printWarnings(c, p.Problems.Others())
		results, err := rewrite(p)
		printPinResults(c, results, verb)
		return err
	}
}

func printPinResults(c *cli.Context, results []project.PinResult, verb string) {
	for _, r := range results {
		if r.Changed > 0 {
			fmt.Fprintf(c.App.Writer, "%s: %s %s\n", r.File, diag.Count(r.Changed, "reference"), verb)
		}
		for _, n := range r.Skipped {
			fmt.Fprintln(c.App.ErrWriter, n)
		}
	}
}
