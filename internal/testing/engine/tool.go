package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imglock/imglock/internal/testing/registry"
)

// toolSource is a static program for RUN steps of test builds, whose
// images have no shell: "tool write FILE TEXT" writes TEXT and a newline
// to FILE; "tool cp SRC DST" copies a file.
const toolSource = `package main

import "os"

func main() {
	var err error
	switch a := os.Args[1:]; {
	case len(a) == 3 && a[0] == "write":
		err = os.WriteFile(a[1], []byte(a[2]+"\n"), 0o644)
	case len(a) == 3 && a[0] == "cp":
		var b []byte
		if b, err = os.ReadFile(a[1]); err == nil {
			err = os.WriteFile(a[2], b, 0o644)
		}
	default:
		os.Stderr.WriteString("usage: tool write FILE TEXT | tool cp SRC DST\n")
		os.Exit(2)
	}
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
}
`

// ToolPath is where tool images hold the program: RUN ["/bin/tool", ...].
const ToolPath = "/bin/tool"

var buildTool = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "imglock-tool-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(toolSource), 0o644); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", "tool", "main.go")
	cmd.Dir = dir
	// Static, for an image with no libc; outside any module or workspace.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the test tool: %v\n%s", err, out)
	}
	return os.ReadFile(filepath.Join(dir, "tool"))
})

// PushTool pushes to ref (a full reference) a linux/amd64 image holding
// ToolPath and /base.txt with content, as registry.Image does, for builds
// whose RUN steps must run; it returns its digest.
func PushTool(tb testing.TB, ref, content string) string {
	tb.Helper()
	bin, err := buildTool()
	if err != nil {
		tb.Fatal(err)
	}
	base := []byte(content + "\n")
	layer := binLayer(tb, layerFile{ToolPath[1:], 0o755, bin}, layerFile{"base.txt", 0o644, base})
	img, err := registry.NewImage(layer, "linux/amd64", v1.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	d, err := registry.Push(ref, img)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
