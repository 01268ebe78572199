package project

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/imglock/imglock/internal/config"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/testing/registry"
	"github.com/imglock/imglock/lock"
)

// countingStore counts the lock's parses: each Read and each Update parses
// images.lock once.
type countingStore struct {
	lockStore
	parses int
}

func (s *countingStore) Read() (*lock.File, []byte, error) {
	s.parses++
	return s.lockStore.Read()
}

func (s *countingStore) Update(edit func(*lock.File) error) (bool, error) {
	s.parses++
	return s.lockStore.Update(edit)
}

// TestLockParsesPerRun: a run plans from the lock it read when opened and
// re-reads it only to write, under the file lock: two parses for a lock or
// an upgrade that changes something, one for a run that changes nothing.
func TestLockParsesPerRun(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	for _, tag := range []string{"acme/base:1", "acme/other:2"} {
		if _, err := reg.Push(tag, tag); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	dockerfile := "FROM " + reg.Addr + "/acme/base:1 AS base\nFROM " + reg.Addr + "/acme/other:2\nCOPY --from=base / /\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(what string, want int, op func(*Project) error) {
		t.Helper()
		var store *countingStore
		p, err := open(Options{Root: dir, Resolver: func(*config.Config) (resolve.Resolver, error) { return realResolver() }},
			func(path string) lockStore {
				store = &countingStore{lockStore: lockOnDisk(path)}
				return store
			})
		if err != nil {
			t.Fatal(err)
		}
		if err := op(p); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if store.parses != want {
			t.Errorf("%s parsed images.lock %d times, want %d", what, store.parses, want)
		}
	}
	tidy := func(p *Project) error { _, err := p.Tidy(context.Background()); return err }
	upgrade := func(dryRun bool) func(*Project) error {
		return func(p *Project) error { _, err := p.Upgrade(context.Background(), nil, dryRun); return err }
	}

	run("a cold lock", 2, tidy)
	run("an up-to-date lock", 1, tidy)
	run("verify", 1, func(p *Project) error { return p.Verify().Err() })
	if _, err := reg.Push("acme/base:1", "moved"); err != nil {
		t.Fatal(err)
	}
	run("upgrade --dry-run", 1, upgrade(true))
	run("an upgrade that moves a tag", 2, upgrade(false))
	run("an upgrade with nothing to move", 1, upgrade(false))
}
