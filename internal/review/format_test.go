package review

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/imageref"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestCompareURL(t *testing.T) {
	const a, b = "1a2b3c4", "5d6e7f8"
	for _, tc := range []struct{ source, want string }{
		{"https://github.com/docker-library/python", "https://github.com/docker-library/python/compare/1a2b3c4...5d6e7f8"},
		{"https://github.com/docker-library/python.git", "https://github.com/docker-library/python/compare/1a2b3c4...5d6e7f8"},
		{"git+https://github.com/o/r.git", "https://github.com/o/r/compare/1a2b3c4...5d6e7f8"},
		{"git@github.com:o/r.git", "https://github.com/o/r/compare/1a2b3c4...5d6e7f8"},
		{"https://github.com/o/r/tree/main/3.12/slim", "https://github.com/o/r/compare/1a2b3c4...5d6e7f8"},
		{"https://gitlab.com/group/sub/project", "https://gitlab.com/group/sub/project/-/compare/1a2b3c4...5d6e7f8"},
		{"https://gitlab.example.org/g/p/-/tree/main", "https://gitlab.example.org/g/p/-/compare/1a2b3c4...5d6e7f8"},
		{"https://github.com/o", ""},
		{"https://bitbucket.org/o/r", ""},
		{"https://github.com/o/r\"><script>", ""},
		{"https://user:pw@github.com/o/r", ""},
		{"javascript:alert(1)", ""},
		{"", ""},
	} {
		if got := CompareURL(tc.source, a, b); got != tc.want {
			t.Errorf("CompareURL(%q) = %q, want %q", tc.source, got, tc.want)
		}
	}
	for _, tc := range []struct{ old, new string }{{"", b}, {a, a}, {a, "x y"}, {a, "../../x"}} {
		if got := CompareURL("https://github.com/o/r", tc.old, tc.new); got != "" {
			t.Errorf("CompareURL(%q, %q) = %q, want none", tc.old, tc.new, got)
		}
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{fmtSize(999), "999 B"},
		{fmtSize(1000), "1.00 kB"},
		{fmtSize(1_180_000), "1.18 MB"},
		{fmtSize(45_123_456), "45.1 MB"},
		{fmtSize(999_999), "1.00 MB"},
		{fmtSize(212_300), "212 kB"},
		{fmtSize(2_500_000_000), "2.50 GB"},
		{fmtDelta(212_000), "+212 kB"},
		{fmtDelta(-1_500), "-1.50 kB"},
		{fmtDelta(0), "same size"},
		{fmtAge(30 * time.Second), "less than a minute"},
		{fmtAge(61 * time.Minute), "61 minutes"},
		{fmtAge(47 * time.Hour), "47 hours"},
		{fmtAge(49 * time.Hour), "2 days"},
		{fmtDuration(72 * time.Hour), "72h"},
		{fmtDuration(90 * time.Minute), "1h30m"},
		{fmtDuration(90 * time.Second), "1m30s"},
		{shortRevision("1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"), "1a2b3c4d5e6f"},
		{shortRevision("v1.2.3"), "v1.2.3"},
		{code("a|b`c\x1b[31m"), "`a\\|b'c\\x1b[31m`"},
		{code(""), "—"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// reviews are three moves as a pull request would show them: an official
// image with everything annotated, an image described by its env alone,
// and one whose only change is a platform the project does not build; and
// two held back.
func sampleReviews(now time.Time) []Review {
	python := Review{Repo: "docker.io/library/python", Tag: "3.12-slim",
		Old: Image{Digest: "sha256:45292e91754c1b9239adb15acc47a8286f619bb1b592a81ddbf286747a26d4f8", Index: true, Version: "3.12.7", VersionFrom: "annotation",
			Created: now.Add(-40 * 24 * time.Hour), Revision: "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", Source: "https://github.com/docker-library/python.git",
			BaseName: "debian:bookworm-slim", BaseDigest: "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
		New: Image{Digest: "sha256:6ad76b9688a783afd11ff0bb75649a499eab27d2918ccfcd7edd8324b81159f1", Index: true, Version: "3.12.8", VersionFrom: "annotation",
			Created: now.Add(-3*24*time.Hour - time.Hour), Revision: "5d6e7f8a9b0c1d2e3f405162738495a6b7c8d9e0", Source: "https://github.com/docker-library/python.git",
			BaseName: "debian:bookworm-slim", BaseDigest: "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
		Used: []string{"linux/amd64", "linux/arm64"},
		Platforms: []Platform{
			{Platform: "linux/amd64", Change: Changed, Used: true, Old: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", New: "sha256:1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", OldSize: 45_123_456, NewSize: 45_335_456},
			{Platform: "linux/arm64/v8", Change: Changed, Used: true, Old: "sha256:2123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", New: "sha256:3123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", OldSize: 44_020_000, NewSize: 43_990_000},
			{Platform: "linux/s390x", Change: Added, New: "sha256:4123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
			{Platform: "linux/386", Change: Unchanged, Old: "sha256:5123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", New: "sha256:5123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
		},
		Attestations: true,
	}
	python.Compare = CompareURL(python.New.Source, python.Old.Revision, python.New.Revision)
	node := Review{Repo: "ghcr.io/acme/node", Tag: "20",
		Old:  Image{Digest: "sha256:9e0660b3ec65f0c8696fc4526a27ffe59e295c66a262e21d3a9454d16eb21e23", Created: now.Add(-60 * 24 * time.Hour)},
		New:  Image{Digest: "sha256:08ef6e9ac03f275c925d445bf43a4a7fd362bffad0989b1f69ebfe68a0d61e67", Created: now.Add(-10 * 24 * time.Hour)},
		Used: []string{"linux/amd64"},
		Env:  []EnvChange{{Name: "NODE_VERSION", Old: "20.11.0", New: "20.11.1"}, {Name: "YARN_VERSION", Old: "1.22.19"}},
		Platforms: []Platform{{Platform: "linux/amd64", Change: Changed, Used: true, Old: "sha256:9e0660b3ec65f0c8696fc4526a27ffe59e295c66a262e21d3a9454d16eb21e23",
			New: "sha256:08ef6e9ac03f275c925d445bf43a4a7fd362bffad0989b1f69ebfe68a0d61e67", OldSize: 61_000_000, NewSize: 61_250_000}},
	}
	redis := Review{Repo: "docker.io/library/redis", Tag: "7",
		Old:  Image{Digest: "sha256:c0ffee0000000000000000000000000000000000000000000000000000000000", Index: true, Version: "7.2.4", VersionFrom: "annotation", Created: now.Add(-30 * 24 * time.Hour)},
		New:  Image{Digest: "sha256:c0ffee1111111111111111111111111111111111111111111111111111111111", Index: true, Version: "7.2.4", VersionFrom: "annotation", Created: now.Add(-9 * 24 * time.Hour)},
		Used: []string{"linux/amd64"},
		Platforms: []Platform{
			{Platform: "linux/amd64", Change: Unchanged, Used: true, Old: "sha256:d00d000000000000000000000000000000000000000000000000000000000000", New: "sha256:d00d000000000000000000000000000000000000000000000000000000000000"},
			{Platform: "linux/ppc64le", Change: Changed, Old: "sha256:e00e000000000000000000000000000000000000000000000000000000000000", New: "sha256:e00e111111111111111111111111111111111111111111111111111111111111"},
		},
		UnusedOnly: true,
	}
	golang := Review{Repo: "docker.io/library/golang", Tag: "1.26",
		Old: Image{Digest: "sha256:aa00000000000000000000000000000000000000000000000000000000000000", Version: "1.26.0", VersionFrom: "annotation", Created: now.Add(-20 * 24 * time.Hour)},
		New: Image{Digest: "sha256:bb00000000000000000000000000000000000000000000000000000000000000", Version: "1.26.1", VersionFrom: "annotation", Created: now.Add(-5 * time.Hour)},
	}
	Policy{MinAge: 72 * time.Hour}.Apply(&golang, now)
	distroless := Review{Repo: "gcr.io/distroless/static-debian12", Tag: "nonroot",
		Old: Image{Digest: "sha256:cc00000000000000000000000000000000000000000000000000000000000000"},
		New: Image{Digest: "sha256:dd00000000000000000000000000000000000000000000000000000000000000"},
	}
	Policy{MinAge: 72 * time.Hour}.Apply(&distroless, now)
	return []Review{python, node, redis, golang, distroless}
}

// TestGolden: the text and Markdown of the sample reviews, byte for byte
// (go test ./internal/review -run Golden -update rewrites them).
func TestGolden(t *testing.T) {
	now := time.Date(2025, 1, 13, 9, 30, 0, 0, time.UTC)
	reviews := sampleReviews(now)
	var md bytes.Buffer
	WriteMarkdown(&md, Document{Title: "Base image updates", Summary: "`imglock upgrade` moves 3 base images in `images.lock`.",
		Reviews: reviews, Now: now, Footer: "<sub>Written by `imglock upgrade --format markdown`.</sub>"})
	var text bytes.Buffer
	for _, r := range reviews {
		WriteText(&text, r, now, imageref.ShortDigest)
	}
	for name, got := range map[string][]byte{"reviews.md": md.Bytes(), "reviews.txt": text.Bytes()} {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs; got:\n%s", name, got)
		}
	}
}

// TestHostileText: what a registry says can neither break the Markdown
// table out of its cells nor reach a terminal as control characters, and
// gives no link to anywhere but GitHub and GitLab.
func TestHostileText(t *testing.T) {
	r := Review{Repo: "r", Tag: "t",
		Old: Image{Digest: "sha256:aa", Version: "1 | evil", Revision: "x", Source: "https://evil.example/o/r"},
		New: Image{Digest: "sha256:bb", Version: "2`](https://evil.example)\x1b[2J", Revision: "y\n| injected |", Source: "https://evil.example/o/r",
			BaseName: "<img src=x onerror=alert(1)>"},
		Platforms: []Platform{{Platform: "linux/amd64|x", Change: Changed, Used: true, Old: "sha256:aa", New: "sha256:bb"}},
	}
	var md, text bytes.Buffer
	WriteMarkdown(&md, Document{Title: "t", Reviews: []Review{r}})
	WriteText(&text, r, time.Now(), imageref.ShortDigest)
	for _, line := range strings.Split(md.String(), "\n") {
		if strings.HasPrefix(line, "|") && strings.Count(line, "|")-strings.Count(line, `\|`) != 4 {
			t.Errorf("a row with other than three cells: %q", line)
		}
	}
	if strings.Contains(text.String(), "\x1b") || strings.Contains(md.String(), "\x1b") {
		t.Errorf("a control character got through:\n%s\n%s", text.String(), md.String())
	}
	// Outside code spans, nothing the registry sent.
	outside := regexp.MustCompile("`[^`]*`").ReplaceAllString(md.String(), "")
	for _, bad := range []string{"evil", "<img", "injected"} {
		if strings.Contains(outside, bad) {
			t.Errorf("%q outside a code span:\n%s", bad, md.String())
		}
	}
}
