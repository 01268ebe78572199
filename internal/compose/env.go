package compose

import (
	"os"
	"regexp"
	"slices"
	"strings"
)

// envLine is one definition in a .env file.
type envLine struct {
	key   string
	line  int
	value string // as written, without its quotes
	// exact is set when value is the whole value, written on its line: not
	// split over lines, no escape to decode.
	exact bool
}

// envLines reads the definitions of a .env file, as compose-go's dotenv
// parser reads them: KEY=VALUE or KEY: VALUE, after an optional export,
// values unquoted (up to " #"), or single- or double-quoted, which may go
// on over several lines.
func (ix *index) envLines(path string) []envLine {
	if lines, ok := ix.envs[path]; ok {
		return lines
	}
	data, _ := os.ReadFile(path)
	var out []envLine
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		s := strings.TrimSpace(strings.TrimSuffix(lines[i], "\r"))
		if s == "" || s[0] == '#' {
			continue
		}
		if rest, ok := strings.CutPrefix(s, "export"); ok && rest != "" && (rest[0] == ' ' || rest[0] == '\t') {
			s = strings.TrimSpace(rest)
		}
		end := strings.IndexAny(s, "=:")
		if end <= 0 {
			continue // a key alone inherits from the environment
		}
		d := envLine{key: strings.TrimSpace(s[:end]), line: i + 1}
		v := strings.TrimLeft(s[end+1:], " \t")
		if v != "" && (v[0] == '"' || v[0] == '\'') {
			q := v[0]
			if j := closingQuote(v[1:], q); j >= 0 {
				d.value = v[1 : 1+j]
				d.exact = !strings.Contains(d.value, `\`)
			} else {
				// It goes on: skip to the line that closes it.
				for i++; i < len(lines) && closingQuote(lines[i], q) < 0; i++ {
				}
			}
		} else {
			v, _, _ = strings.Cut(v, " #")
			d.value, d.exact = strings.TrimRight(v, " \t"), true
		}
		out = append(out, d)
	}
	ix.envs[path] = out
	return out
}

// closingQuote is the index in s of the first q not escaped by a
// backslash, -1 if none.
func closingQuote(s string, q byte) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case q:
			return i
		}
	}
	return -1
}

// varSource is where a variable's value comes from.
type varSource struct {
	file    string // the .env file, absolute; "" for the environment or none
	line    envLine
	environ bool // set in the process environment
}

// source finds where the variable name gets its value for the files of s:
// the process environment wins, then the .env files of the outermost
// scope (an included project's own .env only fills in what the including
// project's environment lacks); within a scope, the last file and the last
// line that define it.
func (ix *index) source(s *scope, name string) varSource {
	var chain []*scope
	for sc := s; sc != nil; sc = sc.parent {
		chain = append([]*scope{sc}, chain...)
	}
	if _, ok := chain[0].environ[name]; ok {
		return varSource{environ: true}
	}
	for _, sc := range chain {
		for i := len(sc.envFiles) - 1; i >= 0; i-- {
			lines := ix.envLines(sc.envFiles[i])
			for j := len(lines) - 1; j >= 0; j-- {
				if lines[j].key == name {
					return varSource{file: sc.envFiles[i], line: lines[j]}
				}
			}
		}
	}
	return varSource{}
}

// wholeVar matches a value that is one variable alone: $NAME, ${NAME}, or
// ${NAME} with a default, alternative or required-value message.
var wholeVar = regexp.MustCompile(`^(?:\$([A-Za-z_][A-Za-z0-9_]*)|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(?::?[-?+]).*)?\})$`)

// singleVar is the variable a value is written as, alone; "" when it is
// written otherwise.
func singleVar(written string) string {
	m := wholeVar.FindStringSubmatch(written)
	if m == nil {
		return ""
	}
	if m[1] != "" {
		return m[1]
	}
	return m[2]
}

// varRef matches each variable a value uses; $$ is a literal $.
var varRef = regexp.MustCompile(`\$\$|\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// vars are the variables written in a value, in order, once each.
func vars(written string) []string {
	var out []string
	for _, m := range varRef.FindAllStringSubmatch(written, -1) {
		if m[1] != "" && !slices.Contains(out, m[1]) {
			out = append(out, m[1])
		}
	}
	return out
}
