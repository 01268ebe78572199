package project

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imglock/imglock/lock"
)

// writeTree writes n Dockerfiles (three references each: an ARG-built FROM
// of a build stage, a FROM, a COPY --from image) using images drawn from
// unique image names, an imglock.toml that configures platforms, and the
// lock that matches them, with a line per platform.
func writeTree(tb testing.TB, dir string, n, unique int, registry string, platforms ...string) *lock.File {
	tb.Helper()
	f := lock.New()
	if len(platforms) > 0 {
		toml := fmt.Sprintf("platforms = [%q", platforms[0])
		for _, p := range platforms[1:] {
			toml += fmt.Sprintf(", %q", p)
		}
		if err := os.WriteFile(filepath.Join(dir, "imglock.toml"), []byte(toml+"]\n"), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	for i := range n {
		img := fmt.Sprintf("%s/team%d/app", registry, i%unique)
		tool := fmt.Sprintf("%s/tools/t%d", registry, (i+1)%unique)
		df := fmt.Sprintf("# service %d\nARG BASE=%s:1\nFROM $BASE AS build\nRUN make\nFROM %s:2\nCOPY --from=build /out /out\nCOPY --from=%s:1 /bin/t /bin/t\n", i, img, img, tool)
		path := filepath.Join(dir, fmt.Sprintf("svc%03d", i/10), fmt.Sprintf("s%d.Dockerfile", i))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(df), 0o644); err != nil {
			tb.Fatal(err)
		}
		for _, ref := range [][2]string{{img, "1"}, {img, "2"}, {tool, "1"}} {
			repo := ref[0]
			digest := fmt.Sprintf("sha256:%064x", len(repo)*1000+len(ref[1])+i%unique)
			if _, ok := f.Lookup(repo, ref[1]); !ok {
				if err := f.Set(lock.Entry{Repo: repo, Tag: ref[1], Digest: digest}); err != nil {
					tb.Fatal(err)
				}
				for j, p := range platforms {
					pd := fmt.Sprintf("sha256:%064x", len(repo)*1000+len(ref[1])+i%unique+(j+1)<<32)
					if err := f.Set(lock.Entry{Repo: repo, Tag: ref[1], Platform: p, Digest: pd}); err != nil {
						tb.Fatal(err)
					}
				}
			}
		}
	}
	return f
}

// BenchmarkVerify is `imglock verify` over 1,000 and 10,000 Dockerfiles,
// with one platform (the default) and two configured: discovery, parsing,
// evaluating every target for each platform, and the comparison with a
// lock of 150 tags.
func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, platforms := range [][]string{nil, {"linux/amd64", "linux/arm64"}} {
			b.Run(fmt.Sprintf("files=%d/platforms=%d", n, max(len(platforms), 1)), func(b *testing.B) {
				dir := b.TempDir()
				f := writeTree(b, dir, n, 50, "registry.example.com", platforms...)
				if err := os.WriteFile(filepath.Join(dir, "images.lock"), f.Format(), 0o644); err != nil {
					b.Fatal(err)
				}
				verifyLoop(b, dir)
			})
		}
	}
}

// writeComposeTree writes projects compose projects of ten services each
// into the tree writeTree wrote (n Dockerfiles): six images (two from
// .env, one replaced by an override file), one service of a profile and
// three builds of the tree's Dockerfiles with args and a target. It adds
// what they pull to f.
func writeComposeTree(tb testing.TB, dir string, projects, n int, registry string, f *lock.File) {
	tb.Helper()
	set := func(repo, tag string) {
		if _, ok := f.Lookup(repo, tag); !ok {
			if err := f.Set(lock.Entry{Repo: repo, Tag: tag, Digest: fmt.Sprintf("sha256:%064x", len(repo)*7+len(tag))}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	for p := range projects {
		var compose, env strings.Builder
		compose.WriteString("services:\n")
		for s := range 6 {
			repo := fmt.Sprintf("%s/runtime/r%d", registry, (p+s)%40)
			if s < 2 {
				fmt.Fprintf(&compose, "  svc%d:\n    image: ${IMAGE_%d}\n    restart: always\n", s, s)
				fmt.Fprintf(&env, "IMAGE_%d=%s:%d\n", s, repo, s)
			} else {
				fmt.Fprintf(&compose, "  svc%d:\n    image: %s:%d\n    ports: [\"80%02d:80\"]\n", s, repo, s, s)
			}
			if s != 5 { // the override replaces it
				set(repo, fmt.Sprint(s))
			}
		}
		fmt.Fprintf(&compose, "  debug:\n    image: %s/debug/d%d:1\n    profiles: [debug]\n", registry, p%10)
		set(fmt.Sprintf("%s/debug/d%d", registry, p%10), "1")
		for b := range 3 {
			i := (p*3 + b) % n
			img := fmt.Sprintf("%s/team%d/app", registry, i%50)
			fmt.Fprintf(&compose, "  build%d:\n    build:\n      context: ../../svc%03d\n      dockerfile: s%d.Dockerfile\n      args:\n        BASE: %s:3\n      target: build\n", b, i/10, i, img)
			set(img, "3")
		}
		override := fmt.Sprintf("services:\n  svc5:\n    image: %s/runtime/override:%d\n", registry, p%5)
		set(registry+"/runtime/override", fmt.Sprint(p%5))
		files := map[string]string{"compose.yaml": compose.String(), ".env": env.String(), "compose.override.yaml": override}
		for name, content := range files {
			path := filepath.Join(dir, "deploy", fmt.Sprintf("stack%02d", p), name)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// BenchmarkVerifyCompose is `imglock verify` over a 200-service compose
// tree (20 projects with .env and override files, 60 builds) and 1,000
// Dockerfiles.
func BenchmarkVerifyCompose(b *testing.B) {
	dir := b.TempDir()
	f := writeTree(b, dir, 1000, 50, "registry.example.com")
	writeComposeTree(b, dir, 20, 1000, "registry.example.com", f)
	if err := os.WriteFile(filepath.Join(dir, "images.lock"), f.Format(), 0o644); err != nil {
		b.Fatal(err)
	}
	verifyLoop(b, dir)
}

// verifyLoop opens the repository at dir and verifies it as often as b
// asks, failing on any problem.
func verifyLoop(b *testing.B, dir string) {
	b.ReportAllocs()
	for b.Loop() {
		p, err := Open(Options{Root: dir})
		if err != nil {
			b.Fatal(err)
		}
		if problems := p.Verify(); len(problems) != 0 {
			b.Fatalf("%d problems, first %v", len(problems), problems[0])
		}
	}
}
