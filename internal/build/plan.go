package build

import (
	"fmt"
	"sort"
	"strings"

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

// MissingError lists references the lock does not have: the build must not
// start, since it would pull whatever the tags point at today.
type MissingError struct {
	Lock string
	Refs []dockerfile.Reference
}

func (e *MissingError) Error() string {
	var lines []string
	for _, r := range e.Refs {
		lines = append(lines, fmt.Sprintf("%s:%d: %s is not in %s; run 'imglock lock' first", r.File, r.Line, r.Expanded, e.Lock))
	}
	return strings.Join(lines, "\n")
}

// NewPlan builds the command that runs inv with every reference of its
// Dockerfile pinned from the lock f (named lockName in messages). file and
// data are the Dockerfile, refs its references.
func NewPlan(inv *Invocation, file string, data []byte, refs []dockerfile.Reference, f *lock.File, lockName string, mode Mode) (Plan, error) {
	var missing []dockerfile.Reference
	digest := func(r dockerfile.Reference) string {
		d, _ := f.Lookup(r.Image.Repo, r.Image.Tag)
		return d
	}
	for _, r := range refs {
		if r.Image.Digest == "" && digest(r) == "" {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return Plan{}, &MissingError{Lock: lockName, Refs: missing}
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
	for _, k := range sortedKeys(buildArgs) {
		extra = append(extra, "--build-arg", k+"="+buildArgs[k])
	}
	for _, k := range sortedKeys(contexts) {
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

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
