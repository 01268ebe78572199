package build

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/lock"
)

// Mode is how pins reach the builder.
type Mode string

const (
	// ModePolicy passes a source policy (PolicyEnv) to docker buildx
	// build (BuildKit >= 0.12): every image the build pulls is converted
	// to its pinned digest, and any other image is denied. The arguments
	// and the Dockerfile are untouched.
	ModePolicy Mode = "policy"
	// ModeContexts passes a named build context per image to docker buildx
	// build (BuildKit >= 0.10); the Dockerfile is untouched.
	ModeContexts Mode = "contexts"
	// ModeStdin passes the Dockerfile with its references pinned to docker
	// build on standard input (-f -), for builders without named contexts.
	ModeStdin Mode = "stdin"
)

// Modes are the pin modes, strongest first.
var Modes = []Mode{ModePolicy, ModeContexts, ModeStdin}

// Plan is the exact builder command: its argv (never run through a shell)
// and, in ModeStdin, the Dockerfile it reads on standard input, or, in
// ModePolicy, the source policy Run writes to a temporary file.
type Plan struct {
	Argv   []string
	Stdin  []byte
	Policy *Policy
}

// Lookup pins each reference from the lock f (named lockName in
// messages). A reference the lock does not have is a diag.Mismatch at its
// line, each reported: a build would pull whatever its tag points at
// today.
func Lookup(refs []dockerfile.Reference, f *lock.File, lockName string) ([]Pin, error) {
	var missing diag.List
	pins := make([]Pin, 0, len(refs))
	for _, r := range refs {
		d := r.Image.Digest
		if d == "" {
			d, _ = f.Lookup(r.Image.Repo, r.Image.Tag)
		}
		if d == "" {
			missing.Add(diag.Mismatch, r.File, r.Line, "%s is not in %s; run 'imglock lock' first", r.Expanded, lockName)
			continue
		}
		pins = append(pins, Pin{Ref: r, Digest: d})
	}
	if len(missing) > 0 {
		return nil, missing
	}
	return pins, nil
}

// NewPlan builds the command that runs inv with pins, every reference of
// its Dockerfile pinned (Lookup). file and data are the Dockerfile, stages
// its stage names.
//
// In ModePolicy the command is the user's own, run with a source policy.
// Otherwise each pin reaches the builder as route says: build args, named
// build contexts (ModeContexts), or the Dockerfile rewritten and sent on
// standard input.
func NewPlan(inv *Invocation, file string, data []byte, pins []Pin, stages []string, mode Mode) (Plan, error) {
	var plan Plan
	if mode == ModePolicy {
		plan.Policy = NewPolicy(pins)
		plan.Argv = append([]string{"docker", "buildx", "build"}, inv.argsWith(nil, false)...)
		return plan, nil
	}
	if mode != ModeContexts && mode != ModeStdin {
		return Plan{}, fmt.Errorf("unknown pin mode %q", mode)
	}
	rt := route(pins, stages, mode == ModeContexts)
	if err := rt.rewritable(); err != nil {
		return Plan{}, err
	}
	var extra []string // flags added after the user's own
	for _, k := range slices.Sorted(maps.Keys(rt.buildArgs)) {
		extra = append(extra, "--build-arg", k+"="+rt.buildArgs[k])
	}
	for _, k := range slices.Sorted(maps.Keys(rt.contexts)) {
		extra = append(extra, "--build-context", k+"="+rt.contexts[k])
	}
	head := []string{"docker", "buildx", "build"}
	if mode == ModeStdin {
		head = []string{"docker", "build"}
	}
	if mode == ModeContexts && len(rt.rewrites) == 0 {
		plan.Argv = append(head, inv.argsWith(extra, false)...)
		return plan, nil
	}
	out, err := dockerfile.Rewrite(file, data, rt.rewrites)
	if err != nil {
		return Plan{}, err
	}
	plan.Stdin = out
	plan.Argv = append(append(head, "-f", "-"), inv.argsWith(extra, true)...)
	return plan, nil
}

// routes are how pins reach a builder that takes no source policy.
type routes struct {
	buildArgs map[string]string        // build arg -> pinned image
	contexts  map[string]string        // named context key -> docker-image://pinned image
	rewrites  []dockerfile.Replacement // references to pin in the Dockerfile itself
}

// route says how each pin reaches a builder without source policies: the
// frontend through BUILDKIT_SYNTAX; a reference written as one global ARG
// ($BASE) through a build arg, when it has one value for every platform
// the build is for; otherwise a named build context (when contexts is set)
// or the reference rewritten in the Dockerfile. A named context is never
// keyed by a name that is also a stage: BuildKit would take it for the
// stage and replace the stage with the bare image; such a reference is
// rewritten instead. A reference written with its digest needs nothing.
// rewritable refuses a reference the rewrite would have to pin but that
// the Dockerfile does not write out (an ARG makes it): the text to replace
// is not there.
func (rt routes) rewritable() error {
	for _, rep := range rt.rewrites {
		if r := rep.Ref; r.Written != r.Expanded {
			return diag.New(diag.Input, r.File, r.Line, "%s (%s) cannot be pinned on this builder: it is not written out in the Dockerfile; build with a builder that takes source policies (BuildKit 0.12 or later)", r.Written, r.Expanded)
		}
	}
	return nil
}

func route(pins []Pin, stages []string, contexts bool) routes {
	rt := routes{buildArgs: map[string]string{}, contexts: map[string]string{}}
	argOf := pinningArgs(pins)
	for _, p := range pins {
		r := p.Ref
		if r.Image.Digest != "" {
			continue // written with its digest: already exact
		}
		key := r.Image.Familiar()
		switch a := argOf(r); {
		case a != "":
			rt.buildArgs[a] = p.Pinned()
		case contexts && !isStage(key, stages):
			rt.contexts[key] = imageScheme + p.Pinned()
		default:
			rt.rewrites = append(rt.rewrites, dockerfile.Replacement{Ref: r, With: p.Pinned()})
		}
	}
	return rt
}

// pinningArgs returns, for a reference, the build arg that pins it: for
// the frontend BUILDKIT_SYNTAX, for a reference written as one global
// ARG that ARG, when every reference written as it names one image (it
// has one value for every platform the build is for); else "".
func pinningArgs(pins []Pin) func(dockerfile.Reference) string {
	values := map[string]map[string]bool{} // the images each single ARG would carry
	for _, p := range pins {
		if a := singleArg(p.Ref); a != "" && p.Ref.Image.Digest == "" {
			if values[a] == nil {
				values[a] = map[string]bool{}
			}
			values[a][p.Ref.Image.String()] = true
		}
	}
	return func(r dockerfile.Reference) string {
		if r.Kind == dockerfile.KindSyntax {
			return "BUILDKIT_SYNTAX"
		}
		if a := singleArg(r); a != "" && len(values[a]) == 1 {
			return a
		}
		return ""
	}
}

// singleArg is the global ARG a reference is written as, when it is one
// variable alone ($BASE or ${BASE}) and not one BuildKit sets from the
// platform or target: the build arg then carries the pin.
func singleArg(r dockerfile.Reference) string {
	w := r.Written
	for _, a := range r.Args {
		if (w == "$"+a || w == "${"+a+"}") && !dockerfile.IsAutomaticArg(a) {
			return a
		}
	}
	return ""
}

// isStage reports whether a named context key is also the name of a stage:
// BuildKit matches stage names in any case.
func isStage(key string, stages []string) bool {
	return slices.ContainsFunc(stages, func(s string) bool { return s != "" && strings.EqualFold(s, key) })
}
