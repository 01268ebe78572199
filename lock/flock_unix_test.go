//go:build unix

package lock

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Update relies on flock excluding other open file descriptions in the
// same process, not only other processes.
func TestFlockExcludesWithinProcess(t *testing.T) {
	dir := t.TempDir()
	a, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := unix.Flock(int(a.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(b.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != unix.EWOULDBLOCK {
		t.Fatalf("second flock = %v, want EWOULDBLOCK", err)
	}
	if err := unix.Flock(int(a.Fd()), unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(b.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatalf("flock after unlock = %v", err)
	}
}

func TestUpdateWaitsForLock(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock")
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	unlock, err := lockDir(d)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Update(path, setFn(Entry{Repo: golang, Tag: "1", Digest: dA}))
		done <- err
	}()
	select {
	case err := <-done:
		unlock()
		t.Fatalf("Update finished while the directory was locked: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("file written while the directory was locked")
	}
	unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Update did not finish after unlock")
	}
	if _, err := os.Stat(path); err != nil {
		t.Error(err)
	}
}
