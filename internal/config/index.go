package config

import (
	"reflect"
	"slices"
	"strconv"

	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/imglock/imglock/internal/diag"
)

// The decoder keeps no positions, so the file is walked again with go-toml's
// parser, along the document's type, to find where each key and array
// element is written. The walk also reports keys that go-toml matched to a
// field only by ignoring case: TOML keys are case-sensitive.
type index struct {
	lines []int // offset of the start of each line
	pos   map[keyPath]pos
	p     *problems
}

// keyPath names a value in the index: ."dockerfile"[0]."path".
type keyPath string

func (k keyPath) key(name string) keyPath { return k + "." + keyPath(strconv.Quote(name)) }
func (k keyPath) elem(i int) keyPath      { return k + keyPath("["+strconv.Itoa(i)+"]") }

// at is where the value at path is first written; zero when it is not.
func (ix *index) at(path keyPath) pos { return ix.pos[path] }

func newIndex(data []byte, p *problems) *index {
	ix := &index{lines: []int{0}, pos: map[keyPath]pos{}, p: p}
	for i, c := range data {
		if c == '\n' {
			ix.lines = append(ix.lines, i+1)
		}
	}
	var parser unstable.Parser
	parser.Reset(data)
	arrays := map[keyPath]int{} // elements so far of each array of tables
	var table keyPath
	t := docType
	for parser.NextExpression() {
		e := parser.Expression()
		if e.Kind == unstable.KeyValue {
			ix.keyValue(table, t, e)
			continue
		}
		table, t = "", docType
		for it := e.Key(); t != nil && it.Next(); {
			// An array of tables stands for its last element.
			if table, t = ix.child(table, t, it.Node()); t != nil && t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.String {
				n := arrays[table]
				if it.IsLast() && e.Kind == unstable.ArrayTable {
					arrays[table]++
				} else {
					n = max(n-1, 0)
				}
				table, t = table.elem(n), t.Elem()
				ix.set(table, it.Node())
			}
		}
	}
	return ix
}

func (ix *index) keyValue(path keyPath, t reflect.Type, kv *unstable.Node) {
	for it := kv.Key(); t != nil && it.Next(); {
		path, t = ix.child(path, t, it.Node())
	}
	ix.value(path, t, kv.Value())
}

func (ix *index) value(path keyPath, t reflect.Type, v *unstable.Node) {
	switch {
	case t == nil:
	case v.Kind == unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			ix.keyValue(path, t, it.Node())
		}
	case v.Kind == unstable.Array && t.Kind() == reflect.Slice:
		for i, it := 0, v.Children(); it.Next(); i++ {
			if it.Node().Raw.Length == 0 { // arrays and inline tables have no position
				ix.pos[path.elem(i)] = ix.pos[path]
			}
			ix.set(path.elem(i), it.Node())
			ix.value(path.elem(i), t.Elem(), it.Node())
		}
	}
}

// child resolves key k of the value at path, of type t, and records where
// it is written; t is nil for a key go-toml reports as unknown.
func (ix *index) child(path keyPath, t reflect.Type, k *unstable.Node) (keyPath, reflect.Type) {
	if t.Kind() == reflect.Slice { // go-toml decodes a table for an array as its one element
		path, t = path.elem(0), t.Elem()
		ix.set(path, k)
	}
	name, t := field(t, string(k.Data))
	if t == nil {
		return "", nil
	}
	path = path.key(name)
	ix.set(path, k)
	if name != string(k.Data) {
		ix.p.add(ix.at(path), "unknown key %s; did you mean %q?", diag.Quote(string(k.Data)), name)
	}
	return path, t
}

func (ix *index) set(path keyPath, n *unstable.Node) {
	if _, ok := ix.pos[path]; !ok {
		off := int(n.Raw.Offset)
		line, _ := slices.BinarySearch(ix.lines, off+1)
		ix.pos[path] = pos{line, off - ix.lines[line-1] + 1}
	}
}
