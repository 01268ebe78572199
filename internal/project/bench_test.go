package project

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/testregistry"
	"github.com/imglock/imglock/lock"
)

// writeTree writes n Dockerfiles using images drawn from unique image names
// and returns the lock that matches them.
func writeTree(tb testing.TB, dir string, n, unique int, registry string) *lock.File {
	tb.Helper()
	f := lock.New()
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
			}
		}
	}
	return f
}

// BenchmarkVerify1000 is `imglock verify` over 1,000 Dockerfiles: discovery,
// parsing and the comparison with a 150-entry lock.
func BenchmarkVerify1000(b *testing.B) {
	dir := b.TempDir()
	f := writeTree(b, dir, 1000, 50, "registry.example.com")
	data := f.Format()
	b.ReportAllocs()
	for b.Loop() {
		refs, err := Scan(Options{Root: dir})
		if err != nil {
			b.Fatal(err)
		}
		parsed, err := lock.Parse("images.lock", data)
		if err != nil {
			b.Fatal(err)
		}
		if p := Verify(refs, nil, Lock{Name: "images.lock", File: parsed, Data: data}); len(p) != 0 {
			b.Fatalf("%d problems, first %v", len(p), p[0])
		}
	}
}

// BenchmarkColdLock is a cold `imglock lock` of N unique tags on one
// in-process registry. It reports the requests each run makes, by kind: the
// budget is one ping plus one HEAD per tag.
func BenchmarkColdLock(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("tags=%d", n), func(b *testing.B) {
			reg := testregistry.Start()
			defer reg.Close()
			dir := b.TempDir()
			var df strings.Builder
			for i := range n {
				ref := fmt.Sprintf("repo%d/img:%d", i%10, i)
				if _, err := reg.Push(ref, ref); err != nil {
					b.Fatal(err)
				}
				fmt.Fprintf(&df, "FROM %s/%s AS s%d\n", reg.Addr, ref, i)
			}
			if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df.String()), 0o644); err != nil {
				b.Fatal(err)
			}
			refs, err := Scan(Options{Root: dir})
			if err != nil {
				b.Fatal(err)
			}
			lockPath := filepath.Join(dir, "images.lock")
			newResolver := func() (resolve.Resolver, error) {
				return resolve.New(resolve.WithKeychain(authn.NewMultiKeychain()))
			}
			reg.Reset()
			runs := 0
			for b.Loop() {
				if err := os.Remove(lockPath); err != nil && !os.IsNotExist(err) {
					b.Fatal(err)
				}
				res, err := Tidy(context.Background(), refs, nil, lockPath, newResolver)
				if err != nil {
					b.Fatal(err)
				}
				if len(res.Changes) != n {
					b.Fatalf("%d changes, want %d", len(res.Changes), n)
				}
				runs++
			}
			c := reg.Counts()
			for _, kind := range []string{"total", "ping", "head", "get"} {
				b.ReportMetric(float64(c[kind])/float64(runs), kind+"-reqs/op")
			}
		})
	}
}
