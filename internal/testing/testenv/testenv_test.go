package testenv

import (
	"slices"
	"testing"
)

func TestEnviron(t *testing.T) {
	t.Setenv("IMGLOCK_TESTENV_DROP", "x")
	t.Setenv("IMGLOCK_KEEP", "y")
	env := Environ("OTHER_", "IMGLOCK_TESTENV_")
	if slices.Contains(env, "IMGLOCK_TESTENV_DROP=x") || !slices.Contains(env, "IMGLOCK_KEEP=y") {
		t.Errorf("Environ kept the wrong variables: %v", env)
	}
}
