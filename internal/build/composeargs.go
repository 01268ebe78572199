package build

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ComposeInvocation is a docker compose command line, as far as pinning
// needs it: the global options that say which project it is, and the
// command.
type ComposeInvocation struct {
	Global      []string // the global options, as given
	Files       []string // -f/--file
	ProjectDir  string   // --project-directory
	EnvFiles    []string // --env-file
	Profiles    []string // --profile
	Command     string
	CommandArgs []string
}

// composeValueFlags are docker compose's global flags that take a value as
// the next argument; composeBoolFlags the others.
var (
	composeValueFlags = map[string]bool{
		"-f": true, "--file": true, "-p": true, "--project-name": true, "--project-directory": true,
		"--workdir": true, "--env-file": true, "--profile": true, "--progress": true, "--ansi": true,
		"--parallel": true,
	}
	composeBoolFlags = map[string]bool{
		"--compatibility": true, "--dry-run": true, "--all-resources": true, "--verbose": true, "--no-ansi": true,
	}
)

// ParseComposeArgs reads docker compose's global options and command.
// env looks up COMPOSE_FILE, COMPOSE_PATH_SEPARATOR, COMPOSE_ENV_FILES and
// COMPOSE_PROFILES, which stand in for the options they match when those
// are not given, as in docker compose.
func ParseComposeArgs(args []string, env func(string) (string, bool)) (*ComposeInvocation, error) {
	inv := &ComposeInvocation{}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		name, value, hasValue := strings.Cut(a, "=")
		if !hasValue && len(name) > 2 && name[1] != '-' && composeValueFlags[name[:2]] {
			name, value, hasValue = name[:2], name[2:], true // -fcompose.yaml
		}
		start := i
		switch {
		case hasValue:
		case composeValueFlags[name]:
			if i+1 >= len(args) {
				return nil, fmt.Errorf("%s needs a value", name)
			}
			i++
			value = args[i]
		case composeBoolFlags[name]:
		default:
			return nil, fmt.Errorf("unknown docker compose option %s; if it takes a value, write it as %s=VALUE", name, name)
		}
		inv.Global = append(inv.Global, args[start:i+1]...)
		switch name {
		case "-f", "--file":
			inv.Files = append(inv.Files, value)
		case "--project-directory", "--workdir":
			inv.ProjectDir = value
		case "--env-file":
			inv.EnvFiles = append(inv.EnvFiles, value)
		case "--profile":
			inv.Profiles = append(inv.Profiles, value)
		}
	}
	if i == len(args) {
		return nil, fmt.Errorf("no docker compose command given (imglock compose [OPTIONS] COMMAND [ARGS...])")
	}
	inv.Command, inv.CommandArgs = args[i], args[i+1:]
	if len(inv.Files) == 0 {
		if v, ok := env("COMPOSE_FILE"); ok && v != "" {
			sep, ok := env("COMPOSE_PATH_SEPARATOR")
			if !ok || sep == "" {
				sep = string(os.PathListSeparator)
			}
			inv.Files = strings.Split(v, sep)
		}
	}
	if v, ok := env("COMPOSE_ENV_FILES"); ok && len(inv.EnvFiles) == 0 {
		inv.EnvFiles = strings.FieldsFunc(v, func(c rune) bool { return c == ',' })
	}
	if v, ok := env("COMPOSE_PROFILES"); ok && len(inv.Profiles) == 0 {
		inv.Profiles = strings.FieldsFunc(v, func(c rune) bool { return c == ',' })
	}
	return inv, nil
}

// ComposeFiles are the compose files the invocation reads, run in dir:
// -f (or COMPOSE_FILE) as given, else those docker compose finds in dir or
// the nearest directory above it that has one, with its override.
func (inv *ComposeInvocation) ComposeFiles(dir string, names, overrides []string) ([]string, error) {
	if len(inv.Files) > 0 {
		var out []string
		for _, f := range inv.Files {
			if f == "-" {
				return nil, fmt.Errorf("the compose file must be a file for imglock to read its references, not standard input")
			}
			if !filepath.IsAbs(f) {
				f = filepath.Join(dir, f)
			}
			out = append(out, f)
		}
		return out, nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	first := func(d string, candidates []string) string {
		for _, n := range candidates {
			if fi, err := os.Stat(filepath.Join(d, n)); err == nil && !fi.IsDir() {
				return filepath.Join(d, n)
			}
		}
		return ""
	}
	for d := abs; ; d = filepath.Dir(d) {
		if f := first(d, names); f != "" {
			out := []string{f}
			if o := first(d, overrides); o != "" {
				out = append(out, o)
			}
			return out, nil
		}
		if filepath.Dir(d) == d {
			return nil, fmt.Errorf("no compose file found in %s or above (looked for %s)", dir, strings.Join(names, ", "))
		}
	}
}

// Pins reports whether the command pulls or builds images, so that it runs
// with the pins and refuses what is not locked.
func (inv *ComposeInvocation) Pins() bool {
	switch inv.Command {
	case "build", "config", "convert", "create", "pull", "run", "up", "watch":
		return true
	}
	return false
}

// builder is the --builder a build command names, "" if none.
func (inv *ComposeInvocation) builder() string {
	if inv.Command != "build" {
		return ""
	}
	for i, a := range inv.CommandArgs {
		if a == "--" {
			break
		}
		if v, ok := strings.CutPrefix(a, "--builder="); ok {
			return v
		}
		if a == "--builder" && i+1 < len(inv.CommandArgs) {
			return inv.CommandArgs[i+1]
		}
	}
	return ""
}
