package build

import (
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
