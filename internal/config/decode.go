package config

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/imglock/imglock/internal/diag"
)

// document is a file as decoded. Durations stay text, so that a bad one is
// reported with the other invalid values instead of stopping the decoder.
type document struct {
	Config
	Timeout duration        `toml:"timeout"`
	MinAge  duration        `toml:"min-age"`
	Variant []legacyVariant `toml:"variant"` // deprecated
}

type duration string

type legacyVariant struct {
	BuildArgs map[string]string `toml:"build-args"`
}

var docType = reflect.TypeFor[document]()

func parse(name string, data []byte, machine bool) (*Config, error) {
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")) // as Windows editors may save it
	p := &problems{file: name}
	if len(data) > MaxSize {
		// Load reads one byte past the limit: point at where the file crosses it.
		line := 1 + bytes.Count(data[:MaxSize], []byte("\n"))
		p.add(pos{line, MaxSize - bytes.LastIndexByte(data[:MaxSize], '\n')}, "file too large: at most %d bytes allowed", MaxSize)
		return nil, p.list
	}
	var doc document
	err := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields().Decode(&doc)
	var missing *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &missing): // the rest is decoded
		for i := range missing.Errors {
			p.unknownKey(&missing.Errors[i])
		}
	case errors.As(err, &de):
		p.decodeError(de)
		return nil, p.list
	case err != nil:
		p.add(pos{}, "%v", err)
		return nil, p.list
	}
	c := p.convert(&doc, newIndex(data, p), machine)
	if len(p.list) > 0 {
		p.list.Sort()
		return nil, p.list
	}
	return c, nil
}

// problems collects the diagnostics of one file.
type problems struct {
	file           string
	list, warnings diag.List
}

type pos struct{ line, col int }

func (p *problems) add(at pos, format string, args ...any) {
	p.list = append(p.list, p.diag(diag.Input, at, format, args...))
}

func (p *problems) diag(kind diag.Kind, at pos, format string, args ...any) *diag.Diagnostic {
	// Callers quote what they repeat; go-toml's messages repeat keys raw.
	msg := diag.Printable(fmt.Sprintf(format, args...), 4*diag.MaxEcho)
	return &diag.Diagnostic{File: p.file, Line: at.line, Col: at.col, Kind: kind, Msg: msg}
}

// unknownKey reports a key go-toml found no field for, by the part of it
// that is unknown, with the known key it is closest to.
func (p *problems) unknownKey(de *toml.DecodeError) {
	line, col := de.Position()
	key := []string(de.Key())
	t, i := resolve(key)
	if i < 0 {
		p.add(pos{line, col}, "unknown key %s", formatKey(key))
		return
	}
	msg, types := "unknown key "+diag.Quote(key[i]), []reflect.Type{t}
	if i > 0 {
		msg += " in " + formatKey(key[:i])
	} else {
		types = tables // in inline tables, go-toml's key lacks where they are
	}
	p.add(pos{line, col}, "%s%s", msg, suggest(key[i], types...))
}

var (
	// mismatch is go-toml's message for a value of the wrong type.
	mismatch = regexp.MustCompile(`^cannot decode TOML (.+) into (?:struct field (\S+)\.(\w+) of type )?(.+)$`)
	// tomlTypes names TOML's types as go-toml's messages call them.
	tomlTypes = map[string]string{"string": "a string", "integer": "an integer", "float": "a float",
		"boolean": "a boolean", "array": "an array", "table": "a table", "inline table": "a table",
		"datetime": "a date-time", "local datetime": "a date-time", "local date": "a date", "local time": "a time"}
	// tables are the types of the document's tables.
	tables = []reflect.Type{docType, reflect.TypeFor[PathSettings](), reflect.TypeFor[ComposeSettings](),
		reflect.TypeFor[Bake](), reflect.TypeFor[Registry](), reflect.TypeFor[legacyVariant]()}
)

// decodeError reports a syntax error, or a value of the wrong type in the
// file's terms rather than Go's.
func (p *problems) decodeError(de *toml.DecodeError) {
	line, col := de.Position()
	msg, key := strings.TrimPrefix(de.Error(), "toml: "), []string(de.Key())
	if m := mismatch.FindStringSubmatch(msg); m != nil {
		// In an array of inline tables go-toml's key stops at the array.
		if f, ok := structField(m[2], m[3]); ok && !slices.ContainsFunc(key, func(k string) bool {
			return strings.EqualFold(k, f.Tag.Get("toml"))
		}) {
			key = append(key, f.Tag.Get("toml"))
		}
		switch t, i := resolve(key); {
		case i >= 0 || len(key) == 0:
			msg = fmt.Sprintf("%s must not be %s", formatKey(key), tomlTypes[m[1]])
		case t.String() == m[4]:
			msg = fmt.Sprintf("%s must be %s, not %s", formatKey(key), describe(t), tomlTypes[m[1]])
		default: // an element of the value
			msg = fmt.Sprintf("%s must be %s; found %s", formatKey(key), describe(t), tomlTypes[m[1]])
		}
	} else if t, i := resolve(key); strings.HasPrefix(msg, "cannot store") && i < 0 && len(key) > 0 {
		msg = fmt.Sprintf("%s must be %s", formatKey(key), describe(t)) // [[x]] for x = "..."
	}
	p.add(pos{line, col}, "%s", msg)
}

func structField(table, name string) (reflect.StructField, bool) {
	for _, t := range tables {
		if t.String() == table {
			return t.FieldByName(name)
		}
	}
	return reflect.StructField{}, false
}

// field resolves a key in a value of type t, looking through arrays: a map's
// value, or a struct's field by its tag or, as go-toml matches, by a tag that
// differs only in case.
func field(t reflect.Type, name string) (string, reflect.Type) {
	for t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() == reflect.Map {
		return name, t.Elem()
	}
	tag, fold := "", reflect.Type(nil)
	for _, f := range fields(t) {
		switch f.Tag.Get("toml") {
		case name:
			return name, f.Type
		case strings.ToLower(name):
			tag, fold = f.Tag.Get("toml"), f.Type
		}
	}
	return tag, fold
}

// fields are the keys of a table of type t: none if t is no struct.
func fields(t reflect.Type) []reflect.StructField {
	if t.Kind() != reflect.Struct {
		return nil
	}
	return slices.DeleteFunc(reflect.VisibleFields(t), func(f reflect.StructField) bool { return f.Anonymous || f.Tag.Get("toml") == "-" })
}

// resolve follows key from the document's root to the type of its value,
// or to the index of its first unknown part and the type that lacks it.
func resolve(key []string) (reflect.Type, int) {
	t := docType
	for i, name := range key {
		_, ft := field(t, name)
		if ft == nil {
			return t, i
		}
		t = ft
	}
	return t, -1
}

// describe says what a value of type t is written as.
func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		if t.Name() == "duration" {
			return `a duration string such as "90s"`
		}
		return "a string"
	case reflect.Int:
		return "an integer"
	case reflect.Bool:
		return "a boolean"
	case reflect.Slice:
		return "an array of " + plural(t.Elem())
	case reflect.Map:
		return "a table of " + plural(t.Elem())
	}
	return "a table"
}

// plural turns "a table of strings" into "tables of strings".
func plural(t reflect.Type) string {
	_, s, _ := strings.Cut(describe(t), " ")
	word, rest, _ := strings.Cut(s, " ")
	return strings.TrimSpace(word + "s " + rest)
}

var bareKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// formatKey writes a key as TOML does: registries."docker.io".mirror.
func formatKey(key []string) string {
	parts := slices.Clone(key)
	for i, k := range parts {
		if !bareKey.MatchString(k) {
			parts[i] = diag.Quote(k)
		}
	}
	return strings.Join(parts, ".")
}

// suggest names the key of the types closest to name, if close enough for a
// typo.
func suggest(name string, types ...reflect.Type) string {
	var keys []string
	for _, t := range types {
		for t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		for _, f := range fields(t) {
			keys = append(keys, f.Tag.Get("toml"))
		}
	}
	if best := diag.Closest(name, keys, max(1, len(name)/3)); best != "" {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}
