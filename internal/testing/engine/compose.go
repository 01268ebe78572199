package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/testing/testenv"
)

// Compose skips the test when the docker compose CLI plugin is not in the
// engine's DOCKER_CONFIG (.ci/engines.sh builds it there), or fails it
// under CI=true.
func (e Engine) Compose(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := e.Cmd(ctx, "compose", "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "Docker Compose version ") {
		testenv.Missing(tb, fmt.Sprintf("no docker compose plugin in %s/cli-plugins (%v: %s); run .ci/engines.sh", e.Config, err, strings.TrimSpace(string(out))))
	}
}

// ImageFiles reads files of an image dockerd holds, by name or ID, and
// removes the image.
func (e Engine) ImageFiles(ctx context.Context, image string, files ...string) (map[string]string, error) {
	out := map[string]string{}
	return out, readFromImage(ctx, e, image, files, out)
}

// Inspect reports whether dockerd holds an image by this reference
// (docker image inspect REF), with the output of the command.
func (e Engine) Inspect(ctx context.Context, ref string) (bool, string) {
	out, err := e.On(Classic).Cmd(ctx, "image", "inspect", "--format", "{{.Id}} {{.RepoTags}} {{.RepoDigests}}", ref).CombinedOutput()
	return err == nil, strings.TrimSpace(string(out))
}
