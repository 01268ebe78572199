package dockerfile

import (
	"bytes"
	"sort"
	"strings"

	"github.com/imglock/imglock/internal/diag"
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
	lines := bytes.SplitAfter(data, []byte("\n"))
	type edit struct {
		line, start, end int
		with             string
	}
	var edits []edit
	taken := map[[2]int]bool{} // (line, start) already replaced
	for _, rep := range reps {
		r := rep.Ref
		found := false
		for n := r.Line; n <= max(r.EndLine, r.Line) && n <= len(lines) && !found; n++ {
			from := 0
			for {
				i := tokenIndex(lines[n-1][from:], r.Written)
				if i < 0 {
					break
				}
				i += from
				if !taken[[2]int{n, i}] && anchored(r.Kind, lines[n-1][:i]) {
					taken[[2]int{n, i}] = true
					edits = append(edits, edit{n, i, i + len(r.Written), rep.With})
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
	// Apply from the end so that earlier offsets stay valid.
	sort.Slice(edits, func(i, j int) bool {
		if edits[i].line != edits[j].line {
			return edits[i].line > edits[j].line
		}
		return edits[i].start > edits[j].start
	})
	for _, e := range edits {
		l := lines[e.line-1]
		lines[e.line-1] = append(append(append([]byte{}, l[:e.start]...), e.with...), l[e.end:]...)
	}
	return bytes.Join(lines, nil), nil
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
