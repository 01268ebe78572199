package build

import (
	"context"
	"os/exec"
	"testing"
)

// TestWaitOutlivesInterrupt: an interrupt for the terminal's process group
// leaves imglock running until the command exits (so that the files the
// command reads can be removed afterwards), and a termination is passed on
// to the command. The commands signal this test's own process.
func TestWaitOutlivesInterrupt(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		want         int
	}{
		// The pause lets Wait start listening before the signal comes.
		{"interrupt", `sleep 0.5; kill -INT $PPID; sleep 0.2; exit 3`, 3},
		{"termination passed on", `trap 'exit 7' TERM; sleep 0.5; kill -TERM $PPID; sleep 10 & wait`, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := Wait(exec.Command("sh", "-c", tc.script))
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.want {
				t.Errorf("exit code %d, want %d", code, tc.want)
			}
		})
	}
}

// TestClassicBuilder: DOCKER_BUILDKIT false in any spelling the docker CLI
// accepts (strconv.ParseBool) asks for the classic builder, in build and
// compose alike; unset or unreadable leaves the choice to the builder.
func TestClassicBuilder(t *testing.T) {
	for value, want := range map[string]bool{"0": true, "false": true, "FALSE": true, "f": true, "1": false, "true": false, "": false, "maybe": false} {
		env := []string{"PATH=/usr/bin", "DOCKER_BUILDKIT=" + value}
		if got := classicBuilder(env); got != want {
			t.Errorf("DOCKER_BUILDKIT=%q: classic %v, want %v", value, got, want)
		}
	}
	if classicBuilder([]string{"PATH=/usr/bin"}) {
		t.Error("no DOCKER_BUILDKIT: classic builder")
	}
	ctx := context.Background()
	if got := Detect(ctx, []string{"DOCKER_BUILDKIT=false"}, ""); got != ModeStdin {
		t.Errorf("Detect with DOCKER_BUILDKIT=false: %s, want %s", got, ModeStdin)
	}
	if got := DetectCompose(ctx, []string{"DOCKER_BUILDKIT=false"}, &ComposeInvocation{}); got != ComposeFile {
		t.Errorf("DetectCompose with DOCKER_BUILDKIT=false: %s, want %s", got, ComposeFile)
	}
}
