package review

import "time"

// Hold says why a move is held back; "" when it is not.
type Hold string

const (
	NotHeld Hold = ""
	// HoldTooYoung: the new digest was created less than the cooldown ago.
	HoldTooYoung Hold = "too-young"
	// HoldUnknownAge: under a cooldown, the new digest has no usable
	// created time.
	HoldUnknownAge Hold = "unknown-age"
	// HoldUnusedPlatforms: no platform the project uses changed.
	HoldUnusedPlatforms Hold = "unused-platforms"
)

// Policy says which moves are held back.
type Policy struct {
	MinAge                time.Duration // a new digest younger than this is not taken
	AllowUnknownAge       bool          // under MinAge, take a digest of unknown age
	IgnoreUnusedPlatforms bool          // do not take a move that changes no used platform
}

// Apply sets r.Hold (and r.Eligible) as the policy decides at now.
func (p Policy) Apply(r *Review, now time.Time) {
	r.Hold, r.Eligible = NotHeld, time.Time{}
	switch created := r.New.Created; {
	case p.IgnoreUnusedPlatforms && r.UnusedOnly:
		r.Hold = HoldUnusedPlatforms
	case p.MinAge <= 0:
	case created.IsZero():
		if !p.AllowUnknownAge {
			r.Hold = HoldUnknownAge
		}
	case now.Sub(created) < p.MinAge:
		r.Hold, r.Eligible = HoldTooYoung, created.Add(p.MinAge)
	}
}

// Age is how long before now the new digest was created; ok is false when
// its created time is unknown.
func (r Review) Age(now time.Time) (age time.Duration, ok bool) {
	if r.New.Created.IsZero() {
		return 0, false
	}
	return max(now.Sub(r.New.Created), 0), true
}
