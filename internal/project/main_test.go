package project

import (
	"os"
	"testing"

	"github.com/imglock/imglock/internal/testregistry"
)

func TestMain(m *testing.M) {
	os.Exit(testregistry.RunWithoutCredentials(m))
}
