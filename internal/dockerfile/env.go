package dockerfile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// env is the global ARG scope of one build, as dockerfile2llb builds it
// (defaultArgs, then buildMetaArgs): BuildKit's automatic platform ARGs,
// then the ARGs before the first FROM in order. It is a shell.EnvGetter.
type env map[string]*arg

// arg is one value in the scope.
type arg struct {
	name     string
	value    string
	line     int  // the ARG declaring it; 0 for an automatic one
	buildArg bool // the value is a build arg's
	noValue  bool // declared without a value and not given one (unset)
	deps     []*arg
	unset    []string // variables its default used that had no value
	closure  *closure // memoised by depends
}

// closure is what a value depends on, directly or through other defaults.
type closure struct {
	names     []string // ARGs, sorted
	buildArgs []string // those of them set by a build arg, sorted
	unset     []string // "TAG has no value where ARG IMAGE uses it", for messages
}

func (e env) Get(k string) (string, bool) {
	a, ok := e[k]
	if !ok || a.noValue {
		return "", false
	}
	return a.value, true
}

func (e env) Keys() []string {
	var keys []string
	for k, a := range e {
		if !a.noValue {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

// noEnv is the empty scope COPY --from is expanded in.
type noEnv struct{}

func (noEnv) Get(string) (string, bool) { return "", false }
func (noEnv) Keys() []string            { return nil }

// Build is one build of a Dockerfile: the platform it is for and the build
// args in effect.
type Build struct {
	// Platform is OS/ARCH[/VARIANT]; the build platform is taken to be the
	// same, so that what is locked never depends on the machine.
	Platform  string
	BuildArgs map[string]string
}

// DefaultPlatform is what a build is evaluated for when no platform is
// configured: a fixed one, so that the lock never depends on the machine.
const DefaultPlatform = "linux/amd64"

// IsAutomaticArg reports whether BuildKit sets the ARG name itself, from
// the build's platform or target.
func IsAutomaticArg(name string) bool {
	switch name {
	case "BUILDPLATFORM", "BUILDOS", "BUILDOSVERSION", "BUILDARCH", "BUILDVARIANT",
		"TARGETPLATFORM", "TARGETOS", "TARGETOSVERSION", "TARGETARCH", "TARGETVARIANT", "TARGETSTAGE":
		return true
	}
	return false
}

// newEnv is the scope of a build of f for target (TARGETSTAGE; "" for the
// default one, which BuildKit names "default" when the last stage has no
// name): the automatic ARGs from the platform, each replaced by a build
// arg of its name whether declared or not, then the global ARGs, where a
// build arg applies only to a declared ARG and an ARG without a value
// leaves an earlier value (an automatic one) in place.
func (f *File) newEnv(b Build, lex *shell.Lex, target string) (env, error) {
	p, err := platforms.Parse(b.Platform)
	if err != nil {
		return nil, err
	}
	p = platforms.Normalize(p)
	if target == "" {
		target = "default"
	}
	e := env{}
	for _, kv := range [...][2]string{
		{"BUILDPLATFORM", platforms.Format(p)},
		{"BUILDOS", p.OS},
		{"BUILDOSVERSION", p.OSVersion},
		{"BUILDARCH", p.Architecture},
		{"BUILDVARIANT", p.Variant},
		{"TARGETPLATFORM", platforms.FormatAll(p)},
		{"TARGETOS", p.OS},
		{"TARGETOSVERSION", p.OSVersion},
		{"TARGETARCH", p.Architecture},
		{"TARGETVARIANT", p.Variant},
		{"TARGETSTAGE", target},
	} {
		a := &arg{name: kv[0], value: kv[1]}
		if v, ok := b.BuildArgs[kv[0]]; ok {
			a.value, a.buildArg = v, true
		}
		e[kv[0]] = a
	}
	for _, cmd := range f.metaArgs {
		line := firstLine(cmd.Location())
		for _, kp := range cmd.Args {
			a := &arg{name: kp.Key, line: line}
			if prev := e[kp.Key]; prev != nil && prev.line != 0 {
				a.line = prev.line
			}
			switch v, ok := b.BuildArgs[kp.Key]; {
			case ok:
				a.value, a.buildArg = v, true
			case kp.Value != nil:
				res, err := expand(lex, *kp.Value, e, f.escape)
				if err != nil {
					return nil, errorf(f.Name, line, "ARG %s=%s: %v", kp.Key, *kp.Value, err)
				}
				a.value = res.Result
				// A self-reference (ARG A=$A-x) points at the previous value.
				for _, k := range slices.Sorted(maps.Keys(res.Matched)) {
					a.deps = append(a.deps, e[k])
				}
				for _, k := range slices.Sorted(maps.Keys(res.Unmatched)) {
					a.unset = append(a.unset, fmt.Sprintf("%s has no value where ARG %s (line %d) uses it", k, kp.Key, line))
				}
			case e[kp.Key] != nil:
				continue // an earlier value (automatic, or an earlier ARG) stays
			default:
				a.noValue = true
			}
			e[kp.Key] = a
		}
	}
	return e, nil
}

// depends returns the ARGs behind the matched variables, and which of them
// build args set, sorted.
func (e env) depends(matched map[string]struct{}) closure {
	var c closure
	for _, k := range slices.Sorted(maps.Keys(matched)) {
		a := e[k]
		if a == nil {
			continue
		}
		if a.closure == nil {
			a.closure = walkDeps(a)
		}
		c.names = append(c.names, a.closure.names...)
		c.buildArgs = append(c.buildArgs, a.closure.buildArgs...)
		c.unset = append(c.unset, a.closure.unset...)
	}
	slices.Sort(c.names)
	slices.Sort(c.buildArgs)
	c.names, c.buildArgs = slices.Compact(c.names), slices.Compact(c.buildArgs)
	return c
}

// walkDeps visits each value a default was built from once, so long ARG
// chains cost linear time per FROM rather than quadratic time overall.
func walkDeps(top *arg) *closure {
	c := &closure{}
	seen := map[*arg]bool{top: true}
	stack := []*arg{top}
	for len(stack) > 0 {
		a := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		c.names = append(c.names, a.name)
		c.unset = append(c.unset, a.unset...)
		if a.buildArg {
			c.buildArgs = append(c.buildArgs, a.name)
		}
		for _, d := range a.deps {
			if d != nil && !seen[d] {
				seen[d] = true
				stack = append(stack, d)
			}
		}
	}
	slices.Sort(c.names)
	slices.Sort(c.buildArgs)
	c.names, c.buildArgs = slices.Compact(c.names), slices.Compact(c.buildArgs)
	return c
}

// unsetHint says which variables an expansion used without a value,
// directly or through ARG defaults: the usual cause of a blank or invalid
// reference, and what to set.
func (e env) unsetHint(res shell.ProcessWordResult, buildArgs map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(res.Unmatched)) {
		switch a := e[k]; {
		case a != nil && a.noValue:
			parts = append(parts, fmt.Sprintf("ARG %s (line %d) has no value; give it a default, or set it with --build-arg %s=VALUE or build-args in imglock.toml", k, a.line, k))
		case buildArgs[k] != "":
			parts = append(parts, fmt.Sprintf("%s is not declared by an ARG before the first FROM, and a build arg sets only a declared ARG", k))
		default:
			parts = append(parts, fmt.Sprintf("%s is not declared by an ARG before the first FROM", k))
		}
	}
	parts = append(parts, e.depends(res.Matched).unset...)
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(slices.Compact(parts), "; ") + ")"
}

var _ shell.EnvGetter = env(nil)

// expand is the lexer's ProcessWordWithMatches, but for a word with no
// variable, quote or escape to process, which comes out as it went in:
// most image references, evaluated once per build.
func expand(lex *shell.Lex, word string, e shell.EnvGetter, escape rune) (shell.ProcessWordResult, error) {
	if !strings.ContainsAny(word, "$'\"") && !strings.ContainsRune(word, escape) {
		return shell.ProcessWordResult{Result: word}, nil
	}
	return lex.ProcessWordWithMatches(word, e)
}
