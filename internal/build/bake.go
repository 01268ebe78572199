package build

import (
	"fmt"

	"github.com/imglock/imglock/internal/diag"
)

// BakeTarget is one target of a docker buildx bake run and the pins of
// what it pulls.
type BakeTarget struct {
	Name   string
	Pins   []Pin
	Stages []string // its Dockerfile's stage names
}

// NewBakePlan builds the docker buildx bake command, with the user's
// arguments args as given, that pins what every target pulls: in
// ModePolicy with one source policy for them all, in ModeContexts with
// --set values for each target (BakeSet), after the user's own so that
// they win. A reference that --set values cannot pin is an error at its
// line; a builder with neither policies nor named contexts cannot pin a
// bake build at all.
func NewBakePlan(args []string, targets []BakeTarget, mode Mode) (Plan, error) {
	plan := Plan{Argv: append([]string{"docker", "buildx", "bake"}, args...)}
	var all []Pin
	for _, t := range targets {
		all = append(all, t.Pins...)
	}
	switch mode {
	case ModePolicy:
		plan.Policy = NewPolicy(all)
	case ModeContexts:
		var problems diag.List
		for _, t := range targets {
			set, unpinned := BakeSet(t.Name, t.Pins, t.Stages, diag.Input)
			for _, s := range set {
				plan.Argv = append(plan.Argv, "--set="+s)
			}
			for _, d := range unpinned {
				d.Msg = "bake target " + t.Name + ": " + d.Msg + "; a builder with source policies (BuildKit 0.12 or later) pins it"
			}
			problems = append(problems, unpinned...)
		}
		if len(problems) > 0 {
			return Plan{}, problems
		}
	case ModeStdin:
		return Plan{}, fmt.Errorf("imglock bake pins images with a source policy (BuildKit 0.12 or later) or named contexts (BuildKit 0.10 or later); this builder takes neither: build each target with imglock build")
	default:
		return Plan{}, fmt.Errorf("unknown pin mode %q", mode)
	}
	return plan, nil
}
