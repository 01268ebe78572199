package dockerfile

import (
	"bytes"
	"strings"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/textedit"
)

// Replacement replaces the text of one reference.
type Replacement struct {
	Ref  Reference
	With string
}

// Rewrite returns data with each replacement's reference, as written, put
// in place of: on the instruction's own lines, where an image of its kind
// is written (a FROM's argument, COPY's --from=, a mount's from=), and
// nothing else, so that comments, continuations, heredocs, other mount
// options and line numbers stay as they were. A reference whose written
// text is not found there (it came from an ARG default, say) is an error at
// its line.
func Rewrite(file string, data []byte, reps []Replacement) ([]byte, error) {
	lines := textedit.Split(data)
	for _, rep := range reps {
		r := rep.Ref
		found := false
		for n := r.Line; n <= max(r.EndLine, r.Line) && n <= lines.Len() && !found; n++ {
			line, from := lines.Line(n), 0
			for {
				i := tokenIndex(line[from:], r.Written)
				if i < 0 {
					break
				}
				i += from
				if !lines.Taken(n, i) && anchored(r.Kind, line[:i]) {
					lines.Replace(n, i, i+len(r.Written), rep.With)
					found = true
					break
				}
				from = i + len(r.Written)
			}
		}
		if !found {
			return nil, diag.New(diag.Input, file, r.Line, "cannot find %q as the image of %s on the instruction's lines to rewrite it", r.Written, strings.TrimSpace(r.Kind.instruction()))
		}
	}
	return lines.Bytes(), nil
}

// tokenIndex finds token in line where it stands as a whole word of an
// instruction: after a space or '=' (FROM x, --from=x, from=x) and before a
// space, a comma, or the end of the line.
func tokenIndex(line []byte, token string) int {
	from := 0
	for {
		i := bytes.Index(line[from:], []byte(token))
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(token)
		before := i == 0 || line[i-1] == ' ' || line[i-1] == '\t' || line[i-1] == '='
		after := end == len(line) || bytes.IndexByte([]byte(" \t,\r\n"), line[end]) >= 0
		if before && after {
			return i
		}
		from = i + 1
	}
}

// anchored reports whether a reference of kind k may start right after
// before, the start of its line: as the argument of FROM, as the value of
// COPY's --from flag, or as the from= option of a RUN --mount (not the
// value of id=, source= or another option that happens to read the same).
func anchored(k Kind, before []byte) bool {
	lower := bytes.ToLower(before)
	switch k {
	case KindCopy:
		return bytes.HasSuffix(lower, []byte("--from="))
	case KindMount:
		rest, ok := bytes.CutSuffix(lower, []byte("from="))
		// from= starts an option: after --mount=, a comma or a quote.
		return ok && len(rest) > 0 && bytes.IndexByte([]byte(`=,"'`), rest[len(rest)-1]) >= 0
	}
	return len(before) == 0 || before[len(before)-1] == ' ' || before[len(before)-1] == '\t'
}
