//go:build !unix

package lock

import (
	"os"
	"sync"
)

// Without flock only writers within this process are serialised.
var processLock sync.Mutex

func lockDir(*os.File) (unlock func(), err error) {
	processLock.Lock()
	return processLock.Unlock, nil
}

// Directories cannot be synced portably here.
func syncDir(*os.File) error { return nil }
