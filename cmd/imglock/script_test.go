package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/imglock/imglock/internal/testregistry"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"imglock": func() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script. Script commands:
//
//	registry start|stop        run an in-process registry; $REGISTRY is its host:port
//	push [-env VAR] REF TEXT   push an image holding /base.txt=TEXT to $REGISTRY/REF
//	                           (pushing again to the same tag re-points it upstream)
//	reqs reset | KIND=N...     reset or assert the registry's request counts
//	                           (ping, head, get, blob, other, total)
//	status N CMD ARGS...       exec CMD and assert it exits with status N
//	envsubst FILE...           replace $VAR and ${VAR} in files with the script's
//	                           variables; unset ones (Dockerfile ARGs) stay as written
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("..", "..", "testdata", "script"),
		Setup: func(env *testscript.Env) error {
			// No credentials or Docker settings from the machine running the tests.
			env.Setenv("DOCKER_CONFIG", filepath.Join(env.WorkDir, ".docker"))
			env.Setenv("GITHUB_ACTIONS", "")
			env.Values[registryKey] = &registrySlot{}
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"registry": cmdRegistry,
			"push":     cmdPush,
			"reqs":     cmdReqs,
			"envsubst": cmdEnvsubst,
			"status":   cmdStatus,
		},
	})
}

const registryKey = "registry"

// registrySlot holds the script's registry once 'registry start' ran.
type registrySlot struct{ r *testregistry.Registry }

func scriptRegistry(ts *testscript.TestScript) *testregistry.Registry {
	slot := ts.Value(registryKey).(*registrySlot)
	if slot.r == nil {
		ts.Fatalf("no registry: run 'registry start' first")
	}
	return slot.r
}

func cmdRegistry(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: registry start|stop")
	}
	switch args[0] {
	case "start":
		r := testregistry.Start()
		ts.Defer(r.Close)
		ts.Setenv("REGISTRY", r.Addr)
		ts.Value(registryKey).(*registrySlot).r = r
	case "stop":
		scriptRegistry(ts).Close()
	default:
		ts.Fatalf("usage: registry start|stop")
	}
}

func cmdPush(ts *testscript.TestScript, neg bool, args []string) {
	envVar := ""
	if len(args) > 0 && args[0] == "-env" {
		if len(args) < 2 {
			ts.Fatalf("usage: push [-env VAR] REF TEXT")
		}
		envVar, args = args[1], args[2:]
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: push [-env VAR] REF TEXT")
	}
	digest, err := scriptRegistry(ts).Push(args[0], args[1])
	ts.Check(err)
	if envVar != "" {
		ts.Setenv(envVar, digest)
	}
}

func cmdReqs(ts *testscript.TestScript, neg bool, args []string) {
	r := scriptRegistry(ts)
	if len(args) == 1 && args[0] == "reset" {
		r.Reset()
		return
	}
	if len(args) == 0 {
		ts.Fatalf("usage: reqs reset | KIND=N...")
	}
	counts := r.Counts()
	ts.Logf("registry requests: %v", counts)
	for _, a := range args {
		kind, n, ok := strings.Cut(a, "=")
		want, err := strconv.Atoi(n)
		if !ok || err != nil {
			ts.Fatalf("reqs: bad assertion %q, want KIND=N", a)
		}
		if got := counts[kind]; (got == want) == neg {
			ts.Fatalf("reqs: %s requests = %d, want %s%d", kind, got, map[bool]string{true: "not ", false: ""}[neg], want)
		}
	}
}

func cmdEnvsubst(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: envsubst FILE...")
	}
	for _, name := range args {
		data, err := os.ReadFile(ts.MkAbs(name))
		ts.Check(err)
		out := os.Expand(string(data), func(v string) string {
			if val := ts.Getenv(v); val != "" {
				return val
			}
			return "${" + v + "}"
		})
		ts.Check(os.WriteFile(ts.MkAbs(name), []byte(out), 0o644))
	}
}

func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: status N CMD ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = exit.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}
