package compose

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// index finds where things are written in the YAML of a project's files,
// which it reads once each, and in their .env files.
type index struct {
	name func(abs string) string
	docs map[string]*yaml.Node // the top mapping of each file read; nil when unreadable
	envs map[string][]envLine  // the definitions of each .env file read
	subs map[*scope][]*scope   // the scopes each scope includes
}

func newIndex(name func(string) string) *index {
	return &index{name: name, docs: map[string]*yaml.Node{}, envs: map[string][]envLine{}, subs: map[*scope][]*scope{}}
}

// scope is a set of compose files merged together: the project's own, or
// those an include entry names, which interpolate with their own .env.
type scope struct {
	files    []string          // absolute, in merge order
	dir      string            // the project directory: includes are relative to it
	envFiles []string          // absolute
	environ  map[string]string // the process environment; the top scope's only
	parent   *scope
}

// doc is the top mapping of the YAML file at path, nil when it cannot be
// read or is not a mapping.
func (ix *index) doc(path string) *yaml.Node {
	if n, ok := ix.docs[path]; ok {
		return n
	}
	var top *yaml.Node
	if data, err := os.ReadFile(path); err == nil {
		var d yaml.Node
		if yaml.Unmarshal(data, &d) == nil && d.Kind == yaml.DocumentNode && len(d.Content) == 1 {
			if n := deref(d.Content[0]); n.Kind == yaml.MappingNode {
				top = n
			}
		}
	}
	ix.docs[path] = top
	return top
}

// deref follows an alias to what it names.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// get returns the key and value nodes of key in mapping m, looking through
// merge keys (<<: *anchor) as YAML does: keys written in m first, then
// those of the merged mappings in order.
func get(m *yaml.Node, key string) (k, v *yaml.Node) {
	return getDepth(m, key, 0)
}

func getDepth(m *yaml.Node, key string, depth int) (k, v *yaml.Node) {
	m = deref(m)
	if m == nil || m.Kind != yaml.MappingNode || depth > 8 {
		return nil, nil
	}
	var merges []*yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		switch m.Content[i].Value {
		case key:
			return m.Content[i], m.Content[i+1]
		case "<<":
			if m.Content[i].Tag == "!!merge" || m.Content[i].Style == 0 {
				merges = append(merges, m.Content[i+1])
			}
		}
	}
	for _, mv := range merges {
		mv = deref(mv)
		list := []*yaml.Node{mv}
		if mv.Kind == yaml.SequenceNode {
			list = mv.Content
		}
		for _, src := range list {
			if k, v := getDepth(src, key, depth+1); k != nil {
				return k, v
			}
		}
	}
	return nil, nil
}

// place is where a value is written.
type place struct {
	file  string     // absolute
	key   *yaml.Node // its key; nil for a sequence item
	value *yaml.Node // dereferenced
	scope *scope     // the files it belongs to, for its variables
}

func (p place) found() bool { return p.value != nil }

// line is the value's line, else its key's.
func (p place) line() int {
	switch {
	case p.value != nil && p.value.Line > 0:
		return p.value.Line
	case p.key != nil:
		return p.key.Line
	}
	return 0
}

// service finds where the value at keys under services.NAME is written
// for the merged project of s: in the last of its files that sets it, or
// in the service that one extends, or in what the files include.
func (ix *index) service(s *scope, name string, keys ...string) place {
	for i := len(s.files) - 1; i >= 0; i-- {
		if p, stop := ix.inFile(s, s.files[i], name, keys, 0); p.found() || stop {
			return p
		}
	}
	for _, sub := range ix.includes(s) {
		if p := ix.service(sub, name, keys...); p.found() {
			return p
		}
	}
	return place{}
}

// inFile finds keys under services.NAME in one file, or in the service it
// extends; stop says a !reset removed the value there.
func (ix *index) inFile(s *scope, file, name string, keys []string, depth int) (p place, stop bool) {
	_, svc := get(ix.doc(file), "services")
	_, svc = get(svc, name)
	if svc = deref(svc); svc == nil || depth > 16 {
		return place{}, false
	}
	node := svc
	var key *yaml.Node
	for _, k := range keys {
		key, node = get(node, k)
		if node == nil {
			break
		}
	}
	if node != nil {
		if node.Tag == "!reset" {
			return place{}, true
		}
		return place{file: file, key: key, value: deref(node), scope: s}, false
	}
	_, ext := get(svc, "extends")
	ext = deref(ext)
	if ext == nil {
		return place{}, false
	}
	base, baseFile := ext.Value, file
	if ext.Kind == yaml.MappingNode {
		_, sv := get(ext, "service")
		_, fv := get(ext, "file")
		base = scalar(sv)
		if f := scalar(fv); f != "" {
			baseFile = f
			if !filepath.IsAbs(f) {
				baseFile = filepath.Join(filepath.Dir(file), f)
			}
		}
	}
	if base == "" {
		return place{}, false
	}
	return ix.inFile(s, baseFile, base, keys, depth+1)
}

func scalar(n *yaml.Node) string {
	if n = deref(n); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// includes are the scopes the include entries of s's files name, in
// order, as compose-go resolves them: paths and env files relative to the
// project directory, the included project's directory that of its first
// file unless project_directory says otherwise, and its .env there.
func (ix *index) includes(s *scope) []*scope {
	if subs, ok := ix.subs[s]; ok {
		return subs
	}
	var subs []*scope
	ix.subs[s] = subs // an include cycle ends here
	for _, f := range s.files {
		_, inc := get(ix.doc(f), "include")
		inc = deref(inc)
		if inc == nil || inc.Kind != yaml.SequenceNode {
			continue
		}
		for _, e := range inc.Content {
			e = deref(e)
			var paths, envFiles []string
			dir := ""
			if e.Kind == yaml.ScalarNode {
				paths = []string{e.Value}
			} else {
				_, pv := get(e, "path")
				paths = stringList(pv)
				_, dv := get(e, "project_directory")
				dir = scalar(dv)
				_, ev := get(e, "env_file")
				envFiles = stringList(ev)
			}
			if len(paths) == 0 {
				continue
			}
			sub := &scope{dir: dir, parent: s}
			for _, p := range paths {
				if !filepath.IsAbs(p) {
					p = filepath.Join(s.dir, p)
				}
				sub.files = append(sub.files, p)
			}
			switch {
			case sub.dir == "":
				sub.dir = filepath.Dir(sub.files[0])
			case !filepath.IsAbs(sub.dir):
				sub.dir = filepath.Join(s.dir, sub.dir)
			}
			for _, ef := range envFiles {
				if !filepath.IsAbs(ef) {
					ef = filepath.Join(s.dir, ef)
				}
				sub.envFiles = append(sub.envFiles, ef)
			}
			if len(envFiles) == 0 {
				if fi, err := os.Stat(filepath.Join(sub.dir, ".env")); err == nil && !fi.IsDir() {
					sub.envFiles = []string{filepath.Join(sub.dir, ".env")}
				}
			}
			subs = append(subs, sub)
		}
	}
	ix.subs[s] = subs
	return subs
}

// stringList reads a string or a list of strings.
func stringList(n *yaml.Node) []string {
	n = deref(n)
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.ScalarNode:
		return []string{n.Value}
	case n.Kind == yaml.SequenceNode:
		var out []string
		for _, c := range n.Content {
			if v := scalar(c); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	return nil
}

// path finds a dotted path of the model (services.web.build.context), as
// the loader's messages name it, in the files of s and what they include:
// the last file that has as much of it as any other. It returns the
// deepest node found and whether the whole path was.
func (ix *index) path(s *scope, dotted string) (place, bool) {
	keys := strings.Split(dotted, ".")
	var best place
	depth := 0
	for _, sc := range append([]*scope{s}, ix.allIncludes(s)...) {
		for i := len(sc.files) - 1; i >= 0; i-- {
			node := ix.doc(sc.files[i])
			var key *yaml.Node
			n := 0
			for _, k := range keys {
				var v *yaml.Node
				if node = deref(node); node != nil && node.Kind == yaml.SequenceNode {
					if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(node.Content) {
						v = node.Content[i]
					}
				} else {
					key, v = get(node, k)
				}
				if v == nil {
					break
				}
				node = v
				n++
			}
			if n > depth {
				depth = n
				best = place{file: sc.files[i], key: key, value: deref(node), scope: sc}
			}
			if n == len(keys) {
				return best, true
			}
		}
	}
	return best, false
}

// allIncludes are the scopes s includes, recursively, in order.
func (ix *index) allIncludes(s *scope) []*scope {
	var out []*scope
	for _, sub := range ix.includes(s) {
		out = append(out, sub)
		out = append(out, ix.allIncludes(sub)...)
	}
	return out
}

// allFiles are the files of s and of what it includes.
func (ix *index) allFiles(s *scope) []string {
	var out []string
	for _, sc := range append([]*scope{s}, ix.allIncludes(s)...) {
		for _, f := range sc.files {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}
