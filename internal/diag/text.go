package diag

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxEcho bounds what a message repeats of its input: more than any
// realistic image reference (sha512 digest included), far less than a
// malformed 64 KiB line.
const MaxEcho = 256

// Printable returns s for a message: control characters, other
// non-printable runes and invalid UTF-8 escaped as in a Go string literal,
// and the result cut after max bytes with "..." added, so that text from a
// malformed file or a hostile server can neither drive a terminal nor flood
// a log.
func Printable(s string, max int) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == ' ' || unicode.IsPrint(r):
			b.WriteString(s[i : i+size])
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += size
		if b.Len() > max {
			return Cut(b.String(), max) + "..."
		}
	}
	return b.String()
}

// Quote quotes s as a Go string for a message, cut after MaxEcho bytes.
func Quote(s string) string {
	if len(s) <= MaxEcho {
		return strconv.Quote(s)
	}
	return strconv.Quote(Cut(s, MaxEcho)) + "..."
}

// Cut returns at most max bytes of s, ending on a rune boundary.
func Cut(s string, max int) string {
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max]
}

// Plural is word, with an s unless n is 1.
func Plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// Count is n and word, pluralised: "1 reference", "3 references".
func Count(n int, word string) string {
	return strconv.Itoa(n) + " " + Plural(n, word)
}

// Closest returns the candidate nearest to name when it is a likely typo of
// it: the same but for case, or at most maxEdits edits away (a swap of
// adjacent letters counts as one), with ties going to the first candidate.
// It returns "" when none is that close.
func Closest(name string, candidates []string, maxEdits int) string {
	best, bestDist := "", maxEdits+1
	lower := strings.ToLower(name)
	for _, c := range candidates {
		if c == name {
			continue
		}
		d := distance(lower, strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// distance is the optimal string alignment distance between a and b.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return max(len(a), len(b)) // far from anything: keeps the cost bounded
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// Nearest returns the candidates sorted by how close each is to name,
// closest first: those that contain it or that it contains (set,
// license-set), then by edits, ignoring case; ties keep their order.
func Nearest(name string, candidates []string) []string {
	out := slices.Clone(candidates)
	lower := strings.ToLower(name)
	rank := func(c string) (int, int) {
		c = strings.ToLower(c)
		apart := 1
		if strings.Contains(c, lower) || strings.Contains(lower, c) {
			apart = 0
		}
		return apart, distance(lower, c)
	}
	slices.SortStableFunc(out, func(a, b string) int {
		aa, ad := rank(a)
		ba, bd := rank(b)
		return cmp.Or(cmp.Compare(aa, ba), cmp.Compare(ad, bd))
	})
	return out
}
