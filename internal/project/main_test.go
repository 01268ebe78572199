package project

import (
	"os"
	"testing"

	"github.com/imglock/imglock/internal/testing/registry"
)

func TestMain(m *testing.M) {
	os.Exit(registry.RunWithoutCredentials(m))
}
