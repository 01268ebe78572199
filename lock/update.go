package lock

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
)

// ReadFile reads and parses the lockfile at path, returning the parsed
// file and the bytes read. A missing file is an empty File with nil data.
// Error messages name the file by path exactly as given.
func ReadFile(path string) (f *File, data []byte, err error) {
	data, err = os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return New(), nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	f, err = Parse(path, data)
	if err != nil {
		return nil, data, err
	}
	return f, data, nil
}

// Update performs a locked read-modify-write of the lockfile at path.
//
// It holds an exclusive advisory lock on the containing directory (the
// file itself is replaced by rename, so locking it would not exclude a
// writer that opened the new inode), removes temp files left by crashed
// runs, parses the current file (missing means empty) and calls fn on it.
// If the file does not parse, Update returns the parse error without
// calling fn; if fn fails, nothing is written. When the formatted result
// equals the bytes on disk, nothing is written and changed is false.
// Otherwise the file is replaced atomically, keeping its permissions.
func Update(path string, fn func(f *File) error) (changed bool, err error) {
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		path = resolved
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	dirFile, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer dirFile.Close()
	unlock, err := lockDir(dirFile)
	if err != nil {
		return false, fmt.Errorf("locking %s: %w", dir, err)
	}
	defer unlock()

	removeStale(dir, base)

	mode := fs.FileMode(0o644)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	f, old, err := ReadFile(path)
	if err != nil {
		return false, err
	}
	if err := fn(f); err != nil {
		return false, err
	}
	data := f.Format()
	if bytes.Equal(data, old) {
		return false, nil
	}
	if err := writeAtomic(dirFile, path, data, mode); err != nil {
		return false, err
	}
	return true, nil
}

// removeStale deletes the temp files of earlier runs that died mid-write
// (renameio names them "." + base + digits). Running writers hold the
// directory lock, so none of these are live. Failures are ignored: a
// leftover temp file is harmless.
func removeStale(dir, base string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if IsTempName(e.Name(), base) && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// IsTempName reports whether name is a temp file of a write of the file
// named base: "." + base + digits, as renameio names them.
func IsTempName(name, base string) bool {
	digits, ok := strings.CutPrefix(name, "."+base)
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}

// writeAtomic replaces path with data: a temp file in the same directory,
// synced, renamed over path, then the directory synced so the rename
// survives a crash.
func writeAtomic(dirFile *os.File, path string, data []byte, mode fs.FileMode) error {
	t, err := renameio.NewPendingFile(path, renameio.WithTempDir(filepath.Dir(path)), renameio.WithStaticPermissions(mode))
	if err != nil {
		return err
	}
	defer t.Cleanup()
	if _, err := t.Write(data); err != nil {
		return err
	}
	if err := t.CloseAtomicallyReplace(); err != nil {
		return err
	}
	// The rename is done; a failed directory sync cannot be undone.
	return syncDir(dirFile)
}
