package lock

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/diag"
)

func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "format", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"\ufeff" + golang + " 1 " + dA + "\r\n",
		golang + " 1/linux/arm/v7 " + dA + "\n",
		golang + " 1 " + dA + "\n" + golang + " 1 " + dB + "\n",
		"python:3 1 md5:00\n\x00\xff\n",
		"localhost:5000/x 1 " + d512 + "\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := Parse("images.lock", data)
		if err != nil {
			if lf != nil {
				t.Fatal("non-nil File with error")
			}
			for _, e := range err.(diag.List) {
				if e.Line < 1 || !printable(e.Msg) {
					t.Fatalf("error without position or with unprintable text: %q", e)
				}
			}
			return
		}
		out := lf.Format()
		g, err := Parse("images.lock", out)
		if err != nil {
			t.Fatalf("Format output does not parse: %v\n%q", err, out)
		}
		if out2 := g.Format(); !bytes.Equal(out, out2) {
			t.Fatalf("Format not stable:\n%q\n%q", out, out2)
		}
		if !slices.Equal(lf.Entries(), g.Entries()) {
			t.Fatal("entries differ after round trip")
		}
		if !g.Canonical(out) {
			t.Fatal("Format output not canonical")
		}
		if lf.Canonical(data) != bytes.Equal(data, out) {
			t.Fatal("Canonical disagrees with Format")
		}
		// Set must accept exactly what Parse accepts.
		h := New()
		for _, e := range lf.Entries() {
			if err := h.Set(e); err != nil {
				t.Fatalf("Set(%v): %v", e, err)
			}
		}
		if !slices.Equal(h.Entries(), lf.Entries()) {
			t.Fatal("rebuilding with Set gave a different file")
		}
	})
}

// printable reports whether an error message is short printable text: what
// a malformed input may put in a log, escaped by diag.Printable.
func printable(s string) bool { return len(s) <= 2048 && diag.Printable(s, 2048) == s }

// genLock returns a canonical lock of n lines: groups of a tag line and
// three platform lines spread over many repositories.
func genLock(n int) []byte {
	var b bytes.Buffer
	platforms := []string{"linux/amd64", "linux/arm/v7", "linux/arm64/v8"}
	for i := 0; i*(1+len(platforms)) < n; i++ {
		repo := fmt.Sprintf("registry.example.com/team%03d/app%04d", i%100, i/4)
		tag := fmt.Sprintf("v1.%d.0", i%4)
		fmt.Fprintf(&b, "%s %s sha256:%064x\n", repo, tag, i*4)
		for j, p := range platforms {
			fmt.Fprintf(&b, "%s %s/%s sha256:%064x\n", repo, tag, p, i*4+j+1)
		}
	}
	f, err := Parse("gen", b.Bytes())
	if err != nil {
		panic(err)
	}
	return f.Format()
}

func BenchmarkParseFormat(b *testing.B) {
	data := genLock(10000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := Parse("images.lock", data)
		if err != nil {
			b.Fatal(err)
		}
		if !f.Canonical(data) {
			b.Fatal("not canonical")
		}
	}
}

func TestParseLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	data := genLock(100000)
	// Reverse the lines so sorting and duplicate detection do real work.
	lines := strings.SplitAfter(string(data), "\n")
	slices.Reverse(lines)
	start := time.Now()
	f, err := Parse("images.lock", []byte(strings.Join(lines, "")))
	if err != nil {
		t.Fatal(err)
	}
	if !f.Canonical(data) {
		t.Fatal("reversed large file did not format canonically")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("parsing 100k lines took %v", d)
	}
	t.Logf("%d lines parsed and formatted in %v", len(f.Entries()), time.Since(start))
}
