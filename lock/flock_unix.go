//go:build unix

package lock

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockDir takes an exclusive flock on the directory. Each os.Open creates
// a new open file description, so this also excludes other goroutines of
// the same process.
func lockDir(dir *os.File) (unlock func(), err error) {
	fd := int(dir.Fd())
	for {
		err = unix.Flock(fd, unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return func() { unix.Flock(fd, unix.LOCK_UN) }, nil
}

func syncDir(dir *os.File) error {
	return dir.Sync()
}
