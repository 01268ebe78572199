// Package testenv is test support: what a test may expect of the machine.
// CI (CI=true) installs every prerequisite (a registry binary, container
// engines, the registry.imglock.test host name), so there a missing one
// fails its tests; elsewhere it skips them.
package testenv

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
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

// LoopbackName is a host name that resolves to a loopback address but is
// neither localhost nor an IP literal: Go sends requests for it through
// HTTP_PROXY, and imglock speaks plain HTTP to it only when told to, as
// for any registry off this machine. .ci/run adds it to /etc/hosts.
const LoopbackName = "registry.imglock.test"

// CheckLoopbackName says why LoopbackName cannot be used, if it cannot:
// it must resolve, and only to loopback addresses, so that tests using it
// talk to this machine alone.
func CheckLoopbackName() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, LoopbackName)
	if err != nil || len(ips) == 0 {
		return fmt.Errorf("%s does not resolve: add \"127.0.0.1 %s\" to /etc/hosts (.ci/run does)", LoopbackName, LoopbackName)
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return fmt.Errorf("%s resolves to %s, not a loopback address: tests must not reach other machines", LoopbackName, ip.IP)
		}
	}
	return nil
}
