package main

import (
	"bytes"
	"testing"

	"github.com/imglock/imglock/internal/diag"
)

// The project pins its own Dockerfile's bases; verify must pass on the
// repository itself, offline, as the README's first command does.
func TestProjectLockVerifies(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"imglock", "-C", "../..", "verify"}, &stdout, &stderr); code != diag.ExitOK {
		t.Fatalf("imglock verify on the repository: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if got, want := stdout.String(), "../../images.lock: 2 references verified\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
}
