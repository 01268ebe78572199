package main

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/imglock/imglock/internal/testing/distribution"
	"github.com/imglock/imglock/internal/testing/testenv"
)

// distributionCommands are the script commands backed by the CNCF
// Distribution registry, run as a separate process (internal/testing/distribution):
//
//	dist need                     set $DIST_BIN to the registry binary, for the
//	                              line [!exec:$DIST_BIN] skip 'MESSAGE' (custom
//	                              commands cannot skip); with none, $DIST_BIN is
//	                              "registry" and, under CI=true, the script fails
//	dist start [-auth USER:PASS]... [-tls] [-delete]
//	                              start a registry: $DIST is its host:port and,
//	                              with -tls, $DIST_CA the PEM file of its CA;
//	                              it stops when the script ends
//	dist push [-env VAR] [-platforms P,...] [-meta FILE] REF TEXT
//	                              push an image holding /base.txt=TEXT (or an
//	                              index, a described image: as push does) to
//	                              $DIST/REF with the first user's credentials
//	                              and the CA; -env sets VAR (and VAR_SHORT,
//	                              VAR_OS_ARCH) to its digest
//	dist delete REPO@DIGEST       delete that manifest (REPO without the host)
//	                              from $DIST, as its first user; needs -delete
//	dist stop                     stop it: requests to $DIST are then refused,
//	                              and 'dist start' may start another
func distributionCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"dist": cmdDist,
	}
}

const distKey = "dist"

// distSlot holds the script's Distribution registry once 'dist start' ran;
// TestScripts' Setup gives each script one.
type distSlot struct{ r *distribution.Registry }

func scriptDist(ts *testscript.TestScript) *distSlot { return ts.Value(distKey).(*distSlot) }

const distUsage = "usage: dist need | start [-auth USER:PASS]... [-tls] [-delete] | push [-env VAR] [-platforms P,...] [-meta FILE] REF TEXT | delete REPO@DIGEST | stop"

func cmdDist(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf(distUsage)
	}
	switch args[0] {
	case "need":
		distNeed(ts, args[1:])
	case "start":
		distStart(ts, args[1:])
	case "push":
		distPush(ts, args[1:])
	case "delete":
		distDelete(ts, args[1:])
	case "stop":
		if len(args) != 1 {
			ts.Fatalf(distUsage)
		}
		distRegistry(ts).Close()
		scriptDist(ts).r = nil
	default:
		ts.Fatalf(distUsage)
	}
}

func distNeed(ts *testscript.TestScript, args []string) {
	if len(args) != 0 {
		ts.Fatalf(distUsage)
	}
	bin, err := distribution.Binary()
	switch {
	case err == nil:
		ts.Setenv("DIST_BIN", bin)
	case errors.Is(err, distribution.ErrNoBinary) && !testenv.Required():
		ts.Logf("%v", err)
		// A bare name not on PATH: [!exec:$DIST_BIN] holds.
		ts.Setenv("DIST_BIN", "registry")
	default:
		ts.Fatalf("%v", err)
	}
}

func distStart(ts *testscript.TestScript, args []string) {
	var opts distribution.Options
	for len(args) > 0 {
		switch args[0] {
		case "-auth":
			if len(args) < 2 {
				ts.Fatalf(distUsage)
			}
			user, pass, ok := strings.Cut(args[1], ":")
			if !ok || user == "" {
				ts.Fatalf("dist start: -auth %q: want USER:PASS", args[1])
			}
			if opts.Htpasswd == nil {
				opts.Htpasswd = map[string]string{}
			}
			opts.Htpasswd[user] = pass
			args = args[2:]
		case "-tls":
			opts.TLS = true
			args = args[1:]
		case "-delete":
			opts.Delete = true
			args = args[1:]
		default:
			ts.Fatalf(distUsage)
		}
	}
	if old := scriptDist(ts).r; old != nil {
		ts.Fatalf("dist start: a registry is already running at %s; run 'dist stop' first", old.Addr)
	}

	r, err := distribution.StartProcess(opts)
	if errors.Is(err, distribution.ErrNoBinary) {
		ts.Fatalf("%v (to skip instead, begin the script with 'dist need' and '[!exec:$DIST_BIN] skip')", err)
	}
	ts.Check(err)
	scriptDist(ts).r = r
	ts.Defer(func() {
		r.Close()
		if out := r.Problems(); out != "" {
			ts.Logf("Distribution registry at %s printed:\n%s", r.Addr, out)
		}
	})
	ts.Setenv("DIST", r.Addr)
	ts.Setenv("DIST_CA", r.CAFile)
}

func distPush(ts *testscript.TestScript, args []string) {
	envVar, img, perPlatform, ok := pushArgs(ts, args)
	if !ok {
		ts.Fatalf(distUsage)
	}
	digest, err := distRegistry(ts).PushImage(args[len(args)-2], img)
	ts.Check(err)
	setDigestEnv(ts, envVar, digest, perPlatform)
}

func distRegistry(ts *testscript.TestScript) *distribution.Registry {
	r := scriptDist(ts).r
	if r == nil {
		ts.Fatalf("no Distribution registry: run 'dist start' first")
	}
	return r
}

// distDelete deletes one manifest by digest through the registry API, as a
// registry's garbage collection or an administrator would.
func distDelete(ts *testscript.TestScript, args []string) {
	if len(args) != 1 {
		ts.Fatalf(distUsage)
	}
	repo, digest, ok := strings.Cut(args[0], "@")
	if !ok || repo == "" || digest == "" {
		ts.Fatalf("dist delete: %q: want REPO@DIGEST", args[0])
	}
	r := distRegistry(ts)
	req, err := http.NewRequest(http.MethodDelete, r.URL()+"/v2/"+repo+"/manifests/"+digest, nil)
	ts.Check(err)
	if user, pass := r.Credentials(); user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := r.Client().Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusAccepted {
		ts.Fatalf("dist delete %s: %s: %s", args[0], resp.Status, strings.TrimSpace(string(body)))
	}
}
