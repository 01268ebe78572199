package engine

import (
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imglock/imglock/internal/testing/registry"
	"github.com/imglock/imglock/internal/testing/testenv"
)

// EnvDockerfileFrontend names the Dockerfile frontend binary .ci/engines.sh
// builds, for tests of the "# syntax=" directive.
const EnvDockerfileFrontend = "IMGLOCK_DOCKERFILE_FRONTEND"

// PushFrontend pushes to ref an image of BuildKit's Dockerfile frontend, as
// a "# syntax=" directive names one (docker/dockerfile:1 upstream), and
// returns its digest. It skips the test where the binary is not configured
// (fails it under CI=true).
func PushFrontend(tb testing.TB, ref string) string {
	tb.Helper()
	path := os.Getenv(EnvDockerfileFrontend)
	if path == "" {
		testenv.Missing(tb, "no Dockerfile frontend binary: set "+EnvDockerfileFrontend+" as .ci/engines.sh prints it")
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	l := binLayer(tb, layerFile{"bin/dockerfile-frontend", 0o755, bin})
	// What BuildKit and buildx read from a frontend image, as the upstream
	// image declares it: where to start it, that it needs no network, and
	// what it can do (buildx refuses --build-context without "contexts").
	img, err := registry.NewImage(l, "linux/amd64", v1.Config{
		Entrypoint: []string{"/bin/dockerfile-frontend"},
		Labels: map[string]string{
			"moby.buildkit.frontend.network.none": "true",
			"moby.buildkit.frontend.caps":         "moby.buildkit.frontend.inputs,moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts",
		},
	})
	if err != nil {
		tb.Fatal(err)
	}
	d, err := registry.Push(ref, img)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
