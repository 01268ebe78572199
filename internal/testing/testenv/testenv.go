// Package testenv is test support: what a test may expect of the machine.
// CI (CI=true) installs every prerequisite (a registry binary, container
// engines), so there a missing one fails its tests; elsewhere it skips
// them.
package testenv

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// Required reports whether a missing prerequisite must fail a test rather
// than skip it.
func Required() bool { return os.Getenv("CI") == "true" }

// Missing ends a test whose prerequisite is missing, saying so in msg: it
// skips it, or fails it under CI=true.
func Missing(tb testing.TB, msg string) {
	tb.Helper()
	if Required() {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// Environ is this process's environment without the variables whose names
// start with one of prefixes, for a child process those would reconfigure.
func Environ(prefixes ...string) []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(kv, p) })
	})
}
