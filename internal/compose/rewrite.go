package compose

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/discover"
	"github.com/imglock/imglock/internal/textedit"
)

// Replacement replaces the text of one reference on its line of a compose
// file or .env file.
type Replacement struct {
	Line    int
	Written string // the text to replace, as written
	With    string
}

// Rewrite returns data, a compose file (YAML) or a .env file, with each
// replacement's text put in place of the value that reads so on its line:
// in YAML a scalar value (not a key, not a comment), in an additional
// context after docker-image://; in a .env file the value of the line's
// definition. Quotes and every other byte are kept. A text not found so is
// an error at its line.
func Rewrite(file string, data []byte, reps []Replacement) ([]byte, error) {
	lines := textedit.Split(data)
	var starts func(line int) []int // byte offsets in the line where values start
	if discover.IsYAML(file) {
		starts = yamlValues(data, lines.All())
	} else {
		starts = envValue(lines.All())
	}
	for _, r := range reps {
		if !replaceValue(lines, starts(r.Line), r) {
			return nil, diag.New(diag.Input, file, r.Line, "cannot find %q as a value on this line to rewrite it", r.Written)
		}
	}
	return lines.Bytes(), nil
}

// replaceValue plans r at the first of the value starts of its line where
// its text stands as the whole value, or after docker-image:// in one.
func replaceValue(lines *textedit.Lines, starts []int, r Replacement) bool {
	for _, at := range starts {
		l := lines.Line(r.Line)
		for _, off := range []int{at, at + len(ImagePrefix)} {
			end := off + len(r.Written)
			if end > len(l) || !bytes.Equal(l[off:end], []byte(r.Written)) || !valueEnd(l[end:]) || lines.Taken(r.Line, off) {
				continue
			}
			if off > at && !bytes.HasPrefix(l[at:], []byte(ImagePrefix)) {
				continue
			}
			lines.Replace(r.Line, off, end, r.With)
			return true
		}
	}
	return false
}

// yamlValues finds where the scalar values of a YAML document start, by
// line: past the opening quote of a quoted one. Keys are left out, and the
// value of KEY=VALUE in a list item (additional_contexts) starts after =.
func yamlValues(data []byte, lines [][]byte) func(int) []int {
	byLine := map[int][]int{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return func(int) []int { return nil }
	}
	add := func(n *yaml.Node) {
		if n.Kind != yaml.ScalarNode || n.Line < 1 || n.Line > len(lines) {
			return
		}
		off := byteOffset(lines[n.Line-1], n.Column-1)
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			off++
		}
		byLine[n.Line] = append(byLine[n.Line], off)
		if k, _, ok := strings.Cut(n.Value, "="); ok && n.Style == 0 {
			byLine[n.Line] = append(byLine[n.Line], off+len(k)+1)
		}
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				add(c)
				walk(c)
			}
		case yaml.MappingNode:
			for i := 1; i < len(n.Content); i += 2 {
				add(n.Content[i])
				walk(n.Content[i])
			}
		}
	}
	walk(&doc)
	return func(line int) []int { return byLine[line] }
}

// byteOffset is the byte offset of the rune at index col in line.
func byteOffset(line []byte, col int) int {
	off := 0
	for i := 0; i < col && off < len(line); i++ {
		_, size := utf8.DecodeRune(line[off:])
		off += size
	}
	return off
}

// envValue finds where the value of a .env definition starts on its line:
// past KEY= (or KEY:) and an opening quote.
func envValue(lines [][]byte) func(int) []int {
	return func(line int) []int {
		if line < 1 || line > len(lines) {
			return nil
		}
		l := lines[line-1]
		i := bytes.IndexAny(l, "=:")
		if i < 0 {
			return nil
		}
		i++
		for i < len(l) && (l[i] == ' ' || l[i] == '\t') {
			i++
		}
		if i < len(l) && (l[i] == '"' || l[i] == '\'') {
			i++
		}
		return []int{i}
	}
}

// valueEnd reports whether a value may end right before after: at the end
// of the line, a closing quote, a comment, or the end of a flow item.
func valueEnd(after []byte) bool {
	if len(after) == 0 {
		return true
	}
	switch after[0] {
	case ' ', '\t', '"', '\'', '\r', '\n', ',', '}', ']':
		return true
	}
	return false
}
