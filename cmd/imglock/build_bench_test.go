package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkBuildPrint is the wrapper's own work before the builder starts
// (imglock build --print), in a repository of 50 Dockerfiles: it reads the
// one Dockerfile docker would and the lock, whatever else the tree holds.
func BenchmarkBuildPrint(b *testing.B) {
	dir := b.TempDir()
	var lockLines []string
	for i := range 50 {
		df := fmt.Sprintf("# syntax=docker/dockerfile:1\nARG BASE=registry.example.com/team%d/base:1\nFROM ${BASE} AS build\nRUN make\nFROM registry.example.com/runtime:%d\nCOPY --from=build /out /out\nCOPY --from=registry.example.com/tools:1 /t /t\n", i, i)
		sub := filepath.Join(dir, fmt.Sprintf("svc%02d", i))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, "Dockerfile"), []byte(df), 0o644); err != nil {
			b.Fatal(err)
		}
		lockLines = append(lockLines,
			fmt.Sprintf("registry.example.com/team%d/base 1 sha256:%064x", i, i),
			fmt.Sprintf("registry.example.com/runtime %d sha256:%064x", i, 1000+i))
	}
	lockLines = append(lockLines,
		fmt.Sprintf("docker.io/docker/dockerfile 1 sha256:%064x", 7),
		fmt.Sprintf("registry.example.com/tools 1 sha256:%064x", 9))
	if err := os.WriteFile(filepath.Join(dir, "images.lock"), []byte(strings.Join(lockLines, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"policy", "contexts", "stdin"} {
		b.Run(mode, func(b *testing.B) {
			args := []string{"imglock", "-C", dir, "build", "--print", "--pin-mode", mode, "-t", "app", filepath.Join(dir, "svc07")}
			for b.Loop() {
				if code := run(args, io.Discard, io.Discard); code != 0 {
					b.Fatalf("exit %d", code)
				}
			}
		})
	}
}
