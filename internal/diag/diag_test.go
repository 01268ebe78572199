package diag

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

type registryErr struct{}

func (registryErr) Error() string  { return "registry down" }
func (registryErr) DiagKind() Kind { return Registry }

func TestExitCode(t *testing.T) {
	mismatch := New(Mismatch, "Dockerfile", 3, "x is not in images.lock")
	input := New(Input, "images.lock", 2, "bad digest")
	warning := New(Warning, "Dockerfile", 1, "moved upstream")
	for _, tc := range []struct {
		desc string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"mismatch", mismatch, ExitMismatch},
		{"list of mismatches", List{mismatch, mismatch}, ExitMismatch},
		{"input beats mismatch", List{mismatch, input}, ExitInput},
		{"registry beats input", errors.Join(List{input}, registryErr{}), ExitRegistry},
		{"wrapped registry error", fmt.Errorf("resolving: %w", registryErr{}), ExitRegistry},
		{"wrapped list", fmt.Errorf("checking: %w", List{mismatch}), ExitMismatch},
		{"plain error is bad input", errors.New("no such file"), ExitInput},
		{"deadline is bad input unless wrapped", context.DeadlineExceeded, ExitInput},
		{"warnings alone still fail as an error", List{warning}, ExitInput},
		{"warning and mismatch", List{warning, mismatch}, ExitMismatch},
	} {
		if got := ExitCode(tc.err); got != tc.want {
			t.Errorf("%s: ExitCode(%v) = %d, want %d", tc.desc, tc.err, got, tc.want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		d    *Diagnostic
		want string
	}{
		{&Diagnostic{File: "imglock.toml", Line: 3, Col: 7, Msg: "unknown key"}, "imglock.toml:3:7: unknown key"},
		{&Diagnostic{File: "Dockerfile", Line: 2, Msg: "m"}, "Dockerfile:2: m"},
		{&Diagnostic{File: "Dockerfile", Msg: "m"}, "Dockerfile: m"},
		{&Diagnostic{Msg: "m"}, "m"},
		{&Diagnostic{File: "F", Line: 1, Kind: Warning, Msg: "m"}, "F:1: warning: m"},
		{&Diagnostic{File: "F", Line: 1, Kind: Note, Msg: "m"}, "F:1: note: m"},
	} {
		if got := tc.d.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestListSortErrAndCollect(t *testing.T) {
	l := List{
		New(Mismatch, "b", 1, "b1"),
		New(Warning, "a", 9, "a9"),
		New(Mismatch, "a", 2, "a2 first"),
		New(Input, "a", 2, "a2 second"),
	}
	l.Sort()
	if got, want := l.Error(), "a:2: a2 first\na:2: a2 second\na:9: warning: a9\nb:1: b1"; got != want {
		t.Errorf("sorted:\n%s\nwant:\n%s", got, want)
	}
	if got := len(l.Failures()); got != 3 {
		t.Errorf("%d failures, want 3", got)
	}
	if got := len(l.Others()); got != 1 {
		t.Errorf("%d others, want 1", got)
	}
	if (List{New(Warning, "a", 1, "w")}).Err() != nil {
		t.Error("a list of warnings is an error")
	}
	other := errors.New("other")
	got, rest := Collect(errors.Join(fmt.Errorf("ctx: %w", other), l, New(Note, "c", 1, "n")))
	if len(got) != 5 || len(rest) != 1 {
		t.Errorf("Collect: %d diagnostics, %d others; want 5 and 1", len(got), len(rest))
	}
}

func TestPrintable(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"python:3.12", 100, "python:3.12"},
		{"caf\u00e9 \u2603", 100, "caf\u00e9 \u2603"},
		{"a\x00b\x1b[31m\r\n\t\x7f", 100, `a\x00b\x1b[31m\r\n\t\x7f`},
		{"\xff\xfe", 100, `\xff\xfe`},
		{"\u202eevil\u200b", 100, `\u202eevil\u200b`},
		{strings.Repeat("a", 10), 4, "aaaa..."},
		{strings.Repeat("\u00e9", 10), 5, "\u00e9\u00e9..."},
	} {
		if got := Printable(tc.in, tc.max); got != tc.want {
			t.Errorf("Printable(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestCount(t *testing.T) {
	if got := Count(1, "reference") + ", " + Count(2, "reference"); got != "1 reference, 2 references" {
		t.Errorf("Count: %q", got)
	}
}

func TestClosest(t *testing.T) {
	stages := []string{"build", "license-set", "runtime"}
	for _, tc := range []struct{ name, want string }{
		{"Build", "build"},
		{"builder", "build"},
		{"biuld", "build"},
		{"set", ""},
		{"runtime", ""},
		{"license-sets", "license-set"},
		{"python", ""},
	} {
		if got := Closest(tc.name, stages, 2); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestNearest(t *testing.T) {
	got := Nearest("set", []string{"build", "license-set", "sets", "runtime"})
	if want := []string{"sets", "license-set", "build", "runtime"}; !slices.Equal(got, want) {
		t.Errorf("Nearest = %q, want %q", got, want)
	}
}
