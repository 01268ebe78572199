package review

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/imageref"
)

// Document is a Markdown report of reviews: a pull request body.
type Document struct {
	Title   string // the heading
	Summary string // a sentence under it, Markdown
	Reviews []Review
	Now     time.Time // what ages are counted from
	Footer  string    // a last line, Markdown; none when ""
}

// WriteMarkdown writes d: for each move taken, a table of the old and new
// digest, version, created time, revision (linked), base image and
// platforms, with a compare link; then the moves held back and why.
// Digests are cut short; text from the registry goes in code spans, made
// printable and unable to break out of them or the table; links are made
// only to GitHub and GitLab, from validated parts. Nothing in it depends
// on anything but d, so the same reviews give the same bytes.
func WriteMarkdown(w io.Writer, d Document) {
	fmt.Fprintf(w, "## %s\n\n", d.Title)
	if d.Summary != "" {
		fmt.Fprintf(w, "%s\n\n", d.Summary)
	}
	var held []Review
	for _, r := range d.Reviews {
		if r.Hold != NotHeld {
			held = append(held, r)
			continue
		}
		writeMarkdownReview(w, r, d.Now)
	}
	if len(held) > 0 {
		fmt.Fprintf(w, "### Held back\n\n")
		for _, r := range held {
			fmt.Fprintf(w, "- %s %s -> %s: %s\n", code(r.Repo+":"+r.Tag), code(imageref.ShortDigest(r.Old.Digest)), code(imageref.ShortDigest(r.New.Digest)), markdownHold(r, d.Now))
		}
		fmt.Fprintln(w)
	}
	if d.Footer != "" {
		fmt.Fprintf(w, "%s\n", d.Footer)
	}
}

func writeMarkdownReview(w io.Writer, r Review, now time.Time) {
	fmt.Fprintf(w, "### %s\n\n", code(r.Repo+":"+r.Tag))
	fmt.Fprintf(w, "| | locked | new |\n|---|---|---|\n")
	row := func(label, old, new string) { fmt.Fprintf(w, "| %s | %s | %s |\n", label, old, new) }
	oldDigest := code(imageref.ShortDigest(r.Old.Digest))
	if r.Old.Missing {
		oldDigest += " (no longer in the registry)"
	}
	row("digest", oldDigest, code(imageref.ShortDigest(r.New.Digest)))
	if r.Old.Version != "" || r.New.Version != "" {
		row("version", code(r.Old.Version), code(r.New.Version))
	} else {
		for _, e := range r.Env {
			row(code(e.Name), code(e.Old), code(e.New))
		}
	}
	created := "unknown"
	if age, ok := r.Age(now); ok {
		created = fmtTime(r.New.Created) + ", " + fmtAge(age) + " ago"
	}
	oldCreated := "unknown"
	if !r.Old.Created.IsZero() {
		oldCreated = fmtTime(r.Old.Created)
	}
	row("created", oldCreated, created)
	if r.Old.Revision != "" || r.New.Revision != "" {
		row("revision", revisionLink(r.Old), revisionLink(r.New))
	}
	if r.Old.BaseName != "" || r.New.BaseName != "" || r.Old.BaseDigest != "" || r.New.BaseDigest != "" {
		row("base", baseCell(r.Old), baseCell(r.New))
	}
	for _, p := range r.Platforms {
		if !p.Used && p.Change == Unchanged {
			continue
		}
		label := p.Platform
		if !plainPlatform.MatchString(label) {
			label = code(label)
		}
		if !p.Used {
			label += " (not used)"
		}
		old, new := platformCell(p.Old, p.OldSize), platformCell(p.New, p.NewSize)
		switch p.Change {
		case Unchanged:
			new = "unchanged"
		case Unknown:
			old = "unknown"
		}
		if p.Change == Changed && p.OldSize > 0 && p.NewSize > 0 {
			new += " (" + fmtDelta(p.NewSize-p.OldSize) + ")"
		}
		row(label, old, new)
	}
	if r.Attestations {
		row("attestations", "—", "changed")
	}
	fmt.Fprintln(w)
	if r.Compare != "" {
		fmt.Fprintf(w, "[Compare %s](%s)\n\n", code(shortRevision(r.Old.Revision)+"..."+shortRevision(r.New.Revision)), r.Compare)
	}
	if r.UnusedOnly {
		fmt.Fprintf(w, "No platform the project uses changed.\n\n")
	}
}

// markdownHold says why a move is held back.
func markdownHold(r Review, now time.Time) string {
	switch r.Hold {
	case HoldTooYoung:
		age, _ := r.Age(now)
		return fmt.Sprintf("created %s ago (%s), younger than the minimum age of %s; eligible from %s.",
			fmtAge(age), fmtTime(r.New.Created), fmtDuration(r.Eligible.Sub(r.New.Created)), fmtTime(r.Eligible))
	case HoldUnknownAge:
		return "no usable created time, so the minimum age cannot be checked."
	case HoldUnusedPlatforms:
		return "no platform the project uses changed."
	}
	return ""
}

func revisionLink(img Image) string {
	if img.Revision == "" {
		return "—"
	}
	c := code(shortRevision(img.Revision))
	if u := RevisionURL(img.Source, img.Revision); u != "" {
		return "[" + c + "](" + u + ")"
	}
	return c
}

func baseCell(img Image) string {
	var parts []string
	if img.BaseName != "" {
		parts = append(parts, code(img.BaseName))
	}
	if img.BaseDigest != "" {
		parts = append(parts, code(imageref.ShortDigest(img.BaseDigest)))
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, " ")
}

func platformCell(digest string, size int64) string {
	if digest == "" {
		return "—"
	}
	s := code(imageref.ShortDigest(digest))
	if size > 0 {
		s += " " + fmtSize(size)
	}
	return s
}

// plainPlatform is a platform name that needs no escaping.
var plainPlatform = regexp.MustCompile(`^[A-Za-z0-9._/-]{1,64}$`)

// code is s in a code span, printable, cut, with nothing that ends the
// span or a table cell; "—" for "".
func code(s string) string {
	if s == "" {
		return "—"
	}
	s = diag.Printable(s, maxValue)
	s = strings.ReplaceAll(s, "`", "'")
	return "`" + escapeCell(s) + "`"
}

// escapeCell keeps a pipe from ending a table cell.
func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
