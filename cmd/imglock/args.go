package main

import (
	"strings"

	"github.com/urfave/cli/v2"
)

// interspersed rewrites argv so that flags may come anywhere, as Docker
// users type them (imglock ls rootfs/Dockerfile-chroot --build-arg X=Y):
// urfave/cli stops reading flags at the first positional argument. The
// flags of the command, and the app's own given after the command, move
// in front of the positional arguments, each with its value; "--" ends
// the flags. A command that reads its own arguments (build) is left alone.
func interspersed(app *cli.App, argv []string) []string {
	if len(argv) < 2 {
		return argv
	}
	global := valueFlags(app.Flags)
	out := []string{argv[0]}
	i := 1
	// The app's flags before the command.
	for i < len(argv) && strings.HasPrefix(argv[i], "-") && argv[i] != "--" {
		out = append(out, argv[i])
		if takes, ok := global[flagName(argv[i])]; ok && takes && !strings.Contains(argv[i], "=") && i+1 < len(argv) {
			out = append(out, argv[i+1])
			i++
		}
		i++
	}
	if i >= len(argv) {
		return out
	}
	cmd := app.Command(argv[i])
	if cmd == nil || cmd.SkipFlagParsing {
		return append(out, argv[i:]...)
	}
	own := valueFlags(cmd.Flags)
	var appFlags, flags, positional []string
	for j := i + 1; j < len(argv); j++ {
		a := argv[j]
		if a == "--" {
			positional = append(positional, argv[j:]...)
			break
		}
		takes, isOwn := own[flagName(a)]
		takesGlobal, isGlobal := global[flagName(a)]
		switch {
		case !strings.HasPrefix(a, "-") || a == "-":
			positional = append(positional, a)
			continue
		case isOwn || !isGlobal:
			// An unknown flag stays with the command, which reports it.
			flags = append(flags, a)
		default:
			appFlags = append(appFlags, a)
			takes = takesGlobal
		}
		if takes && !strings.Contains(a, "=") && j+1 < len(argv) {
			j++
			if isOwn || !isGlobal {
				flags = append(flags, argv[j])
			} else {
				appFlags = append(appFlags, argv[j])
			}
		}
	}
	out = append(append(out, appFlags...), argv[i])
	return append(append(out, flags...), positional...)
}

// valueFlags maps each name of flags (without dashes) to whether it takes
// a value.
func valueFlags(flags []cli.Flag) map[string]bool {
	out := map[string]bool{}
	for _, f := range flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, name := range f.Names() {
			out[name] = !isBool
		}
	}
	return out
}

// flagName is the name of a flag argument: --build-arg=A=b is build-arg.
func flagName(arg string) string {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return name
}
