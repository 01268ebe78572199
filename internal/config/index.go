package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/imglock/imglock/internal/diag"
)

// The decoder does not keep positions, so the document is also walked with
// go-toml's parser to map each key path to where it is written.

type pos struct{ line, col int }

// seg is one step of a key path: a key, or an index into an array.
type seg struct {
	name  string
	index int // >= 0 for an array element
}

func key(name string) seg { return seg{name: name, index: -1} }

// formatPath writes a path as TOML would, with array indexes:
// registries."registry.internal:5000".concurrency, platforms[1].
func formatPath(path []seg) string {
	var b strings.Builder
	for i, s := range path {
		if s.index >= 0 {
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(formatKey(s.name))
	}
	return b.String()
}

// formatKey quotes a key unless it is a bare TOML key.
func formatKey(k string) string {
	if k == "" || strings.ContainsFunc(k, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return strconv.Quote(k)
	}
	return k
}

type entry struct {
	path   []seg
	parent *entry
	pos    pos // the last part of the key, or the array element
	expr   pos // the first part of the expression's key, where go-toml reports unknown keys
	kind   unstable.Kind
	bad    bool // this value or an enclosing one has the wrong type
}

type index struct {
	entries []*entry // in document order, parents first
	byPath  map[string]*entry
	byExpr  map[pos][]*entry
	byFold  map[string]*entry // by lower-cased path, built on first use
	lines   []int             // offset of the start of each line
}

// Nothing in the schema is nested this deep; the limits keep the walk cheap
// on hostile input.
const (
	maxKeyParts = 16
	maxDepth    = 32
)

// at returns where a node starts. The parser's Shape counts lines from the
// start of the document on every call, which is quadratic on large input.
func (ix *index) at(n *unstable.Node) pos {
	off := int(n.Raw.Offset)
	line, _ := slices.BinarySearch(ix.lines, off+1)
	return pos{line, off - ix.lines[line-1] + 1}
}

// add records the first definition of a path; later ones (redefinitions,
// which the decoder rejects) keep the first position.
func (ix *index) add(path []seg, p, expr pos, kind unstable.Kind) {
	if len(path) == 0 || len(path) > maxDepth {
		return
	}
	k := formatPath(path)
	if _, ok := ix.byPath[k]; ok {
		return
	}
	e := &entry{path: slices.Clone(path), pos: p, expr: expr, kind: kind}
	e.parent = ix.byPath[formatPath(path[:len(path)-1])]
	ix.byPath[k] = e
	ix.byExpr[expr] = append(ix.byExpr[expr], e)
	ix.entries = append(ix.entries, e)
}

func (ix *index) pos(path string) pos {
	if e, ok := ix.byPath[path]; ok {
		return e.pos
	}
	// The decoder matches keys case-insensitively, so a value may come from
	// a key written in another case (reported by miscased).
	if ix.byFold == nil {
		ix.byFold = make(map[string]*entry, len(ix.entries))
		for _, e := range ix.entries {
			k := strings.ToLower(formatPath(e.path))
			if _, ok := ix.byFold[k]; !ok {
				ix.byFold[k] = e
			}
		}
	}
	if e, ok := ix.byFold[strings.ToLower(path)]; ok {
		return e.pos
	}
	return pos{}
}

// buildIndex walks the document; the error is the parser's, if any.
func buildIndex(data []byte) (*index, error) {
	ix := &index{byPath: map[string]*entry{}, byExpr: map[pos][]*entry{}}
	var p unstable.Parser
	p.Reset(data)
	ix.lines = []int{0}
	for i, c := range data {
		if c == '\n' {
			ix.lines = append(ix.lines, i+1)
		}
	}
	arrays := map[string]int{} // array tables by path: elements so far
	var table []seg
	skip := false // the current table is too deep to index
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table, skip = ix.header(e, arrays)
		case unstable.KeyValue:
			if !skip {
				ix.keyValue(table, e)
			}
		}
	}
	return ix, p.Error()
}

// header resolves a [table] or [[array]] header to its path, in which an
// array table stands for its last element.
func (ix *index) header(e *unstable.Node, arrays map[string]int) ([]seg, bool) {
	var keys []*unstable.Node
	for it := e.Key(); it.Next(); {
		if keys = append(keys, it.Node()); len(keys) > maxKeyParts {
			return nil, true
		}
	}
	if len(keys) == 0 {
		return nil, true
	}
	expr := ix.at(keys[0])
	var path []seg
	for i, k := range keys {
		p := ix.at(k)
		path = append(path, key(string(k.Data)))
		f := formatPath(path)
		last := i == len(keys)-1
		switch n, isArray := arrays[f]; {
		case last && e.Kind == unstable.ArrayTable:
			arrays[f] = n + 1
			ix.add(path, p, expr, unstable.ArrayTable)
			path = append(path, seg{index: n})
			ix.add(path, p, expr, unstable.Table)
		case isArray && !last:
			path = append(path, seg{index: n - 1})
		default:
			ix.add(path, p, expr, unstable.Table)
		}
	}
	return path, false
}

func (ix *index) keyValue(prefix []seg, kv *unstable.Node) {
	path := slices.Clip(prefix)
	var expr, p pos
	it := kv.Key()
	for first := true; it.Next(); first = false {
		p = ix.at(it.Node())
		if first {
			expr = p
		}
		path = append(slices.Clip(path), key(string(it.Node().Data)))
		if len(path) > maxDepth {
			return
		}
		if !it.IsLast() {
			ix.add(path, p, expr, unstable.Table) // a dotted key's implicit table
		}
	}
	v := kv.Value()
	ix.add(path, p, expr, v.Kind)
	ix.value(path, v, p)
}

func (ix *index) value(path []seg, v *unstable.Node, p pos) {
	if len(path) >= maxDepth {
		return
	}
	switch v.Kind {
	case unstable.Array:
		i := 0
		for it := v.Children(); it.Next(); {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			cp := p // the parser gives nested arrays no range
			if c.Raw.Length > 0 {
				cp = ix.at(c)
			}
			elem := append(slices.Clip(path), seg{index: i})
			i++
			ix.add(elem, cp, cp, c.Kind)
			ix.value(elem, c, cp)
		}
	case unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				ix.keyValue(path, c)
			}
		}
	}
}

// The schema of imglock.toml, to report every value of the wrong type
// clearly (the decoder stops at the first, naming Go types).

type shape int

const (
	shapeString shape = iota
	shapeInt
	shapeBool
	shapeTable
	shapeArray  // of elem
	shapeTables // array of tables: [[x]] or x = [{...}]
)

type field struct {
	shape  shape
	desc   string            // what the value must be
	fields map[string]*field // known keys of a table
	any    *field            // the values of a table with free-form keys
	elem   *field
}

var (
	stringField  = &field{shape: shapeString, desc: "a string"}
	intField     = &field{shape: shapeInt, desc: "an integer"}
	boolField    = &field{shape: shapeBool, desc: "a boolean"}
	stringsField = &field{shape: shapeArray, desc: "an array of strings", elem: stringField}

	registryField = &field{shape: shapeTable, desc: "a table", fields: map[string]*field{
		"insecure":    boolField,
		"mirror":      stringField,
		"concurrency": intField,
		"ca":          stringField,
	}}
	variantField = &field{shape: shapeTable, desc: "a table", fields: map[string]*field{
		"build-args": {shape: shapeTable, desc: "a table", any: stringField},
	}}
	schema = &field{shape: shapeTable, desc: "a table", fields: map[string]*field{
		"include":     stringsField,
		"exclude":     stringsField,
		"platforms":   stringsField,
		"timeout":     {shape: shapeString, desc: `a duration string such as "90s"`},
		"concurrency": intField,
		"registries":  {shape: shapeTable, desc: "a table", any: registryField},
		"variant":     {shape: shapeTables, desc: "an array of tables", elem: variantField},
	}}
)

// lookup returns the schema of a path, or nil for an unknown key.
func lookup(path []seg) *field {
	f := schema
	for _, s := range path {
		switch {
		case f == nil:
			return nil
		case s.index >= 0:
			if f.shape != shapeArray && f.shape != shapeTables {
				return nil
			}
			f = f.elem
		case f.shape != shapeTable:
			return nil
		default:
			f = f.field(s.name)
		}
	}
	return f
}

// field returns the schema of a key in a table. Like the decoder, it
// falls back to a case-insensitive match; miscased reports those.
func (f *field) field(name string) *field {
	if g, ok := f.fields[name]; ok {
		return g
	}
	if k := f.foldedKey(name); k != "" {
		return f.fields[k]
	}
	return f.any
}

// foldedKey returns the known key that name matches only by ignoring case.
func (f *field) foldedKey(name string) string {
	if _, ok := f.fields[name]; ok {
		return ""
	}
	for k := range f.fields {
		if strings.EqualFold(k, name) {
			return k
		}
	}
	return ""
}

func (f *field) accepts(k unstable.Kind) bool {
	switch f.shape {
	case shapeString:
		return k == unstable.String
	case shapeInt:
		return k == unstable.Integer
	case shapeBool:
		return k == unstable.Bool
	case shapeTable:
		return k == unstable.Table || k == unstable.InlineTable
	case shapeArray:
		return k == unstable.Array
	case shapeTables:
		return k == unstable.ArrayTable || k == unstable.Array
	}
	return false
}

func describe(k unstable.Kind) string {
	switch k {
	case unstable.String:
		return "a string"
	case unstable.Integer:
		return "an integer"
	case unstable.Float:
		return "a float"
	case unstable.Bool:
		return "a boolean"
	case unstable.Array:
		return "an array"
	case unstable.Table, unstable.InlineTable:
		return "a table"
	case unstable.ArrayTable:
		return "an array of tables"
	case unstable.LocalDate:
		return "a date"
	case unstable.LocalTime:
		return "a time"
	}
	return "a date-time"
}

// checkTypes reports every known key whose value has the wrong type, but
// not what is inside such a value.
func checkTypes(ix *index, errs *errorList) {
	for _, e := range ix.entries {
		if e.parent != nil && e.parent.bad {
			e.bad = true
			continue
		}
		f := lookup(e.path)
		if f == nil || f.accepts(e.kind) {
			continue
		}
		e.bad = true
		errs.add(e.pos, "%s must be %s, not %s", formatPath(e.path), f.desc, describe(e.kind))
	}
}

// unknownKey reports a key the decoder found no field for, at the first
// part of it that is unknown, with a suggestion when one is close.
func unknownKey(ix *index, de *toml.DecodeError, errs *errorList) {
	line, col := de.Position()
	names := []string(de.Key())
	// go-toml gives the key without array indexes (or, inside an inline
	// table in an array, only the inner part), at the start of the key:
	// find the full path in the index.
	var path []seg
	for _, e := range ix.byExpr[pos{line, col}] {
		if hasSuffix(e.path, names) && len(e.path) > len(path) {
			path = e.path
		}
	}
	if path == nil {
		for _, n := range names {
			path = append(path, key(n))
		}
	}
	if len(path) == 0 {
		errs.add(pos{line, col}, "unknown key")
		return
	}
	// The first part with no schema is the unknown one.
	i := len(path) - 1
	for j := range path {
		if path[j].index < 0 && lookup(path[:j+1]) == nil {
			i = j
			break
		}
	}
	p := ix.pos(formatPath(path[:i+1]))
	if p == (pos{}) {
		p = pos{line, col}
	}
	name := path[i].name
	msg := fmt.Sprintf("unknown key %q", name)
	if i > 0 {
		msg += " in " + formatPath(path[:i])
	}
	if parent := lookup(path[:i]); parent != nil {
		if s := suggest(name, parent.fields); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
	}
	errs.add(p, "%s", msg)
}

// miscased reports the keys that the decoder accepted for a field whose
// name differs in case: TOML keys are case-sensitive, and the documented
// spelling is the only one imglock.toml accepts.
func miscased(ix *index, errs *errorList) {
	for _, e := range ix.entries {
		last := e.path[len(e.path)-1]
		if last.index >= 0 {
			continue
		}
		parent := lookup(e.path[:len(e.path)-1])
		if parent == nil || parent.shape != shapeTable {
			continue
		}
		if k := parent.foldedKey(last.name); k != "" {
			msg := fmt.Sprintf("unknown key %q", last.name)
			if len(e.path) > 1 {
				msg += " in " + formatPath(e.path[:len(e.path)-1])
			}
			errs.add(e.pos, "%s; did you mean %q?", msg, k)
		}
	}
}

// hasSuffix reports whether the key names of path end with names.
func hasSuffix(path []seg, names []string) bool {
	var keys []string
	for _, s := range path {
		if s.index < 0 {
			keys = append(keys, s.name)
		}
	}
	return len(names) > 0 && len(keys) >= len(names) && slices.Equal(keys[len(keys)-len(names):], names)
}

// suggest returns the known key closest to name, if it is close enough to
// be a typo.
func suggest(name string, known map[string]*field) string {
	best, bestDist := "", -1
	for _, k := range slices.Sorted(maps.Keys(known)) {
		d := distance(strings.ToLower(name), k)
		if d <= max(1, len(k)/3) && (bestDist < 0 || d < bestDist) {
			best, bestDist = k, d
		}
	}
	return best
}

// distance is the optimal string alignment distance: edits, counting a
// swap of adjacent letters as one.
func distance(a, b string) int {
	if len(a) > 64 {
		return len(a) // far from any key; keeps the cost bounded
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// errorList collects positioned errors.
type errorList struct {
	file string
	list []*Error
}

func (l *errorList) add(p pos, format string, args ...any) {
	// A key or value may be nearly as long as the file, and go-toml repeats
	// keys unescaped: cut what is repeated short, escape what is not printable.
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > maxEcho {
			n := maxEcho
			for n > 0 && !utf8.RuneStart(s[n]) {
				n--
			}
			args[i] = s[:n] + "..."
		}
	}
	msg := diag.Printable(fmt.Sprintf(format, args...), 4*maxEcho)
	l.list = append(l.list, &Error{File: l.file, Line: p.line, Col: p.col, Msg: msg})
}

// maxEcho bounds each value a message repeats.
const maxEcho = 256

// decodeError adds an error from go-toml, positioned when it has one.
func (l *errorList) decodeError(err error) {
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		l.add(pos{line, col}, "%s", strings.TrimPrefix(de.Error(), "toml: "))
		return
	}
	l.add(pos{}, "%s", strings.TrimPrefix(err.Error(), "toml: "))
}

// err returns the errors in the order of the file, joined.
func (l *errorList) err() error {
	if len(l.list) == 0 {
		return nil
	}
	slices.SortStableFunc(l.list, func(a, b *Error) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return a.Col - b.Col
	})
	errs := make([]error, len(l.list))
	for i, e := range l.list {
		errs[i] = e
	}
	return errors.Join(errs...)
}
