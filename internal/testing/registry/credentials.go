package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// RunWithoutCredentials runs a package's tests with DOCKER_CONFIG pointing
// at an empty Docker config, so that authn.DefaultKeychain, which the
// resolver uses, takes no credentials (nor credential helpers) from the
// machine running them. It returns m.Run's exit code, for TestMain.
func RunWithoutCredentials(m *testing.M) int {
	dir, err := os.MkdirTemp("", "docker-config-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// A config.json of its own: without one the keychain falls back to
	// ~/.docker and Podman's auth files.
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}\n"), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	os.Setenv("DOCKER_CONFIG", dir)
	return m.Run()
}
