package diag

import (
	"fmt"
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
