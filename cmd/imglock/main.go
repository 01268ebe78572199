// Command imglock keeps the base images of a repository's Dockerfiles pinned
// in images.lock. See README.md.
//
// This package is the command-line interface, built on urfave/cli/v2: the
// flags, the output (text and JSON) and the exit codes, one file a command.
// What the commands do is in the packages under internal/ and in lock.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/diag"
)

func main() {
	// A run allocates much and keeps little (parsed Dockerfiles are dropped
	// once evaluated): collect less often than Go's default, unless GOGC says.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// run executes the CLI and returns the process exit code: the one an
// error carries (the builder's own, for build), else the one its kind of
// problem gives (diag.ExitCode). The error is printed once, here.
func run(args []string, stdout, stderr io.Writer) int {
	// The compose loader logs through logrus what imglock reports itself,
	// at a position, or has no use for (the obsolete `version` key).
	logrus.SetOutput(io.Discard)
	app := newApp(stdout, stderr)
	err := app.Run(interspersed(app, args))
	if err == nil {
		return diag.ExitOK
	}
	if msg := err.Error(); msg != "" {
		fmt.Fprintln(stderr, msg)
	}
	var exit cli.ExitCoder
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return diag.ExitCode(err)
}
