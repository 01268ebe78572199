package lock

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/diag"
)

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func setFn(entries ...Entry) func(*File) error {
	return func(f *File) error {
		for _, e := range entries {
			if err := f.Set(e); err != nil {
				return err
			}
		}
		return nil
	}
}

func TestUpdateCreates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock")
	changed, err := Update(path, setFn(
		Entry{Repo: golang, Tag: "1.26", Digest: dA},
		Entry{Repo: golang, Tag: "1.26", Platform: "linux/amd64", Digest: dB},
	))
	if err != nil || !changed {
		t.Fatalf("Update = %v, %v; want true, nil", changed, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := golang + " 1.26 " + dA + "\n" + golang + " 1.26/linux/amd64 " + dB + "\n"
	if string(data) != want {
		t.Errorf("file:\n%s\nwant:\n%s", data, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, want 0644", fi.Mode().Perm())
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"images.lock"}) {
		t.Errorf("directory holds %q, want only images.lock", names)
	}

	f, data2, err := ReadFile(path)
	if err != nil || !bytes.Equal(data, data2) || len(f.Entries()) != 2 {
		t.Errorf("ReadFile = %v, %q, %v", f, data2, err)
	}
}

func TestUpdateMissingNoop(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock")
	called := false
	changed, err := Update(path, func(f *File) error {
		called = true
		if len(f.Entries()) != 0 {
			t.Errorf("missing file parsed with %d entries", len(f.Entries()))
		}
		return nil
	})
	if err != nil || changed || !called {
		t.Fatalf("Update = %v, %v (called %v); want false, nil, called", changed, err, called)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no-op Update on a missing file created it: %v", err)
	}
}

func writeOld(t *testing.T, path, content string) time.Time {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	return old
}

func assertUntouched(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != content {
		t.Errorf("file changed:\n%s\nwant:\n%s", data, content)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.ModTime().Equal(mtime) {
		t.Errorf("mtime = %v, want %v", fi.ModTime(), mtime)
	}
}

func TestUpdateNoop(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock")
	content := golang + " 1.26 " + dA + "\n"
	mtime := writeOld(t, path, content)
	changed, err := Update(path, setFn(Entry{Repo: golang, Tag: "1.26", Digest: dA}))
	if err != nil || changed {
		t.Fatalf("Update = %v, %v; want false, nil", changed, err)
	}
	assertUntouched(t, path, content, mtime)
}

func TestUpdateCanonicalises(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock")
	writeOld(t, path, "\ngolang   1.26 "+dA)
	changed, err := Update(path, func(*File) error { return nil })
	if err != nil || !changed {
		t.Fatalf("Update = %v, %v; want true, nil", changed, err)
	}
	data, _ := os.ReadFile(path)
	if want := golang + " 1.26 " + dA + "\n"; string(data) != want {
		t.Errorf("file = %q, want %q", data, want)
	}
}

func TestUpdateFnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock")
	content := golang + " 1.26 " + dA + "\n"
	mtime := writeOld(t, path, content)
	errBoom := errors.New("boom")
	changed, err := Update(path, func(f *File) error {
		f.Delete(golang, "1.26")
		return errBoom
	})
	if !errors.Is(err, errBoom) || changed {
		t.Fatalf("Update = %v, %v; want false, boom", changed, err)
	}
	assertUntouched(t, path, content, mtime)
	if names := dirNames(t, dir); !slices.Equal(names, []string{"images.lock"}) {
		t.Errorf("directory holds %q, want only images.lock", names)
	}
}

func TestUpdateParseError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock")
	content := golang + " 1.26 " + dA + "\r\n"
	mtime := writeOld(t, path, content)
	called := false
	changed, err := Update(path, func(*File) error {
		called = true
		return nil
	})
	if err == nil || changed || called {
		t.Fatalf("Update = %v, %v (fn called %v); want parse error without calling fn", changed, err, called)
	}
	var e *diag.Diagnostic
	if !errors.As(err, &e) || e.File != path || e.Line != 1 {
		t.Errorf("error %v: want a diagnostic at %s:1", err, path)
	}
	assertUntouched(t, path, content, mtime)
}

func TestUpdateRemovesStaleTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock")
	content := golang + " 1.26 " + dA + "\n"
	mtime := writeOld(t, path, content)
	for _, name := range []string{".images.lock123", ".images.lock4567890", ".other.lock1", "images.lock1", ".images.lock.bak"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	changed, err := Update(path, func(*File) error { return nil })
	if err != nil || changed {
		t.Fatalf("Update = %v, %v; want false, nil", changed, err)
	}
	assertUntouched(t, path, content, mtime)
	want := []string{".images.lock.bak", ".other.lock1", "images.lock", "images.lock1"}
	if names := dirNames(t, dir); !slices.Equal(names, want) {
		t.Errorf("directory holds %q, want %q", names, want)
	}
}

func TestUpdateKeepsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(path, setFn(Entry{Repo: golang, Tag: "1", Digest: dA})); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640", fi.Mode().Perm())
	}
}

func TestUpdateEmptiesToZeroBytes(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock")
	writeOld(t, path, golang+" 1.26 "+dA+"\n")
	changed, err := Update(path, func(f *File) error {
		f.Delete(golang, "1.26")
		return nil
	})
	if err != nil || !changed {
		t.Fatalf("Update = %v, %v; want true, nil", changed, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("file was deleted instead of emptied: %v", err)
	}
	if fi.Size() != 0 {
		t.Errorf("size = %d, want 0", fi.Size())
	}
}

func TestUpdateRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	if _, err := Update("images.lock", setFn(Entry{Repo: golang, Tag: "1", Digest: dA})); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("images.lock"); err != nil {
		t.Fatal(err)
	}
}

func TestUpdateSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real", "images.lock")
	if err := os.Mkdir(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "images.lock")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("symlinks unsupported:", err)
	}
	if _, err := Update(link, setFn(Entry{Repo: golang, Tag: "1", Digest: dA})); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("symlink replaced: %v, %v", fi, err)
	}
	if data, _ := os.ReadFile(real); len(data) == 0 {
		t.Error("symlink target not updated")
	}
}

func TestUpdateMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope", "images.lock")
	if _, err := Update(path, func(*File) error { return nil }); err == nil {
		t.Error("Update in a missing directory succeeded")
	}
}

func TestWriteAtomicFailureCleansUp(t *testing.T) {
	dir := t.TempDir()
	// Renaming a file over a non-empty directory fails.
	target := filepath.Join(dir, "images.lock")
	if err := os.MkdirAll(filepath.Join(target, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := writeAtomic(d, target, []byte("x\n"), 0o644); err == nil {
		t.Fatal("writeAtomic over a directory succeeded")
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"images.lock"}) {
		t.Errorf("directory holds %q, want temp file removed", names)
	}
	if fi, err := os.Stat(target); err != nil || !fi.IsDir() {
		t.Errorf("target changed: %v, %v", fi, err)
	}
}

func TestUpdateConcurrent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.lock")
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = Update(path, func(f *File) error {
				// Widen the window between read and write so that a
				// missing lock would lose updates.
				time.Sleep(time.Millisecond)
				return f.Set(Entry{Repo: golang, Tag: fmt.Sprintf("v%d", i), Digest: dA})
			})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	f, _, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Entries()) != n {
		t.Errorf("file has %d entries, want %d:\n%s", len(f.Entries()), n, f.Format())
	}
	for i := range n {
		if _, ok := f.Lookup(golang, fmt.Sprintf("v%d", i)); !ok {
			t.Errorf("entry v%d lost", i)
		}
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"images.lock"}) {
		t.Errorf("directory holds %q, want only images.lock", names)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	f, data, err := ReadFile(filepath.Join(dir, "missing.lock"))
	if err != nil || data != nil || f == nil || len(f.Entries()) != 0 {
		t.Errorf("ReadFile(missing) = %v, %q, %v; want empty, nil, nil", f, data, err)
	}
	path := filepath.Join(dir, "images.lock")
	if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = ReadFile(path)
	if want := path + ":1: wrong number of fields 1; want REPOSITORY TAG DIGEST"; err == nil || err.Error() != want {
		t.Errorf("ReadFile error = %v, want %s", err, want)
	}
	if _, _, err := ReadFile(dir); err == nil {
		t.Error("ReadFile(directory) succeeded")
	}
}
