package build

import (
	"fmt"
	"maps"
	"slices"

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
// data are the Dockerfile, refs its references. A reference the lock does
// not have stops the build before it starts (a diag.Mismatch for each),
// since it would pull whatever the tag points at today.
func NewPlan(inv *Invocation, file string, data []byte, refs []dockerfile.Reference, f *lock.File, lockName string, mode Mode) (Plan, error) {
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
	for _, r := range refs {
		if r.Image.Digest != "" {
			continue // written with its digest: already exact
		}
		pinned := r.Image.WithDigest(digest(r)).String()
		plan.Pins++
		switch {
		case r.Kind == dockerfile.KindSyntax:
			buildArgs["BUILDKIT_SYNTAX"] = pinned
		case singleArg(r) != "":
			buildArgs[singleArg(r)] = pinned
		case mode == ModeContexts:
			contexts[r.Image.Familiar()] = "docker-image://" + pinned
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

	switch mode {
	case ModeContexts:
		plan.Argv = append([]string{"docker", "buildx", "build"}, inv.argsWith(extra, false)...)
	case ModeStdin:
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
// variable alone ($BASE or ${BASE}): the build arg then carries the pin.
func singleArg(r dockerfile.Reference) string {
	if len(r.Args) == 0 {
		return ""
	}
	w := r.Written
	for _, a := range r.Args {
		if w == "$"+a || w == "${"+a+"}" {
			return a
		}
	}
	return ""
}
