package main

import (
	"errors"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/imglock/imglock/internal/testing/faultproxy"
	"github.com/imglock/imglock/internal/testing/registry"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"imglock": func() { os.Exit(run(os.Args, os.Stdout, os.Stderr)) },
	})
}

// TestScripts runs the CLI scenarios in testdata/script. Script commands:
//
//	registry start|stop        run an in-process registry; $REGISTRY is its host:port
//	push [-env VAR] [-platforms P,...] [-meta FILE] REF TEXT
//	                           push an image holding /base.txt=TEXT to $REGISTRY/REF, or an
//	                           index of one image per platform, described by FILE
//	                           (annotations, labels, env, created: see readMeta); VAR gets
//	                           the digest, VAR_SHORT it cut short and VAR_OS_ARCH[_VARIANT]
//	                           each platform's (pushing again to the same tag re-points it
//	                           upstream)
//	reqs reset | KIND=N...     reset or assert the registry's request counts
//	                           (ping, head, get, blob, other, total)
//	status N CMD ARGS...       exec CMD and assert it exits with status N
//	envsubst FILE...           replace $VAR and ${VAR} in files with the script's
//	                           variables; unset ones (Dockerfile ARGs) stay as written
//	timefmt VAR TIME           VAR gets TIME (RFC 3339, epoch, now-48h) as imglock prints
//	                           it, VAR_RFC3339 as JSON has it; relative times count from
//	                           $NOW, the minute the script first used one
//	proxy start                run a faultproxy in front of the registry; $PROXY is
//	                           its host:port (images named $PROXY/... go through it)
//	proxy latency DURATION     delay every request through the proxy
//	proxy fail N STATUS [RETRY_AFTER]
//	                           answer the next N manifest requests with STATUS
//	proxy reset N              reset the connection of the next N manifest requests
//	proxy stall N              leave the next N manifest requests unanswered
//	proxy strip on|off         remove Docker-Content-Digest from responses
//	proxy all on|off           let faults hit every request, not only manifests
//	proxy clear                drop the faults not yet applied
//	proxyreqs reset | KIND=N...
//	                           reset or assert the proxy's request counts, faulted
//	                           requests included (kinds as for reqs)
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("..", "..", "testdata", "script"),
		Setup: func(env *testscript.Env) error {
			// No credentials or Docker settings from the machine running the tests.
			env.Setenv("DOCKER_CONFIG", filepath.Join(env.WorkDir, ".docker"))
			env.Setenv("GITHUB_ACTIONS", "")
			env.Values[registryKey] = &registrySlot{}
			env.Values[proxyKey] = &proxySlot{}
			env.Values[distKey] = &distSlot{}
			return nil
		},
		Cmds: scriptCommands(),
	})
}

// scriptCommands are the commands the scenarios use besides testscript's own.
func scriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"registry":  cmdRegistry,
		"push":      cmdPush,
		"reqs":      countsCommand("reqs", func(ts *testscript.TestScript) requestCounter { return scriptRegistry(ts) }),
		"envsubst":  cmdEnvsubst,
		"status":    cmdStatus,
		"proxy":     cmdProxy,
		"proxyreqs": countsCommand("proxyreqs", func(ts *testscript.TestScript) requestCounter { return scriptProxy(ts) }),
		"timefmt":   cmdTimefmt,
	}
	maps.Copy(cmds, distributionCommands())
	return cmds
}

const registryKey = "registry"

// registrySlot holds the script's registry once 'registry start' ran.
type registrySlot struct{ r *registry.Registry }

func scriptRegistry(ts *testscript.TestScript) *registry.Registry {
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
		r := registry.Start()
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
	const usage = "usage: push [-env VAR] [-platforms OS/ARCH,...] [-meta FILE] REF TEXT"
	envVar, img, perPlatform, ok := pushArgs(ts, args)
	if neg || !ok {
		ts.Fatalf(usage)
	}
	digest, err := scriptRegistry(ts).PushImage(args[len(args)-2], img)
	ts.Check(err)
	setDigestEnv(ts, envVar, digest, perPlatform)
}

// pushArgs reads [-env VAR] [-platforms OS/ARCH,...] [-meta FILE] REF TEXT
// and builds the image (or index) to push: registry.Image, registry.Index,
// or with -meta their described forms (readMeta).
func pushArgs(ts *testscript.TestScript, args []string) (envVar string, img remote.Taggable, perPlatform map[string]string, ok bool) {
	platforms, meta := "", ""
	for len(args) > 2 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-env":
			envVar = args[1]
		case "-platforms":
			platforms = args[1]
		case "-meta":
			meta = args[1]
		default:
			return "", nil, nil, false
		}
		args = args[2:]
	}
	if len(args) != 2 {
		return "", nil, nil, false
	}
	text := args[1]
	var err error
	switch {
	case platforms == "" && meta == "":
		img, err = registry.Image(text, "linux/amd64")
	case platforms == "":
		img, err = registry.ImageWithMeta(text, "linux/amd64", readMeta(ts, meta))
	case meta == "":
		img, perPlatform, err = registry.Index(text, strings.Split(platforms, ",")...)
	default:
		img, perPlatform, err = registry.IndexWithMeta(text, readMeta(ts, meta), strings.Split(platforms, ",")...)
	}
	ts.Check(err)
	return envVar, img, perPlatform, true
}

// requestCounter is what reqs and proxyreqs read: the registry's or the
// proxy's request counts.
type requestCounter interface {
	Counts() map[string]int
	ResetCounts()
}

// countsCommand is a script command named name that resets or asserts the
// counts of the counter the script has.
func countsCommand(name string, counter func(*testscript.TestScript) requestCounter) func(*testscript.TestScript, bool, []string) {
	return func(ts *testscript.TestScript, neg bool, args []string) {
		c := counter(ts)
		if len(args) == 1 && args[0] == "reset" {
			c.ResetCounts()
			return
		}
		if len(args) == 0 {
			ts.Fatalf("usage: %s reset | KIND=N...", name)
		}
		counts := c.Counts()
		ts.Logf("%s: %v", name, counts)
		for _, a := range args {
			kind, n, ok := strings.Cut(a, "=")
			want, err := strconv.Atoi(n)
			if !ok || err != nil {
				ts.Fatalf("%s: bad assertion %q, want KIND=N", name, a)
			}
			if got := counts[kind]; (got == want) == neg {
				ts.Fatalf("%s: %s requests = %d, want %s%d", name, kind, got, map[bool]string{true: "not ", false: ""}[neg], want)
			}
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

const proxyKey = "proxy"

// proxySlot holds the script's fault proxy once 'proxy start' ran.
type proxySlot struct{ p *faultproxy.Proxy }

func scriptProxy(ts *testscript.TestScript) *faultproxy.Proxy {
	slot := ts.Value(proxyKey).(*proxySlot)
	if slot.p == nil {
		ts.Fatalf("no proxy: run 'proxy start' first")
	}
	return slot.p
}

const proxyUsage = "usage: proxy start | latency DURATION | fail N STATUS [RETRY_AFTER] | reset N | stall N | strip on|off | all on|off | clear"

func cmdProxy(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf(proxyUsage)
	}
	count := func() int {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			ts.Fatalf("proxy %s: bad count %q", args[0], args[1])
		}
		return n
	}
	onOff := func() bool {
		if args[1] != "on" && args[1] != "off" {
			ts.Fatalf("proxy %s: want on or off, not %q", args[0], args[1])
		}
		return args[1] == "on"
	}
	switch {
	case args[0] == "start" && len(args) == 1:
		p := faultproxy.Start(scriptRegistry(ts).Addr)
		ts.Defer(p.Close)
		ts.Setenv("PROXY", p.Addr)
		ts.Value(proxyKey).(*proxySlot).p = p
	case args[0] == "latency" && len(args) == 2:
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		scriptProxy(ts).SetLatency(d)
	case args[0] == "fail" && (len(args) == 3 || len(args) == 4):
		code, err := strconv.Atoi(args[2])
		if err != nil || code < 100 || code > 599 {
			ts.Fatalf("proxy fail: bad status %q", args[2])
		}
		retryAfter := ""
		if len(args) == 4 {
			retryAfter = args[3]
		}
		scriptProxy(ts).Fail(count(), code, retryAfter)
	case args[0] == "reset" && len(args) == 2:
		scriptProxy(ts).Reset(count())
	case args[0] == "stall" && len(args) == 2:
		scriptProxy(ts).Stall(count())
	case args[0] == "strip" && len(args) == 2:
		scriptProxy(ts).StripDigest(onOff())
	case args[0] == "all" && len(args) == 2:
		scriptProxy(ts).FaultAllRequests(onOff())
	case args[0] == "clear" && len(args) == 1:
		scriptProxy(ts).ClearFaults()
	default:
		ts.Fatalf(proxyUsage)
	}
}
