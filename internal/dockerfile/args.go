package dockerfile

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/imglock/imglock/internal/diag"
)

// automaticArgs are the ARGs BuildKit defines itself (dockerfile2llb's
// defaultArgs). Their values depend on the machine and --platform/--target,
// so a reference built from them cannot be pinned unless they are given.
var automaticArgs = map[string]bool{
	"BUILDPLATFORM": true, "BUILDOS": true, "BUILDOSVERSION": true, "BUILDARCH": true, "BUILDVARIANT": true,
	"TARGETPLATFORM": true, "TARGETOS": true, "TARGETOSVERSION": true, "TARGETARCH": true, "TARGETVARIANT": true,
	"TARGETSTAGE": true,
}

// argInfo is one value of a global ARG.
type argInfo struct {
	name    string
	line    int // first ARG instruction declaring it; 0 for automatic ARGs
	value   string
	set     bool
	deps    []*argInfo // ARG values the default was expanded from, by name
	missing []missing  // variables the default used without a value
	closure *closure   // memoised by depends
}

// closure is what a value depends on, directly or through other defaults.
type closure struct {
	names   []string
	missing []missing
}

// missing is a variable a reference needs that has no value.
type missing struct {
	name      string
	via       string // the ARG whose default uses it; "" when used directly
	automatic bool
	declared  int // line of the ARG declaring it without a value; 0 if undeclared
}

// argEnv is the global ARG scope, as a shell.EnvGetter.
type argEnv map[string]*argInfo

func (e argEnv) Get(k string) (string, bool) {
	a, ok := e[k]
	if !ok || !a.set {
		return "", false
	}
	return a.value, true
}

func (e argEnv) Keys() []string {
	var keys []string
	for k, a := range e {
		if a.set {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// globalArgs evaluates the ARGs before the first FROM in order, as
// dockerfile2llb's buildMetaArgs does: a build arg replaces the default, a
// default may use earlier ARGs, and an ARG without a value leaves an
// earlier value in place.
func (p *parse) globalArgs(metaArgs []instructions.ArgCommand, buildArgs map[string]string) error {
	p.buildArgs = buildArgs
	p.args = argEnv{}
	for name := range automaticArgs {
		if v, ok := buildArgs[name]; ok {
			p.args[name] = &argInfo{name: name, value: v, set: true}
		}
	}
	for _, cmd := range metaArgs {
		line := firstLine(cmd.Location())
		for _, kp := range cmd.Args {
			prev := p.args[kp.Key]
			info := &argInfo{name: kp.Key, line: line}
			if prev != nil && prev.line != 0 {
				info.line = prev.line
			}
			if v, ok := buildArgs[kp.Key]; ok {
				info.value, info.set = v, true
			} else if kp.Value != nil {
				res, err := p.lex.ProcessWordWithMatches(*kp.Value, p.args)
				if err != nil {
					return p.errorf(line, "ARG %s=%s: %v", kp.Key, *kp.Value, err)
				}
				info.value, info.set = res.Result, true
				// A self-reference (ARG A=$A-x) points at the previous value.
				for _, k := range sortedKeys(res.Matched) {
					info.deps = append(info.deps, p.args[k])
				}
				for _, m := range p.unresolved(*kp.Value, res) {
					m.via = kp.Key
					info.missing = append(info.missing, m)
				}
			} else if prev != nil {
				continue
			}
			p.args[kp.Key] = info
		}
	}
	return nil
}

// depends returns the ARGs behind the matched variables, sorted, and the
// variables without a value that their defaults used.
func (p *parse) depends(matched map[string]struct{}) closure {
	var c closure
	for _, k := range sortedKeys(matched) {
		a := p.args[k]
		if a == nil {
			continue
		}
		if a.closure == nil {
			a.closure = walkDeps(a)
		}
		c.names = append(c.names, a.closure.names...)
		c.missing = append(c.missing, a.closure.missing...)
	}
	slices.Sort(c.names)
	c.names = slices.Compact(c.names)
	return c
}

// walkDeps visits each value a default was built from once, so long ARG
// chains cost linear time per FROM rather than quadratic time overall.
func walkDeps(top *argInfo) *closure {
	c := &closure{}
	seen := map[*argInfo]bool{top: true}
	stack := []*argInfo{top}
	for len(stack) > 0 {
		a := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c.names = append(c.names, a.name)
		c.missing = append(c.missing, a.missing...)
		for i := len(a.deps) - 1; i >= 0; i-- {
			if d := a.deps[i]; d != nil && !seen[d] {
				seen[d] = true
				stack = append(stack, d)
			}
		}
	}
	slices.Sort(c.names)
	c.names = slices.Compact(c.names)
	return c
}

// unresolved lists the variables word uses directly that have no value: an
// automatic ARG not given as a build arg, or any other variable used bare
// ($X, ${X}, ${X#...}) rather than with a fallback (${X:-...}, ${X+...}).
func (p *parse) unresolved(word string, res shell.ProcessWordResult) []missing {
	if len(res.Unmatched) == 0 {
		return nil
	}
	var out []missing
	// With SkipUnsetEnv the lexer writes unset variables back as they were
	// used, which tells a bare use from one with a fallback.
	kept, err := p.skipLex.ProcessWordWithMatches(word, p.args)
	for _, n := range sortedKeys(res.Unmatched) {
		switch {
		case automaticArgs[n]:
			out = append(out, missing{name: n, automatic: true})
		case err != nil || bareUse(kept.Result, n):
			m := missing{name: n}
			if a := p.args[n]; a != nil {
				m.declared = a.line
			}
			out = append(out, m)
		}
	}
	return out
}

func sortedKeys(m map[string]struct{}) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// bareUse reports whether s, a word expanded with unset variables kept,
// uses the variable name without a fallback.
func bareUse(s, name string) bool {
	if r, _ := utf8.DecodeRuneInString(name); !isNameRune(r) {
		// Special parameters ($@, $*, ...) never have a value.
		return strings.Contains(s, "$"+name)
	}
	for rest := s; ; {
		i := strings.Index(rest, "$"+name)
		if i < 0 {
			break
		}
		rest = rest[i+1+len(name):]
		if r, _ := utf8.DecodeRuneInString(rest); rest == "" || !isNameRune(r) {
			return true
		}
	}
	for rest := s; ; {
		i := strings.Index(rest, "${"+name)
		if i < 0 {
			return false
		}
		rest = rest[i+2+len(name):]
		if rest != "" && strings.IndexByte("}#%/", rest[0]) >= 0 {
			return true
		}
	}
}

// isNameRune matches the lexer's variable-name characters.
func isNameRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'
}

func (p *parse) unresolvedError(line int, what, written string, m missing) *diag.Diagnostic {
	via := ""
	if m.via != "" {
		via = " (used by ARG " + m.via + ")"
	}
	if m.automatic {
		return p.errorf(line, "%s: %s%s is set by BuildKit from the build platform or target, so the image cannot be pinned; pass --build-arg %s=VALUE",
			what, m.name, via, m.name)
	}
	if m.declared == 0 {
		hint := ""
		if _, ok := p.buildArgs[m.name]; ok {
			hint = " (a build arg sets only a declared ARG)"
		}
		before := "the first FROM"
		if m.via != "" {
			before = "ARG " + m.via
		}
		return p.errorf(line, "%s: ARG %s%s is not declared before %s%s", what, m.name, via, before, hint)
	}
	placeholder := "VALUE"
	if m.via == "" && (written == "$"+m.name || written == "${"+m.name+"}") {
		placeholder = "IMAGE"
	}
	return p.errorf(line, "%s: build arg %s%s has no value; give the ARG at line %d a default or pass --build-arg %s=%s",
		what, m.name, via, m.declared, m.name, placeholder)
}
