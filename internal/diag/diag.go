// Package diag is imglock's one kind of problem report: a message at a
// place in a file (FILE:LINE[:COL]) with the kind of problem it is, and a
// list of them. Every package that reads input reports through it, and the
// exit code of a run follows from the kinds of its problems alone.
package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Kind says what sort of problem a Diagnostic is; it decides the exit code.
type Kind int

const (
	// Input is bad input or usage: a file that does not parse, a reference
	// that is invalid or that the registry does not have. Exit 2.
	Input Kind = iota
	// Mismatch is a disagreement between the files and the lock, or a
	// reference the lock lacks. Exit 1.
	Mismatch
	// Registry is a registry or network failure. Exit 3.
	Registry
	// Warning is reported but fails nothing.
	Warning
	// Note is information about something left alone.
	Note
)

// Exit codes, as the README documents them.
const (
	ExitOK       = 0
	ExitMismatch = 1
	ExitInput    = 2
	ExitRegistry = 3
)

// exitCode is the exit code of a kind; 0 for those that fail nothing.
func (k Kind) exitCode() int {
	switch k {
	case Input:
		return ExitInput
	case Mismatch:
		return ExitMismatch
	case Registry:
		return ExitRegistry
	}
	return ExitOK
}

// Fails reports whether a problem of this kind fails the run.
func (k Kind) Fails() bool { return k.exitCode() != ExitOK }

// Diagnostic is one problem at a place in a file.
type Diagnostic struct {
	File string
	Line int // 1-based; 0 when the problem is about the whole file
	Col  int // 1-based; 0 when unknown
	Kind Kind
	Msg  string
}

// New returns a Diagnostic whose message is formatted from format and args.
func New(kind Kind, file string, line int, format string, args ...any) *Diagnostic {
	return &Diagnostic{File: file, Line: line, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Pos is FILE[:LINE[:COL]].
func (d *Diagnostic) Pos() string {
	switch {
	case d.File == "":
		return ""
	case d.Line <= 0:
		return d.File
	case d.Col <= 0:
		return d.File + ":" + strconv.Itoa(d.Line)
	}
	return d.File + ":" + strconv.Itoa(d.Line) + ":" + strconv.Itoa(d.Col)
}

func (d *Diagnostic) Error() string {
	msg := d.Msg
	switch d.Kind {
	case Warning:
		msg = "warning: " + msg
	case Note:
		msg = "note: " + msg
	}
	if p := d.Pos(); p != "" {
		return p + ": " + msg
	}
	return msg
}

// ExitKind lets errors from other packages say what kind of problem they
// are without being a Diagnostic.
type ExitKind interface {
	error
	DiagKind() Kind
}

// List is every problem found, in the order Sort gives.
type List []*Diagnostic

func (l List) Error() string {
	lines := make([]string, len(l))
	for i, d := range l {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As and errors.Is see each Diagnostic.
func (l List) Unwrap() []error {
	errs := make([]error, len(l))
	for i, d := range l {
		errs[i] = d
	}
	return errs
}

// Add appends a diagnostic formatted as New does.
func (l *List) Add(kind Kind, file string, line int, format string, args ...any) {
	*l = append(*l, New(kind, file, line, format, args...))
}

// Sort orders the list by file, line and column, keeping the order of
// problems at one place.
func (l List) Sort() {
	slices.SortStableFunc(l, func(a, b *Diagnostic) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}

// Dedupe returns the list with each message once, where it first stands:
// evaluations of one file for several builds meet the same problems.
func (l List) Dedupe() List {
	var out List
	seen := map[string]bool{}
	for _, d := range l {
		if k := d.Error(); !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}

// Failures returns the diagnostics that fail a run.
func (l List) Failures() List { return l.filter(true) }

// Others returns the warnings and notes.
func (l List) Others() List { return l.filter(false) }

func (l List) filter(failing bool) List {
	var out List
	for _, d := range l {
		if d.Kind.Fails() == failing {
			out = append(out, d)
		}
	}
	return out
}

// Err is the list as an error: nil when nothing in it fails the run.
func (l List) Err() error {
	if len(l.Failures()) == 0 {
		return nil
	}
	return l.Failures()
}

// Collect flattens err into the diagnostics it holds: those of every List
// and Diagnostic in its tree. An error that is neither is returned in rest.
func Collect(err error) (List, []error) {
	var l List
	var rest []error
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
		case *Diagnostic:
			l = append(l, e)
		case List:
			l = append(l, e...)
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		default:
			rest = append(rest, err)
		}
	}
	walk(err)
	return l, rest
}

// DiagKind makes a Diagnostic an ExitKind.
func (d *Diagnostic) DiagKind() Kind { return d.Kind }

// ExitCode is the exit code for err: 0 for nil, else that of the most
// severe kind in it (the codes are ordered: Registry over Input over
// Mismatch). An ExitKind error has its own kind; any other error counts as
// bad input, unless it wraps one that says otherwise.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	code := ExitOK
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case ExitKind:
			code = max(code, e.DiagKind().exitCode())
		case interface{ Unwrap() []error }:
			for _, inner := range e.Unwrap() {
				walk(inner)
			}
		case interface{ Unwrap() error }:
			if inner := e.Unwrap(); inner != nil {
				walk(inner)
			} else {
				code = max(code, ExitInput)
			}
		default:
			code = max(code, ExitInput)
		}
	}
	walk(err)
	if code == ExitOK {
		return ExitInput // an error made only of warnings is still an error
	}
	return code
}
