package lock

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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

	tmpPrefix := "." + base + ".tmp-"
	removeStale(dir, tmpPrefix)

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
	if err := writeAtomic(dirFile, path, tmpPrefix, data, mode); err != nil {
		return false, err
	}
	return true, nil
}

// removeStale deletes temp files from earlier runs that died mid-write.
// Running writers hold the directory lock, so none of these are live.
// Failures are ignored: a leftover temp file is harmless.
func removeStale(dir, prefix string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func writeAtomic(dirFile *os.File, path, tmpPrefix string, data []byte, mode fs.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), tmpPrefix+"*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	// The rename is done; a failed directory sync cannot be undone by
	// removing the temp name, which no longer exists.
	return syncDir(dirFile)
}
