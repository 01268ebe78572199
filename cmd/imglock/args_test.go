package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestInterspersed(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for _, tc := range []struct{ in, want string }{
		{"imglock verify", "imglock verify"},
		{"imglock ls a/Dockerfile --json", "imglock ls --json a/Dockerfile"},
		{"imglock ls a/Dockerfile --build-arg X=Y b", "imglock ls --build-arg X=Y a/Dockerfile b"},
		{"imglock lock --timeout 5s a -q", "imglock lock --timeout 5s -q a"},
		{"imglock verify a -C repo", "imglock -C repo verify a"},
		{"imglock -C repo verify a --lockfile x.lock", "imglock -C repo --lockfile x.lock verify a"},
		{"imglock ls a -- --json", "imglock ls a -- --json"},
		{"imglock ls a --frob", "imglock ls --frob a"},
		{"imglock build . --print -t app", "imglock build . --print -t app"},
		{"imglock upgrade python --dry-run", "imglock upgrade --dry-run python"},
		{"imglock --help", "imglock --help"},
	} {
		got := strings.Join(interspersed(app, strings.Fields(tc.in)), " ")
		if got != tc.want {
			t.Errorf("interspersed(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := interspersed(app, []string{"imglock"}); !slices.Equal(got, []string{"imglock"}) {
		t.Errorf("no arguments: %q", got)
	}
}
