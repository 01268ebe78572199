package lock

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/imglock/imglock/internal/diag"
)

var (
	dA   = "sha256:" + strings.Repeat("a", 64)
	dB   = "sha256:" + strings.Repeat("b", 64)
	dC   = "sha256:" + strings.Repeat("c", 64)
	d512 = "sha512:" + strings.Repeat("0123456789abcdef", 8)
)

const golang = "docker.io/library/golang"

func TestGolden(t *testing.T) {
	ins, err := filepath.Glob(filepath.Join("testdata", "format", "*.in"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) == 0 {
		t.Fatal("no golden tests found")
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			golden, err := os.ReadFile(strings.TrimSuffix(in, ".in") + ".golden")
			if err != nil {
				t.Fatal(err)
			}
			f, err := Parse("images.lock", data)
			if err != nil {
				t.Fatalf("Parse(%s): %v", in, err)
			}
			if got := f.Format(); !bytes.Equal(got, golden) {
				t.Errorf("Format mismatch\ngot:\n%s\nwant:\n%s", got, golden)
			}
			if got, want := f.Canonical(data), bytes.Equal(data, golden); got != want {
				t.Errorf("Canonical(in) = %v, want %v", got, want)
			}

			g, err := Parse("images.lock", golden)
			if err != nil {
				t.Fatalf("Parse(golden): %v", err)
			}
			if got := g.Format(); !bytes.Equal(got, golden) {
				t.Errorf("golden is not canonical\ngot:\n%s\nwant:\n%s", got, golden)
			}
			if !g.Canonical(golden) {
				t.Error("Canonical(golden) = false")
			}
			if !slices.Equal(f.Entries(), g.Entries()) {
				t.Error("Parse(in) and Parse(golden) differ")
			}
		})
	}
}

func TestFormatEmpty(t *testing.T) {
	got := New().Format()
	if got == nil || len(got) != 0 {
		t.Errorf("New().Format() = %#v, want empty non-nil slice", got)
	}
	if !New().Canonical(nil) || !New().Canonical([]byte{}) {
		t.Error("empty file should be canonical for zero bytes")
	}
	if New().Canonical([]byte("\n")) {
		t.Error("a lone newline is not canonical")
	}
}

func TestNonCanonical(t *testing.T) {
	canon := golang + " 1 " + dA + "\n" + golang + " 2 " + dB + "\n"
	for _, in := range []string{
		"\n" + canon,
		canon + "\n",
		strings.Replace(canon, " 1 ", "  1 ", 1),
		strings.Replace(canon, " 1 ", "\t1 ", 1),
		golang + " 2 " + dB + "\n" + golang + " 1 " + dA + "\n",
		canon + golang + " 1 " + dA + "\n",
		strings.TrimSuffix(canon, "\n"),
		strings.Replace(canon, golang, "golang", 1),
		strings.Replace(canon, golang, "docker.io/golang", 1),
	} {
		f, err := Parse("images.lock", []byte(in))
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if f.Canonical([]byte(in)) {
			t.Errorf("Canonical(%q) = true, want false", in)
		}
		if got := string(f.Format()); got != canon {
			t.Errorf("Format(Parse(%q)) = %q, want %q", in, got, canon)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		desc, in, want string
	}{
		{"too many fields", golang + " 1 " + dA + " extra\n",
			"images.lock:1: wrong number of fields 4; want REPOSITORY TAG DIGEST"},
		{"too few fields", golang + " " + dA + "\n",
			"images.lock:1: wrong number of fields 2; want REPOSITORY TAG DIGEST"},
		{"one field on line 2", golang + " 1 " + dA + "\nfoo\n",
			"images.lock:2: wrong number of fields 1; want REPOSITORY TAG DIGEST"},
		{"non-ASCII space is not a separator", golang + "\u00a01 " + dA + "\n",
			"images.lock:1: wrong number of fields 2; want REPOSITORY TAG DIGEST"},
		{"first element neither a host nor a path", "my_registry.local/app 1 " + dA + "\n",
			`images.lock:1: invalid repository "my_registry.local/app": "my_registry.local" is not a valid registry host`},
		{"uppercase repository", "Python 3 " + dA + "\n",
			`images.lock:1: invalid repository "Python": invalid reference format: repository name (library/Python) must be lowercase`},
		{"uppercase repository with a terminal escape", "Py\x1b]0;x\x07thon 3 " + dA + "\n",
			`images.lock:1: invalid repository "Py\x1b]0;x\athon": invalid reference format: repository name (library/Py\x1b]0;x\athon) must be lowercase`},
		{"huge uppercase repository", strings.Repeat("A", 70000) + " 3 " + dA + "\n",
			`images.lock:1: invalid repository "` + strings.Repeat("A", diag.MaxEcho) + `"...: invalid reference format: repository name (library/` + strings.Repeat("A", 256-len("invalid reference format: repository name (library/")) + `...`},
		{"bad repository characters", "foo!bar 3 " + dA + "\n",
			`images.lock:1: invalid repository "foo!bar": invalid reference format`},
		{"repository is a hex identifier", strings.Repeat("a", 64) + " 3 " + dA + "\n",
			`images.lock:1: invalid repository "` + strings.Repeat("a", 64) + `": invalid repository name (` + strings.Repeat("a", 64) + `), cannot specify 64-byte hexadecimal strings`},
		{"repository with tag", "python:3.12 3.12 " + dA + "\n",
			`images.lock:1: repository "python:3.12" must not include a tag`},
		{"repository with digest", "python@" + dB + " 3.12 " + dA + "\n",
			`images.lock:1: repository "python@` + dB + `" must not include a digest`},
		{"repository with tag and digest", "python:3@" + dB + " 3.12 " + dA + "\n",
			`images.lock:1: repository "python:3@` + dB + `" must not include a tag or digest`},
		{"tag starts with dot", golang + " .1 " + dA + "\n",
			`images.lock:1: invalid tag ".1": must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`},
		{"tag starts with dash", golang + " -1 " + dA + "\n",
			`images.lock:1: invalid tag "-1": must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`},
		{"tag with plus", golang + " 1+x " + dA + "\n",
			`images.lock:1: invalid tag "1+x": must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`},
		{"tag too long", golang + " " + strings.Repeat("x", 129) + " " + dA + "\n",
			`: 129 characters, at most 128 allowed`},
		{"empty tag before platform", golang + " /linux/amd64 " + dA + "\n",
			`images.lock:1: invalid tag: empty`},
		{"platform without arch", golang + " 1/linux " + dA + "\n",
			`images.lock:1: invalid platform "linux": want OS/ARCH or OS/ARCH/VARIANT`},
		{"platform too deep", golang + " 1/linux/arm/v7/x " + dA + "\n",
			`images.lock:1: invalid platform "linux/arm/v7/x": want OS/ARCH or OS/ARCH/VARIANT`},
		{"empty platform", golang + " 1/ " + dA + "\n",
			`images.lock:1: invalid platform "": want OS/ARCH or OS/ARCH/VARIANT`},
		{"empty platform component", golang + " 1/linux//v7 " + dA + "\n",
			`images.lock:1: invalid platform "linux//v7": empty component`},
		{"uppercase platform", golang + " 1/Linux/amd64 " + dA + "\n",
			`images.lock:1: invalid platform "Linux/amd64": components must match [a-z0-9._-]+`},
		{"unknown digest algorithm", golang + " 1 md5:d41d8cd98f00b204e9800998ecf8427e\n",
			`images.lock:1: invalid digest "md5:d41d8cd98f00b204e9800998ecf8427e": unknown algorithm "md5"; want sha256 or sha512`},
		{"digest without algorithm", golang + " 1 " + strings.Repeat("a", 64) + "\n",
			`images.lock:1: invalid digest "` + strings.Repeat("a", 64) + `": want sha256:HEX or sha512:HEX`},
		{"short sha256", golang + " 1 " + dA[:len(dA)-1] + "\n",
			`images.lock:1: invalid digest "` + dA[:len(dA)-1] + `": sha256 digest has 63 hex characters, want 64`},
		{"long sha256", golang + " 1 " + dA + "a\n",
			`sha256 digest has 65 hex characters, want 64`},
		{"empty sha256", golang + " 1 sha256:\n",
			`images.lock:1: invalid digest "sha256:": sha256 digest has 0 hex characters, want 64`},
		{"short sha512", golang + " 1 " + d512[:len(d512)-1] + "\n",
			`sha512 digest has 127 hex characters, want 128`},
		{"uppercase hex", golang + " 1 sha256:" + strings.Repeat("A", 64) + "\n",
			`sha256 digest must be lowercase hex (found 'A' at position 1)`},
		{"non-hex", golang + " 1 sha256:" + strings.Repeat("a", 63) + "g\n",
			`sha256 digest must be lowercase hex (found 'g' at position 64)`},
		{"CRLF", golang + " 1 " + dA + "\r\n",
			`images.lock:1: CRLF line ending; images.lock must use LF line endings (set "images.lock -text" in .gitattributes)`},
		{"CR without LF at EOF", golang + " 1 " + dA + "\n" + golang + " 2 " + dA + "\r",
			`images.lock:2: CRLF line ending; images.lock must use LF line endings (set "images.lock -text" in .gitattributes)`},
		{"stray CR", golang + " 1\r2 " + dA + "\n",
			`images.lock:1: carriage return (\r) at column 27`},
		{"BOM", "\ufeff" + golang + " 1 " + dA + "\n",
			`images.lock:1: file starts with a UTF-8 byte order mark (BOM); images.lock must be plain UTF-8 without one`},
		{"invalid UTF-8", golang + " 1 " + dA + "\n" + golang + " \xff " + dA + "\n",
			`images.lock:2: invalid UTF-8 (byte 0xff at column 26)`},
		{"NUL byte", golang + " 1\x00 " + dA + "\n",
			`images.lock:1: NUL byte at column 27`},
		{"conflicting digests", golang + " 1 " + dA + "\n" + golang + " 2 " + dA + "\n" + "golang 1 " + dB + "\n",
			`images.lock:3: conflicting digests for docker.io/library/golang 1: first at line 1`},
		{"conflicting platform digests", golang + " 1 " + dA + "\n" + golang + " 1/linux/amd64 " + dB + "\n" + golang + " 1/linux/amd64 " + dC + "\n",
			`images.lock:3: conflicting digests for docker.io/library/golang 1/linux/amd64: first at line 2`},
		{"platform line without tag line", golang + " 1 " + dA + "\n" + golang + " 2/linux/arm/v7 " + dB + "\n",
			`images.lock:2: docker.io/library/golang 2/linux/arm/v7 has no tag line docker.io/library/golang 2`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			f, err := Parse("images.lock", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded with %d entries, want error %q", len(f.Entries()), tt.want)
			}
			if f != nil {
				t.Errorf("Parse returned non-nil File with error")
			}
			var list diag.List
			if !errors.As(err, &list) {
				t.Fatalf("error %T is not a diag.List", err)
			}
			var one *diag.Diagnostic
			if !errors.As(err, &one) || one.Kind != diag.Input {
				t.Fatalf("errors.As(*diag.Diagnostic) failed for %v, or it is not bad input", err)
			}
			got := err.Error()
			if strings.HasPrefix(tt.want, "images.lock:") {
				if got != tt.want {
					t.Errorf("error:\n got %s\nwant %s", got, tt.want)
				}
			} else if !strings.Contains(got, tt.want) {
				t.Errorf("error %q does not contain %q", got, tt.want)
			}
		})
	}
}

func TestParseErrorsAllReported(t *testing.T) {
	in := strings.Join([]string{
		golang + " 1 " + dA,
		"python 3 md5:abc",
		golang + " 2 " + dB,
		golang + " 2/linux " + dB,
		"",
		golang + " 3 " + dC + " x",
		golang + " 4 " + dC,
	}, "\n") + "\n"
	_, err := Parse("dir/images.lock", []byte(in))
	var list diag.List
	if !errors.As(err, &list) {
		t.Fatalf("got %v, want a diag.List", err)
	}
	var lines []int
	for _, e := range list {
		lines = append(lines, e.Line)
		if e.File != "dir/images.lock" {
			t.Errorf("File = %q, want dir/images.lock", e.File)
		}
	}
	if want := []int{2, 4, 6}; !slices.Equal(lines, want) {
		t.Errorf("error lines = %v, want %v\n%v", lines, want, err)
	}
	if got := strings.Count(err.Error(), "\n"); got != 2 {
		t.Errorf("List.Error() has %d newlines, want 2:\n%v", got, err)
	}
	if !strings.HasPrefix(err.Error(), "dir/images.lock:2: invalid digest") {
		t.Errorf("unexpected message:\n%v", err)
	}
}

func TestParseErrorsSortedByLine(t *testing.T) {
	// The missing-tag-line check runs after the whole file is read.
	in := golang + " 1/linux/amd64 " + dA + "\n" + "x y\n"
	_, err := Parse("images.lock", []byte(in))
	var list diag.List
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("got %v, want 2 errors", err)
	}
	if list[0].Line != 1 || list[1].Line != 2 {
		t.Errorf("lines %d, %d; want 1, 2", list[0].Line, list[1].Line)
	}
}

func TestBOMErrorKeepsLineOne(t *testing.T) {
	// The BOM is reported but line 1's content is still parsed, so the
	// platform line on line 2 does not also get a missing-tag-line error.
	in := "\ufeff" + golang + " 1 " + dA + "\n" + golang + " 1/linux/amd64 " + dB + "\n"
	_, err := Parse("images.lock", []byte(in))
	var list diag.List
	if !errors.As(err, &list) || len(list) != 1 || list[0].Line != 1 {
		t.Fatalf("got %v, want exactly one error on line 1", err)
	}
}

func TestEntry(t *testing.T) {
	e := Entry{Repo: golang, Tag: "1.26", Digest: dA}
	if e.Key() != "1.26" {
		t.Errorf("Key = %q", e.Key())
	}
	e.Platform = "linux/arm/v7"
	if e.Key() != "1.26/linux/arm/v7" {
		t.Errorf("Key = %q", e.Key())
	}
}

func mustParse(t *testing.T, s string) *File {
	t.Helper()
	f, err := Parse("images.lock", []byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSet(t *testing.T) {
	f := New()
	steps := []Entry{
		{Repo: golang, Tag: "1.26", Digest: dA},
		{Repo: golang, Tag: "1.26", Platform: "linux/arm/v7", Digest: dB},
		{Repo: golang, Tag: "1.26", Platform: "linux/amd64", Digest: dC},
		{Repo: "docker.io/library/alpine", Tag: "3", Digest: d512},
	}
	for _, e := range steps {
		if err := f.Set(e); err != nil {
			t.Fatalf("Set(%v): %v", e, err)
		}
	}
	want := "docker.io/library/alpine 3 " + d512 + "\n" +
		golang + " 1.26 " + dA + "\n" +
		golang + " 1.26/linux/amd64 " + dC + "\n" +
		golang + " 1.26/linux/arm/v7 " + dB + "\n"
	if got := string(f.Format()); got != want {
		t.Fatalf("Format:\n%s\nwant:\n%s", got, want)
	}

	if err := f.Set(Entry{Repo: golang, Tag: "1.26", Platform: "linux/amd64", Digest: dA}); err != nil {
		t.Fatal(err)
	}
	if err := f.Set(Entry{Repo: golang, Tag: "1.26", Digest: dB}); err != nil {
		t.Fatal(err)
	}
	if len(f.Entries()) != 4 {
		t.Errorf("Len = %d after replacing, want 4", len(f.Entries()))
	}
	if d, _ := f.Lookup(golang, "1.26"); d != dB {
		t.Errorf("tag digest = %s, want %s", d, dB)
	}
	if p := f.Platforms(golang, "1.26"); p[0].Digest != dA {
		t.Errorf("platform digest = %s, want %s", p[0].Digest, dA)
	}

	before := f.Clone()
	bad := []struct {
		e    Entry
		want string
	}{
		{Entry{Repo: "golang", Tag: "1", Digest: dA}, `repository "golang" is not canonical; want "docker.io/library/golang"`},
		{Entry{Repo: "docker.io/golang", Tag: "1", Digest: dA}, "is not canonical"},
		{Entry{Repo: "Golang", Tag: "1", Digest: dA}, "must be lowercase"},
		{Entry{Repo: golang + ":1", Tag: "1", Digest: dA}, "must not include a tag"},
		{Entry{Repo: "", Tag: "1", Digest: dA}, "invalid repository"},
		{Entry{Repo: golang, Tag: "", Digest: dA}, "invalid tag: empty"},
		{Entry{Repo: golang, Tag: "1/linux/amd64", Digest: dA}, `invalid tag "1/linux/amd64"`},
		{Entry{Repo: golang, Tag: "1", Platform: "linux", Digest: dA}, `invalid platform "linux"`},
		{Entry{Repo: golang, Tag: "1", Platform: "linux/AMD64", Digest: dA}, `invalid platform "linux/AMD64"`},
		{Entry{Repo: golang, Tag: "1", Digest: "md5:00"}, `unknown algorithm "md5"`},
		{Entry{Repo: golang, Tag: "1", Digest: dA[:70]}, "sha256 digest has 63 hex characters, want 64"},
		{Entry{Repo: golang, Tag: "1", Digest: ""}, "invalid digest"},
		{Entry{Repo: golang, Tag: "2", Platform: "linux/amd64", Digest: dA}, "docker.io/library/golang 2/linux/amd64 has no tag line docker.io/library/golang 2"},
	}
	for _, tt := range bad {
		err := f.Set(tt.e)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Set(%+v) = %v, want error containing %q", tt.e, err, tt.want)
		}
	}
	if !equal(f, before) {
		t.Error("failed Set modified the file")
	}
}

const groupsLock = golang + " 1 " + "sha256:1111111111111111111111111111111111111111111111111111111111111111" + "\n" +
	golang + " 1/linux/amd64 " + "sha256:2222222222222222222222222222222222222222222222222222222222222222" + "\n" +
	golang + " 1/linux/arm/v7 " + "sha256:3333333333333333333333333333333333333333333333333333333333333333" + "\n" +
	golang + " 1-alpine " + "sha256:4444444444444444444444444444444444444444444444444444444444444444" + "\n" +
	golang + " 1-alpine/linux/amd64 " + "sha256:5555555555555555555555555555555555555555555555555555555555555555" + "\n" +
	golang + " 2 " + "sha256:6666666666666666666666666666666666666666666666666666666666666666" + "\n" +
	"ghcr.io/foo/bar 1 " + "sha256:7777777777777777777777777777777777777777777777777777777777777777" + "\n"

func TestLookupPlatforms(t *testing.T) {
	f := mustParse(t, groupsLock)
	if d, ok := f.Lookup(golang, "1"); !ok || d != "sha256:"+strings.Repeat("1", 64) {
		t.Errorf("Lookup(1) = %q, %v", d, ok)
	}
	if d, ok := f.Lookup(golang, "1-alpine"); !ok || d != "sha256:"+strings.Repeat("4", 64) {
		t.Errorf("Lookup(1-alpine) = %q, %v", d, ok)
	}
	for _, tag := range []string{"3", "1/linux/amd64", ""} {
		if d, ok := f.Lookup(golang, tag); ok {
			t.Errorf("Lookup(%q) = %q, true; want not found", tag, d)
		}
	}
	if _, ok := f.Lookup("golang", "1"); ok {
		t.Error("Lookup with a familiar name should not match")
	}

	got := f.Platforms(golang, "1")
	want := []Entry{
		{Repo: golang, Tag: "1", Platform: "linux/amd64", Digest: "sha256:" + strings.Repeat("2", 64)},
		{Repo: golang, Tag: "1", Platform: "linux/arm/v7", Digest: "sha256:" + strings.Repeat("3", 64)},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Platforms(1) = %v, want %v", got, want)
	}
	got[0].Digest = dA
	if f.Platforms(golang, "1")[0].Digest == dA {
		t.Error("Platforms returned an alias of internal state")
	}
	if p := f.Platforms(golang, "1-alpine"); len(p) != 1 || p[0].Platform != "linux/amd64" {
		t.Errorf("Platforms(1-alpine) = %v", p)
	}
	if p := f.Platforms(golang, "2"); len(p) != 0 {
		t.Errorf("Platforms(2) = %v, want none", p)
	}
	if p := f.Platforms(golang, "9"); len(p) != 0 {
		t.Errorf("Platforms(9) = %v, want none", p)
	}
}

func TestDelete(t *testing.T) {
	f := mustParse(t, groupsLock)
	f.Delete(golang, "1")
	f.Delete(golang, "nonexistent")
	f.Delete("docker.io/library/nothing", "1")
	var keys []string
	for _, e := range f.Entries() {
		keys = append(keys, e.Repo+" "+e.Key())
	}
	want := []string{
		golang + " 1-alpine",
		golang + " 1-alpine/linux/amd64",
		golang + " 2",
		"ghcr.io/foo/bar 1",
	}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("after Delete: %q, want %q", keys, want)
	}
	f.Delete("ghcr.io/foo/bar", "1")
	f.Delete(golang, "1-alpine")
	f.Delete(golang, "2")
	if len(f.Entries()) != 0 || len(f.Format()) != 0 {
		t.Errorf("Len = %d after deleting everything", len(f.Entries()))
	}
}

func TestPrune(t *testing.T) {
	f := mustParse(t, groupsLock)
	var calls []string
	removed := f.Prune(func(repo, tag string) bool {
		calls = append(calls, repo+" "+tag)
		return tag == "1-alpine"
	})
	wantCalls := []string{"docker.io/library/golang 1", "docker.io/library/golang 1-alpine", "docker.io/library/golang 2", "ghcr.io/foo/bar 1"}
	slices.Sort(wantCalls)
	if !slices.Equal(calls, wantCalls) {
		t.Errorf("keep called with %q, want %q", calls, wantCalls)
	}
	var got []string
	for _, e := range removed {
		got = append(got, e.Repo+" "+e.Key()+" "+e.Digest)
	}
	all := mustParse(t, groupsLock).Entries()
	var want []string
	for _, e := range all {
		if e.Tag != "1-alpine" {
			want = append(want, e.Repo+" "+e.Key()+" "+e.Digest)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("removed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(f.Entries()) != 2 {
		t.Errorf("Len = %d after Prune, want 2", len(f.Entries()))
	}
	if r := f.Prune(func(string, string) bool { return true }); len(r) != 0 {
		t.Errorf("Prune keeping all removed %v", r)
	}
	if _, err := Parse("images.lock", f.Format()); err != nil {
		t.Errorf("pruned file does not parse: %v", err)
	}
}

func TestCloneEqual(t *testing.T) {
	f := mustParse(t, groupsLock)
	g := f.Clone()
	if !equal(f, g) || !equal(g, f) {
		t.Fatal("clone not equal")
	}
	if err := g.Set(Entry{Repo: golang, Tag: "2", Digest: dA}); err != nil {
		t.Fatal(err)
	}
	if equal(f, g) {
		t.Error("changing a clone's digest left them equal")
	}
	if d, _ := f.Lookup(golang, "2"); d == dA {
		t.Error("Set on clone changed the original")
	}
	h := f.Clone()
	h.Delete(golang, "2")
	if equal(f, h) || len(f.Entries()) != 7 {
		t.Error("Delete on clone affected equality or the original")
	}
	if !equal(New(), New()) || !equal(New(), mustParse(t, "\n")) {
		t.Error("empty files should be equal")
	}
	es := f.Entries()
	es[0].Digest = dA
	if f.Entries()[0].Digest == dA {
		t.Error("Entries returned an alias of internal state")
	}
}

func TestLineOfParsedEntries(t *testing.T) {
	data := []byte("\nghcr.io/a/b 1 sha256:" + strings.Repeat("1", 64) + "\n" +
		"docker.io/library/alpine 3 sha256:" + strings.Repeat("2", 64) + "\n")
	f, err := Parse("images.lock", data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range f.Entries() {
		want := map[string]int{"ghcr.io/a/b": 2, "docker.io/library/alpine": 3}[e.Repo]
		if got := f.Line(e); got != want {
			t.Errorf("Line(%s) = %d, want %d", e, got, want)
		}
	}
	if got := New().Line(Entry{Repo: "x", Tag: "y"}); got != 0 {
		t.Errorf("Line of an entry not parsed = %d, want 0", got)
	}
}

func equal(f, g *File) bool { return slices.Equal(f.Entries(), g.Entries()) }
