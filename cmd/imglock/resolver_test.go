package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imglock/imglock/internal/testing/registry"
	"github.com/imglock/imglock/internal/version"
)

func TestProgressPrinter(t *testing.T) {
	var buf bytes.Buffer
	p := progressPrinter(&buf)
	p(1, 3)
	p(2, 3)
	p(3, 3)
	if got, want := buf.String(), "\rresolving 1/3\rresolving 2/3\r\033[K"; got != want {
		t.Errorf("progress output %q, want %q", got, want)
	}
}

func TestProgressOnlyOnTerminals(t *testing.T) {
	if isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is taken for a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is taken for a terminal")
	}
}

// TestLockNamesImglock: every request imglock lock makes, through a
// registry that wants bearer tokens, says it comes from imglock and which.
func TestLockNamesImglock(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	reg := registry.Start(registry.WithTokenAuth())
	defer reg.Close()
	if _, err := reg.Push("acme/base:1", "base"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM "+reg.Addr+"/acme/base:1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"imglock", "-C", dir, "lock"}, &stdout, &stderr); code != 0 {
		t.Fatalf("imglock lock exited %d:\n%s", code, stderr.String())
	}
	reqs := reg.Requests()
	if len(reqs) == 0 {
		t.Fatal("no requests reached the registry")
	}
	want := version.UserAgent() + " go-containerregistry"
	for _, req := range reqs {
		if !strings.HasPrefix(req.UserAgent, want) {
			t.Errorf("%s %s: User-Agent %q, want it to start with %q", req.Method, req.Path, req.UserAgent, want)
		}
	}
}
