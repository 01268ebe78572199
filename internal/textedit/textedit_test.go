package textedit

import "testing"

// TestReplace: replacements on one line and on others apply whatever the
// order they were planned in, and the lines as read stay as they were.
func TestReplace(t *testing.T) {
	l := Split([]byte("FROM a AS b\nRUN --mount=from=x --mount=from=x true\n"))
	l.Replace(2, 32, 33, "x@d2")
	l.Replace(1, 5, 6, "a@d1")
	if !l.Taken(2, 32) || l.Taken(2, 17) {
		t.Errorf("Taken: (2,32) %v, (2,17) %v; want true, false", l.Taken(2, 32), l.Taken(2, 17))
	}
	l.Replace(2, 17, 18, "x@d3")
	want := "FROM a@d1 AS b\nRUN --mount=from=x@d3 --mount=from=x@d2 true\n"
	if got := string(l.Bytes()); got != want {
		t.Errorf("Bytes:\n%q\nwant\n%q", got, want)
	}
	if got := string(l.Line(2)); got != "RUN --mount=from=x --mount=from=x true\n" {
		t.Errorf("Line(2) after Bytes: %q, want it as read", got)
	}
}
