package main

import (
	"errors"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/imglock/imglock/internal/testing/distribution"
	"github.com/imglock/imglock/internal/testing/fwdproxy"
	"github.com/imglock/imglock/internal/testing/testenv"
	"github.com/imglock/imglock/internal/testing/tokenserver"
)

// registriesCommands are the script commands for registries as users run
// them: token auth, reached by name, through a forward proxy.
//
//	tokenreg start [-anonymous] [-user USER:PASS]... [-first-scope-only] [-lifetime D] [-host]
//	                             start a CNCF Distribution process with token auth
//	                             behind a front serving the token server at
//	                             /service/token, as Harbor does; $TOKENREG is the
//	                             front's host:port (with -host, by the name
//	                             registry.imglock.test); it stops when the script ends
//	tokenreg push [-env VAR] REF TEXT
//	                             push to $TOKENREG/REF, uncounted
//	tokenreg latency D           delay every request at the front
//	tokenregreqs reset | KIND=N...
//	                             reset or assert what reached the front, by kind
//	                             (ping, token, head, get, total)
//	fwdproxy start               run a forward proxy; $FWDPROXY is its URL, for
//	                             HTTP_PROXY and HTTPS_PROXY
//	fwdproxyreqs reset | HOST=N... | total=N
//	                             reset or assert the requests it forwarded, by the
//	                             host:port asked (a CONNECT tunnel counts once)
//
// The condition [loopback-name] holds when registry.imglock.test resolves
// to loopback only (.ci/run adds it to /etc/hosts); under CI=true a
// missing entry fails the script instead.
func registriesCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"tokenreg": cmdTokenreg,
		"tokenregreqs": countsCommand("tokenregreqs", func(ts *testscript.TestScript) requestCounter {
			return scriptTokenreg(ts).Front
		}),
		"fwdproxy":     cmdFwdproxy,
		"fwdproxyreqs": countsCommand("fwdproxyreqs", func(ts *testscript.TestScript) requestCounter { return scriptFwdproxy(ts) }),
	}
}

// scriptCondition answers the conditions the scenarios use besides
// testscript's own.
func scriptCondition(cond string) (bool, error) {
	switch cond {
	case "loopback-name":
		err := testenv.CheckLoopbackName()
		if err != nil && testenv.Required() {
			return false, err
		}
		return err == nil, nil
	}
	return false, errors.New("unknown condition " + cond)
}

const (
	tokenregKey = "tokenreg"
	fwdproxyKey = "fwdproxy"
)

type tokenregSlot struct{ r *tokenserver.Registry }
type fwdproxySlot struct{ p *fwdproxy.Proxy }

func scriptTokenreg(ts *testscript.TestScript) *tokenserver.Registry {
	r := ts.Value(tokenregKey).(*tokenregSlot).r
	if r == nil {
		ts.Fatalf("no token registry: run 'tokenreg start' first")
	}
	return r
}

func scriptFwdproxy(ts *testscript.TestScript) *fwdproxy.Proxy {
	p := ts.Value(fwdproxyKey).(*fwdproxySlot).p
	if p == nil {
		ts.Fatalf("no forward proxy: run 'fwdproxy start' first")
	}
	return p
}

const tokenregUsage = "usage: tokenreg start [-anonymous] [-user USER:PASS]... [-first-scope-only] [-lifetime D] [-host] | push [-env VAR] REF TEXT | latency D"

func cmdTokenreg(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf(tokenregUsage)
	}
	switch args[0] {
	case "start":
		tokenregStart(ts, args[1:])
	case "push":
		envVar, rest := "", args[1:]
		if len(rest) > 1 && rest[0] == "-env" {
			envVar, rest = rest[1], rest[2:]
		}
		if len(rest) != 2 {
			ts.Fatalf(tokenregUsage)
		}
		d, err := scriptTokenreg(ts).Push(rest[0], rest[1])
		ts.Check(err)
		if envVar != "" {
			ts.Setenv(envVar, d)
		}
	case "latency":
		if len(args) != 2 {
			ts.Fatalf(tokenregUsage)
		}
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		scriptTokenreg(ts).Front.SetLatency(d)
	default:
		ts.Fatalf(tokenregUsage)
	}
}

func tokenregStart(ts *testscript.TestScript, args []string) {
	var o tokenserver.RegistryOptions
	for len(args) > 0 {
		switch {
		case args[0] == "-anonymous":
			o.Tokens.Anonymous = true
		case args[0] == "-first-scope-only":
			o.Tokens.FirstScopeOnly = true
		case args[0] == "-host":
			o.Host = testenv.LoopbackName
		case args[0] == "-user" && len(args) > 1:
			user, pass, ok := strings.Cut(args[1], ":")
			if !ok || user == "" {
				ts.Fatalf("tokenreg start: -user %q: want USER:PASS", args[1])
			}
			if o.Tokens.Users == nil {
				o.Tokens.Users = map[string]string{}
			}
			o.Tokens.Users[user] = pass
			args = args[1:]
		case args[0] == "-lifetime" && len(args) > 1:
			d, err := time.ParseDuration(args[1])
			ts.Check(err)
			o.Tokens.Lifetime = d
			args = args[1:]
		default:
			ts.Fatalf(tokenregUsage)
		}
		args = args[1:]
	}
	slot := ts.Value(tokenregKey).(*tokenregSlot)
	if slot.r != nil {
		ts.Fatalf("tokenreg start: one is running already")
	}
	r, err := tokenserver.StartRegistryProcess(o)
	if errors.Is(err, distribution.ErrNoBinary) {
		ts.Fatalf("%v (to skip instead, begin the script with 'dist need' and '[!exec:$DIST_BIN] skip')", err)
	}
	ts.Check(err)
	slot.r = r
	ts.Defer(func() {
		r.Close()
		if out := r.Dist.Problems(); out != "" {
			ts.Logf("Distribution registry at %s printed:\n%s", r.Dist.Addr, out)
		}
	})
	ts.Setenv("TOKENREG", r.Addr)
}

func cmdFwdproxy(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 || args[0] != "start" {
		ts.Fatalf("usage: fwdproxy start")
	}
	slot := ts.Value(fwdproxyKey).(*fwdproxySlot)
	if slot.p != nil {
		ts.Fatalf("fwdproxy start: one is running already")
	}
	p := fwdproxy.Start()
	slot.p = p
	ts.Defer(p.Close)
	ts.Setenv("FWDPROXY", p.URL())
}
