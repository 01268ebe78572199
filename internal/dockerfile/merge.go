package dockerfile

import (
	"cmp"
	"fmt"
	"slices"
)

// Merge returns refs with the references of more, what other builds of the
// same File pull, added: a reference at the place and of the image of one
// in refs widens its platforms, targets and build args; the others are
// added. The result is in line order.
func Merge(refs, more []Reference) []Reference {
	key := func(r Reference) string {
		return fmt.Sprint(r.File, r.Line, r.Kind, r.pos) + "\x00" + r.Image.String()
	}
	at := map[string]int{}
	out := slices.Clone(refs)
	for i, r := range out {
		at[key(r)] = i
	}
	for _, r := range more {
		i, ok := at[key(r)]
		if !ok {
			at[key(r)] = len(out)
			out = append(out, r)
			continue
		}
		have := &out[i]
		have.Platforms = appendNew(slices.Clone(have.Platforms), r.Platforms...)
		have.Targets = appendNew(slices.Clone(have.Targets), r.Targets...)
		have.BuildArgs = appendNew(slices.Clone(have.BuildArgs), r.BuildArgs...)
		have.Default = have.Default || r.Default
		slices.Sort(have.Platforms)
		slices.Sort(have.BuildArgs)
	}
	slices.SortStableFunc(out, func(a, b Reference) int { return cmp.Compare(a.Line, b.Line) })
	return out
}
