package resolve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/testing/registry"
)

func TestErrorDiagKind(t *testing.T) {
	for _, tc := range []struct {
		desc string
		err  error
		want diag.Kind
	}{
		{"tag not found", fmt.Errorf("%w: r/a has no tag %q (HEAD answered 404)", ErrNotFound, "1"), diag.Input},
		{"platform missing", noPlatform("r/a:1 has no linux/s390x manifest (it has linux/amd64)"), diag.Input},
		{"wrapped further", fmt.Errorf("reading: %w", noPlatform("x")), diag.Input},
		{"unavailable", &RetryError{Attempts: 5, StatusCode: 503, Status: "503 Service Unavailable"}, diag.Registry},
		{"connection refused", &RetryError{Attempts: 5, Err: syscall.ECONNREFUSED}, diag.Registry},
		{"deadline", context.DeadlineExceeded, diag.Registry},
		{"lying registry", errors.New("registry's Docker-Content-Digest does not match the manifest it sent"), diag.Registry},
	} {
		e := &Error{Ref: "r/a:1", Err: tc.err}
		if got := e.DiagKind(); got != tc.want {
			t.Errorf("%s: DiagKind() = %v, want %v", tc.desc, got, tc.want)
		}
	}
}

// TestResolveExitCodes: what Resolve returns gives the documented exit
// code through diag.ExitCode: 2 when the registry lacks what was asked, 3
// when a registry failed, and 3 when both happened in one run.
func TestResolveExitCodes(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	if _, err := reg.Push("single:1", "s"); err != nil { // linux/amd64
		t.Fatal(err)
	}
	if _, _, err := reg.PushIndex("multi:1", "m", "linux/amd64"); err != nil {
		t.Fatal(err)
	}
	down := registry.Start()
	down.Close()

	notFound := mustRef(t, reg.Addr+"/single:nope")
	noIndexPlatform := mustRef(t, reg.Addr+"/multi:1")
	noIndexPlatform.Platforms = []string{"linux/s390x"}
	noSinglePlatform := mustRef(t, reg.Addr+"/single:1")
	noSinglePlatform.Platforms = []string{"linux/arm64"}
	unreachable := mustRef(t, down.Addr+"/a/b:1")

	for _, tc := range []struct {
		desc   string
		reqs   []Request
		is     error
		code   int
		reason string
	}{
		{"tag not found", []Request{notFound}, ErrNotFound, diag.ExitInput, `has no tag "nope"`},
		{"index lacks the platform", []Request{noIndexPlatform}, ErrNoPlatform, diag.ExitInput, "has no linux/s390x manifest (it has linux/amd64)"},
		{"single image of another platform", []Request{noSinglePlatform}, ErrNoPlatform, diag.ExitInput,
			"is a single-platform image for linux/amd64; it has no linux/arm64 manifest"},
		{"registry down", []Request{unreachable}, syscall.ECONNREFUSED, diag.ExitRegistry, "connection refused"},
		{"both", []Request{notFound, unreachable}, ErrNotFound, diag.ExitRegistry, "connection refused"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			_, err := newTestResolver(t, WithRetry(RetryPolicy{Attempts: 1})).Resolve(context.Background(), tc.reqs)
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if got := diag.ExitCode(err); got != tc.code {
				t.Errorf("exit code %d, want %d, for %v", got, tc.code, err)
			}
			if err == nil || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %v does not say %q", err, tc.reason)
			}
		})
	}
}
