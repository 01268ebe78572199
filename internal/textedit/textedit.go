// Package textedit replaces spans of a file's lines in place, as pin and
// unpin rewrite references: every other byte, and so every line number,
// stays as it was.
package textedit

import (
	"bytes"
	"slices"
	"sort"
)

// Lines is a file's lines, each with its newline, and the replacements
// planned in them.
type Lines struct {
	lines [][]byte
	edits []edit
	taken map[[2]int]bool // (line, start) of each planned edit
}

type edit struct {
	line, start, end int
	with             string
}

// Split splits data into its lines.
func Split(data []byte) *Lines {
	return &Lines{lines: bytes.SplitAfter(data, []byte("\n")), taken: map[[2]int]bool{}}
}

// Len is the number of lines.
func (l *Lines) Len() int { return len(l.lines) }

// Line is line n (from 1), as it was read.
func (l *Lines) Line(n int) []byte { return l.lines[n-1] }

// All is every line, as read.
func (l *Lines) All() [][]byte { return l.lines }

// Taken reports whether a replacement starts at byte start of line n: the
// same text written twice on a line is two references.
func (l *Lines) Taken(n, start int) bool { return l.taken[[2]int{n, start}] }

// Replace plans replacing bytes [start, end) of line n with with.
func (l *Lines) Replace(n, start, end int, with string) {
	l.taken[[2]int{n, start}] = true
	l.edits = append(l.edits, edit{n, start, end, with})
}

// Bytes is the file with every planned replacement made.
func (l *Lines) Bytes() []byte {
	// From the end, so that earlier offsets stay valid.
	sort.Slice(l.edits, func(i, j int) bool {
		if l.edits[i].line != l.edits[j].line {
			return l.edits[i].line > l.edits[j].line
		}
		return l.edits[i].start > l.edits[j].start
	})
	out := slices.Clone(l.lines)
	for _, e := range l.edits {
		s := out[e.line-1]
		out[e.line-1] = append(append(append([]byte{}, s[:e.start]...), e.with...), s[e.end:]...)
	}
	return bytes.Join(out, nil)
}
