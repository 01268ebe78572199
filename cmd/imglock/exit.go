package main

import (
	"errors"

	"github.com/imglock/imglock/internal/build"
	"github.com/imglock/imglock/internal/project"
	"github.com/imglock/imglock/internal/resolve"
)

// Exit codes, as documented in README.md.
const (
	exitOK       = 0 // success
	exitDiffers  = 1 // verification found a difference
	exitBadInput = 2 // bad usage or input: unparsable Dockerfile, lock or config
	exitNetwork  = 3 // registry or network failure
)

// silentError carries an exit code for a failure already reported.
type silentError struct{ code int }

func (silentError) Error() string { return "" }

func exitCode(err error) int {
	var silent silentError
	var verr *project.VerifyError
	var rerr *resolve.Error
	var missing *build.MissingError
	switch {
	case errors.As(err, &missing):
		return exitDiffers
	case errors.As(err, &silent):
		return silent.code
	case errors.As(err, &verr):
		return exitDiffers
	case errors.As(err, &rerr):
		return exitNetwork
	default:
		return exitBadInput
	}
}
