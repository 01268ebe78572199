// Package build runs a container build with every base image pinned from
// images.lock: it reads docker build's arguments, finds the Dockerfile the
// way docker does, and injects the pins as a source policy that denies any
// other image (BuildKit >= 0.12), as named build contexts (BuildKit >=
// 0.10), or as a rewritten Dockerfile on standard input (older builders).
//
// It is the build wrapper of imglock build, bake and compose: it reads the
// builder's arguments, chooses the pin mode, and makes the exact command
// the builder runs; for compose it also writes the override file that
// carries the pins.
package build

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Invocation is a docker build command line, as far as pinning needs it.
type Invocation struct {
	Args      []string          // every argument as given, in order
	tokens    []token           // Args grouped: a flag with its value, or a positional argument
	File      string            // -f/--file ("" when not given)
	Builder   string            // --builder ("" when not given)
	Context   string            // the build context argument
	BuildArgs map[string]string // --build-arg values that the Dockerfile sees
	Platforms []string          // --platform values, each OS/ARCH[/VARIANT]; none for the default
	Target    string            // --target ("" for the last stage)
}

// valueFlags are the docker build and docker buildx build flags that take
// a value as the next argument; the rest are booleans. A flag unknown here
// must be written FLAG=VALUE, so that its value is never taken for the
// build context.
var valueFlags = map[string]bool{
	"-f": true, "--file": true, "-t": true, "--tag": true, "--build-arg": true,
	"--target": true, "--platform": true, "--progress": true, "-o": true, "--output": true,
	"--cache-from": true, "--cache-to": true, "--label": true, "--secret": true, "--ssh": true,
	"--network": true, "--add-host": true, "--iidfile": true, "--metadata-file": true,
	"--build-context": true, "--allow": true, "--attest": true, "--shm-size": true,
	"--ulimit": true, "--cgroup-parent": true, "--isolation": true, "-m": true, "--memory": true,
	"--memory-swap": true, "--cpu-period": true, "--cpu-quota": true, "-c": true, "--cpu-shares": true,
	"--cpuset-cpus": true, "--cpuset-mems": true, "--builder": true, "--annotation": true,
	"--call": true, "--security-opt": true, "--no-cache-filter": true,
}

var boolFlags = map[string]bool{
	"--no-cache": true, "--pull": true, "-q": true, "--quiet": true, "--rm": true,
	"--force-rm": true, "--squash": true, "--load": true, "--push": true, "--compress": true,
	"--disable-content-trust": true, "--check": true, "--sbom": true, "--provenance": true,
}

// TakesValue reports whether a docker build option takes the next argument
// as its value (-t app, --build-arg A=b).
func TakesValue(arg string) bool { return valueFlags[arg] }

// ParseArgs reads docker build arguments. env looks up the value of a bare
// --build-arg NAME, as docker does.
func ParseArgs(args []string, env func(string) (string, bool)) (*Invocation, error) {
	inv := &Invocation{Args: args, BuildArgs: map[string]string{}}
	var positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "-" || !strings.HasPrefix(a, "-") {
			positional = append(positional, a)
			inv.tokens = append(inv.tokens, token{raw: args[i : i+1]})
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		tok := token{flag: name, raw: args[i : i+1]}
		switch {
		case hasValue:
		case valueFlags[name]:
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%s needs a value", name)
			}
			tok.raw = args[i : i+2]
			i++
			value = args[i]
		case boolFlags[name]:
		default:
			return nil, fmt.Errorf("unknown docker build flag %s; if it takes a value, write it as %s=VALUE", name, name)
		}
		inv.tokens = append(inv.tokens, tok)
		switch name {
		case "-f", "--file":
			inv.File = value
		case "--builder":
			inv.Builder = value
		case "--target":
			inv.Target = value
		case "--platform":
			for _, p := range strings.Split(value, ",") {
				if p = strings.TrimSpace(p); p != "" {
					inv.Platforms = append(inv.Platforms, p)
				}
			}
		case "--build-arg":
			k, v, ok := strings.Cut(value, "=")
			if !ok {
				if v, ok = env(k); !ok {
					continue
				}
			}
			inv.BuildArgs[k] = v
		}
	}
	switch {
	case len(positional) == 0:
		return nil, errors.New("no build context given (docker build [OPTIONS] PATH)")
	case len(positional) > 1:
		return nil, fmt.Errorf("more than one build context given: %s", strings.Join(positional, " "))
	}
	inv.Context = positional[0]
	return inv, nil
}

// DockerfilePath finds the Dockerfile as docker run in dir does: -f as
// given, else CONTEXT/Dockerfile, else CONTEXT/dockerfile. The path is
// relative to dir, as docker gets it.
func (inv *Invocation) DockerfilePath(dir string) (string, error) {
	switch {
	case inv.File == "-":
		return "", errors.New("the Dockerfile must be a file for imglock to read its references, not standard input")
	case inv.Context == "-" || strings.Contains(inv.Context, "://") || strings.HasPrefix(inv.Context, "git@"):
		return "", fmt.Errorf("build context %s: imglock build needs a local directory", inv.Context)
	case inv.File != "":
		return inv.File, nil
	}
	for _, name := range []string{"Dockerfile", "dockerfile"} {
		p := filepath.Join(inv.Context, name)
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			return p, nil
		}
	}
	return filepath.Join(inv.Context, "Dockerfile"), nil
}

// token is one flag with its value, or one positional argument.
type token struct {
	flag string   // "" for a positional argument
	raw  []string // as given: ["-t", "app"], ["--pull"], ["--file=x"], ["."]
}

// argsWith is the arguments with extra flags put before the build context
// (docker takes options there) and, when dropFile is set, without
// -f/--file and its value.
func (inv *Invocation) argsWith(extra []string, dropFile bool) []string {
	var out []string
	for _, t := range inv.tokens {
		switch {
		case dropFile && (t.flag == "-f" || t.flag == "--file"):
		case t.flag == "":
			out = append(append(out, extra...), t.raw...)
		default:
			out = append(out, t.raw...)
		}
	}
	return out
}
