package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/testing/registry"
)

// readMeta reads a file describing a test image (push -meta FILE), one
// setting a line, blank lines and # comments skipped:
//
//	created TIME                config created time
//	annotation KEY VALUE        on each platform manifest and its index entry
//	index-annotation KEY VALUE  on the index itself
//	label KEY VALUE             config label
//	env KEY=VALUE               config Env
//	content PLATFORM TEXT       what that platform's /base.txt holds
//	attestation TEXT            an attestation manifest in the index
//	pad N                       a layer of N incompressible bytes
//
// A TIME is RFC 3339, epoch (1970-01-01T00:00:00Z, as reproducible builds
// write it) or now[+-DURATION], relative to the script's $NOW; a VALUE of
// the latter form is written as RFC 3339.
func readMeta(ts *testscript.TestScript, file string) registry.Meta {
	data, err := os.ReadFile(ts.MkAbs(file))
	ts.Check(err)
	now := scriptNow(ts)
	var m registry.Meta
	put := func(mp *map[string]string, k, v string) {
		if *mp == nil {
			*mp = map[string]string{}
		}
		(*mp)[k] = v
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, rest, _ := strings.Cut(line, " ")
		key, value, _ := strings.Cut(rest, " ")
		bad := func(err error) {
			ts.Fatalf("%s:%d: %v", file, i+1, err)
		}
		switch kind {
		case "created":
			t, err := metaTime(now, rest)
			if err != nil {
				bad(err)
			}
			m.Created = t
		case "annotation", "index-annotation", "label":
			if t, err := metaTime(now, value); err == nil && strings.HasPrefix(value, "now") {
				value = t.Format(time.RFC3339)
			}
			switch kind {
			case "annotation":
				put(&m.Annotations, key, value)
			case "index-annotation":
				put(&m.IndexAnnotations, key, value)
			default:
				put(&m.Labels, key, value)
			}
		case "env":
			m.Env = append(m.Env, rest)
		case "content":
			put(&m.Content, key, value)
		case "attestation":
			m.Attestation = rest
		case "pad":
			n, err := strconv.Atoi(rest)
			if err != nil {
				bad(err)
			}
			m.Pad = n
		default:
			bad(fmt.Errorf("unknown setting %q", kind))
		}
	}
	return m
}

// metaTime reads RFC 3339, epoch, or now[+-DURATION].
func metaTime(now time.Time, s string) (time.Time, error) {
	switch {
	case s == "epoch":
		return time.Unix(0, 0).UTC(), nil
	case strings.HasPrefix(s, "now"):
		if s == "now" {
			return now, nil
		}
		d, err := time.ParseDuration(strings.TrimPrefix(s[3:], "+"))
		return now.Add(d), err
	}
	return time.Parse(time.RFC3339, s)
}

// setDigestEnv sets VAR to a pushed digest, VAR_SHORT to it cut as imglock
// prints it, and VAR_OS_ARCH[_VARIANT] (and its _SHORT) to each platform's
// manifest digest.
func setDigestEnv(ts *testscript.TestScript, envVar, digest string, perPlatform map[string]string) {
	if envVar == "" {
		return
	}
	ts.Setenv(envVar, digest)
	ts.Setenv(envVar+"_SHORT", imageref.ShortDigest(digest))
	for p, d := range perPlatform {
		ts.Setenv(envVar+"_"+strings.NewReplacer("/", "_").Replace(p), d)
		ts.Setenv(envVar+"_"+strings.NewReplacer("/", "_").Replace(p)+"_SHORT", imageref.ShortDigest(d))
	}
}

// scriptNow is the time a script's relative times count from: $NOW, set on
// first use to the current minute, so that times a script computes and
// times imglock prints (to the minute) agree.
func scriptNow(ts *testscript.TestScript) time.Time {
	if s := ts.Getenv("NOW"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		ts.Check(err)
		return t
	}
	now := time.Now().UTC().Truncate(time.Minute)
	ts.Setenv("NOW", now.Format(time.RFC3339))
	return now
}

// cmdTimefmt is 'timefmt VAR TIME': VAR gets TIME (as readMeta reads it) as
// imglock prints times (2006-01-02 15:04 UTC), VAR_RFC3339 as JSON has it.
func cmdTimefmt(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: timefmt VAR TIME")
	}
	t, err := metaTime(scriptNow(ts), args[1])
	ts.Check(err)
	ts.Setenv(args[0], t.UTC().Format("2006-01-02 15:04 UTC"))
	ts.Setenv(args[0]+"_RFC3339", t.UTC().Format(time.RFC3339))
}
