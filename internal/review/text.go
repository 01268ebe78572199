package review

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/imglock/imglock/internal/diag"
)

// WriteText writes r as imglock prints a moved tag: REPO TAG: OLD -> NEW,
// then an indented line for each thing known about the move. digest
// formats digests (cut short, or not); now is what ages are counted from.
// Text from the registry is made printable.
func WriteText(w io.Writer, r Review, now time.Time, digest func(string) string) {
	fmt.Fprintf(w, "%s %s: %s -> %s\n", r.Repo, r.Tag, digest(r.Old.Digest), digest(r.New.Digest))
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "    %s: %s\n", label, fmt.Sprintf(format, args...))
	}
	if r.Old.Missing {
		line("locked digest", "no longer in the registry")
	}
	if r.New.Missing {
		line("new digest", "not in the registry")
	}
	if v := versionText(r); v != "" {
		line("version", "%s", v)
	}
	if age, ok := r.Age(now); ok {
		line("created", "%s (%s ago)", fmtTime(r.New.Created), fmtAge(age))
	} else if !r.New.Missing {
		line("created", "unknown")
	}
	if old, new := r.Old.Revision, r.New.Revision; old != "" || new != "" {
		line("revision", "%s", arrow(shortRevision(old), shortRevision(new)))
	}
	if r.Compare != "" {
		line("compare", "%s", r.Compare)
	}
	if b := baseText(r, digest); b != "" {
		line("base", "%s", b)
	}
	for _, p := range r.Platforms {
		if t := platformText(p); t != "" {
			line(printable(p.Platform), "%s", t)
		}
	}
	if r.Attestations {
		line("attestations", "changed")
	}
	if r.UnusedOnly && r.Hold != HoldUnusedPlatforms {
		line("note", "no platform the project uses changed")
	}
	if h := holdText(r, now); h != "" {
		line("held back", "%s", h)
	}
}

// printable is registry text fit for a terminal line.
func printable(s string) string { return diag.Printable(s, maxValue) }

// arrow is OLD -> NEW, or V (unchanged); unknown values are "?".
func arrow(old, new string) string {
	if old == new {
		return printable(new) + " (unchanged)"
	}
	return orUnknown(printable(old)) + " -> " + orUnknown(printable(new))
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func orUnset(s string) string {
	if s == "" {
		return "(unset)"
	}
	return s
}

// versionText is the version change: from the annotations or labels, else
// the *_VERSION variables that changed.
func versionText(r Review) string {
	if r.Old.Version != "" || r.New.Version != "" {
		return arrow(r.Old.Version, r.New.Version)
	}
	var parts []string
	for _, e := range r.Env {
		parts = append(parts, printable(e.Name)+" "+orUnset(printable(e.Old))+" -> "+orUnset(printable(e.New)))
	}
	return strings.Join(parts, ", ")
}

func baseText(r Review, digest func(string) string) string {
	o, n := r.Old, r.New
	if o.BaseName == "" && o.BaseDigest == "" && n.BaseName == "" && n.BaseDigest == "" {
		return ""
	}
	if o.BaseName == n.BaseName {
		return printable(n.BaseName) + " " + arrow(digest(o.BaseDigest), digest(n.BaseDigest))
	}
	return arrow(strings.TrimSpace(o.BaseName+" "+digest(o.BaseDigest)), strings.TrimSpace(n.BaseName+" "+digest(n.BaseDigest)))
}

// platformText describes one platform's change: every used platform, and
// the others that changed.
func platformText(p Platform) string {
	if !p.Used && p.Change == Unchanged {
		return ""
	}
	s := string(p.Change)
	if p.Change == Unknown {
		s = "not comparable"
	}
	if sz := sizeText(p); sz != "" {
		s += ", " + sz
	}
	if !p.Used {
		s += " (not used)"
	}
	return s
}

// sizeText is the compressed size change of a platform, as far as read.
func sizeText(p Platform) string {
	switch {
	case p.OldSize > 0 && p.OldSize == p.NewSize:
		return fmtSize(p.NewSize) + " (same size)"
	case p.OldSize > 0 && p.NewSize > 0:
		return fmtSize(p.OldSize) + " -> " + fmtSize(p.NewSize) + " (" + fmtDelta(p.NewSize-p.OldSize) + ")"
	case p.NewSize > 0:
		return fmtSize(p.NewSize)
	case p.OldSize > 0:
		return "was " + fmtSize(p.OldSize)
	}
	return ""
}

// holdText says why a move is held back and until when.
func holdText(r Review, now time.Time) string {
	switch r.Hold {
	case HoldTooYoung:
		age, _ := r.Age(now)
		return fmt.Sprintf("created %s ago, younger than the minimum age %s; eligible from %s", fmtAge(age), fmtDuration(r.Eligible.Sub(r.New.Created)), fmtTime(r.Eligible))
	case HoldUnknownAge:
		return "the new digest has no usable created time, so a minimum age cannot be checked (--allow-unknown-age takes it)"
	case HoldUnusedPlatforms:
		return "no platform the project uses changed (--ignore-unused-platforms)"
	}
	return ""
}

// shortRevision cuts a full commit hash to 12 characters, as digests are.
func shortRevision(rev string) string {
	if len(rev) == 40 || len(rev) == 64 {
		if strings.Trim(rev, "0123456789abcdef") == "" {
			return rev[:12]
		}
	}
	return rev
}

// fmtTime is a time as the outputs show it: to the minute, in UTC.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// fmtAge is a rounded-down age: minutes under two hours, hours under two
// days, then days.
func fmtAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "less than a minute"
	case d < 2*time.Hour:
		return diag.Count(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		return diag.Count(int(d/time.Hour), "hour")
	}
	return diag.Count(int(d/(24*time.Hour)), "day")
}

// fmtDuration is a duration as written in flags and imglock.toml, without
// its zero minutes and seconds: 72h, 1h30m.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// fmtSize is a byte count in decimal units to three significant digits,
// as docker shows image sizes: 999 B, 1.18 MB, 45.1 MB, 212 kB.
func fmtSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, exp := float64(n)/unit, 0
	for v >= unit-0.5 && exp < 3 {
		v /= unit
		exp++
	}
	prec := 0
	switch {
	case v < 9.995:
		prec = 2
	case v < 99.95:
		prec = 1
	}
	return fmt.Sprintf("%.*f %cB", prec, v, "kMGT"[exp])
}

// fmtDelta is a signed size difference.
func fmtDelta(n int64) string {
	switch {
	case n > 0:
		return "+" + fmtSize(n)
	case n < 0:
		return "-" + fmtSize(-n)
	}
	return "same size"
}
