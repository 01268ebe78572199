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
	// ModeContexts passes a named build context per image to docker buildx
	// build (BuildKit >= 0.10); the Dockerfile is untouched.
	ModeContexts Mode = "contexts"
	// ModeStdin passes the Dockerfile with its references pinned to docker
	// build on standard input (-f -), for builders without named contexts.
	ModeStdin Mode = "stdin"
)

// Plan is the exact builder command: its argv (never run through a shell)
// and, in ModeStdin, the Dockerfile it reads on standard input.
type Plan struct {
	Mode  Mode
	Argv  []string
	Stdin []byte
	Pins  int // references pinned
}

// NewPlan builds the command that runs inv with every reference of its
// Dockerfile pinned from the lock f (named lockName in messages). file and
// data are the Dockerfile, refs what its build pulls, stages its stage
// names. A reference the lock does not have stops the build before it
// starts (a diag.Mismatch for each), since it would pull whatever the tag
// points at today.
//
// How each pin reaches the builder: the frontend through BUILDKIT_SYNTAX;
// a reference written as one global ARG ($BASE) through --build-arg, when
// it has one value for every platform the build is for; otherwise a named
// build context (ModeContexts) or the reference rewritten in the
// Dockerfile sent on standard input (ModeStdin). A named context is never
// keyed by a name that is also a stage: BuildKit would take it for the
// stage and replace the stage with the bare image; such a reference is
// rewritten instead, and the Dockerfile goes on standard input.
func NewPlan(inv *Invocation, file string, data []byte, refs []dockerfile.Reference, stages []string, f *lock.File, lockName string, mode Mode) (Plan, error) {
	var missing diag.List
	digest := func(r dockerfile.Reference) string {
		d, _ := f.Lookup(r.Image.Repo, r.Image.Tag)
		return d
	}
	for _, r := range refs {
		if r.Image.Digest == "" && digest(r) == "" {
			missing.Add(diag.Mismatch, r.File, r.Line, "%s is not in %s; run 'imglock lock' first", r.Expanded, lockName)
		}
	}
	if len(missing) > 0 {
		return Plan{}, missing
	}

	plan := Plan{Mode: mode}
	var extra []string // flags added after the user's own
	buildArgs := map[string]string{}
	contexts := map[string]string{}
	var rewrites []dockerfile.Replacement
	argValues := map[string]map[string]bool{} // the pins each single ARG would carry
	for _, r := range refs {
		if a := singleArg(r); a != "" && r.Image.Digest == "" {
			if argValues[a] == nil {
				argValues[a] = map[string]bool{}
			}
			argValues[a][r.Image.String()] = true
		}
	}
	for _, r := range refs {
		if r.Image.Digest != "" {
			continue // written with its digest: already exact
		}
		pinned := r.Image.WithDigest(digest(r)).String()
		key := r.Image.Familiar()
		plan.Pins++
		switch a := singleArg(r); {
		case r.Kind == dockerfile.KindSyntax:
			buildArgs["BUILDKIT_SYNTAX"] = pinned
		case a != "" && len(argValues[a]) == 1:
			buildArgs[a] = pinned
		case mode == ModeContexts && !isStage(key, stages):
			contexts[key] = "docker-image://" + pinned
		case r.Written != r.Expanded:
			return Plan{}, diag.New(diag.Input, r.File, r.Line, "%s (%s) cannot be pinned on this builder: it is not written out in the Dockerfile; build with a builder that takes named contexts (BuildKit 0.10 or later)", r.Written, r.Expanded)
		default:
			rewrites = append(rewrites, dockerfile.Replacement{Ref: r, With: pinned})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(buildArgs)) {
		extra = append(extra, "--build-arg", k+"="+buildArgs[k])
	}
	for _, k := range slices.Sorted(maps.Keys(contexts)) {
		extra = append(extra, "--build-context", k+"="+contexts[k])
	}

	switch {
	case mode == ModeContexts && len(rewrites) == 0:
		plan.Argv = append([]string{"docker", "buildx", "build"}, inv.argsWith(extra, false)...)
	case mode == ModeContexts:
		out, err := dockerfile.Rewrite(file, data, rewrites)
		if err != nil {
			return Plan{}, err
		}
		plan.Stdin = out
		plan.Argv = append([]string{"docker", "buildx", "build", "-f", "-"}, inv.argsWith(extra, true)...)
	case mode == ModeStdin:
		out, err := dockerfile.Rewrite(file, data, rewrites)
		if err != nil {
			return Plan{}, err
		}
		plan.Stdin = out
		plan.Argv = append([]string{"docker", "build", "-f", "-"}, inv.argsWith(extra, true)...)
	default:
		return Plan{}, fmt.Errorf("unknown pin mode %q", mode)
	}
	return plan, nil
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
