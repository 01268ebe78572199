package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/build"
	"github.com/imglock/imglock/internal/diag"
)

// The formats of imglock contexts, besides formatJSON.
const (
	formatBuildPushAction = "build-push-action"
	formatBakeSet         = "bake-set"
	formatPolicy          = "policy"
)

func contextsCommand() *cli.Command {
	return &cli.Command{
		Name:      "contexts",
		Usage:     "print the pins of one build in the form CI build tools take",
		ArgsUsage: "[--format FORMAT] [--bake-target NAME] [DOCKER BUILD OPTIONS] PATH",
		Description: `Reads docker build's options and context as imglock build does, and prints
the pins of that build instead of running it; exit 1 when an image it
pulls is not locked.

Formats:
   build-push-action  (default) one NAME=docker-image://REPO:TAG@DIGEST a
                      line, for docker/build-push-action's build-contexts
                      input or docker buildx build --build-context
   bake-set           one --set=TARGET.contexts.NAME=... or
                      --set=TARGET.args.NAME=... a line, for docker buildx
                      bake (TARGET is --bake-target, default *)
   json               each image the build pulls: where, its pin, and the
                      named context or build arg that carries it
   policy             the source policy imglock build would use, for
                      EXPERIMENTAL_BUILDKIT_SOURCE_POLICY: the strongest
                      form, which also pins the # syntax= frontend and
                      denies every other image

What a format cannot pin is a warning on stderr (an annotation under GitHub
Actions): a named context cannot pin the # syntax= frontend (pass the build
arg it names), nor an image whose name is also a stage's, which the context
would replace.`,
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			format, target, args, err := contextsOptions(c.Args().Slice())
			if err != nil {
				return err
			}
			if args == nil {
				return showHelp(c)
			}
			in, err := readBuild(c, args)
			if err != nil {
				return err
			}
			pins, err := build.Lookup(in.refs, in.lock, in.lockPath)
			if err != nil {
				return err
			}
			w := c.App.Writer
			var unpinned diag.List
			switch format {
			case formatBuildPushAction:
				var contexts map[string]string
				contexts, unpinned = build.NamedContexts(pins, in.df.Stages())
				for _, k := range slices.Sorted(maps.Keys(contexts)) {
					fmt.Fprintf(w, "%s=%s\n", k, contexts[k])
				}
			case formatBakeSet:
				var set []string
				set, unpinned = build.BakeSet(target, pins, in.df.Stages(), diag.Warning)
				for _, s := range set {
					fmt.Fprintf(w, "--set=%s\n", s)
				}
			case formatJSON:
				b, err := json.MarshalIndent(struct {
					Dockerfile string          `json:"dockerfile"`
					Pins       []build.PinJSON `json:"pins"`
				}{in.path, build.PinsJSON(pins, in.df.Stages())}, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\n", b)
			case formatPolicy:
				w.Write(build.NewPolicy(pins).JSON())
			}
			for _, d := range unpinned {
				d.Msg += "; --format policy pins it"
				fmt.Fprintln(c.App.ErrWriter, d)
			}
			if os.Getenv("GITHUB_ACTIONS") == "true" {
				annotate(c.App.ErrWriter, "warning", unpinned)
			}
			return nil
		},
	}
}

// contextsOptions takes imglock contexts' own options from the front of
// the build arguments. A nil rest asks for help.
func contextsOptions(args []string) (format, target string, rest []string, err error) {
	format, target = formatBuildPushAction, "*"
	value := func(name string) (string, bool) {
		switch a := args[0]; {
		case a == name && len(args) > 1:
			v := args[1]
			args = args[2:]
			return v, true
		case strings.HasPrefix(a, name+"="):
			args = args[1:]
			return strings.TrimPrefix(a, name+"="), true
		}
		return "", false
	}
options:
	for len(args) > 0 {
		if v, ok := value("--format"); ok {
			format = v
			continue
		}
		if v, ok := value("--bake-target"); ok {
			target = v
			continue
		}
		switch args[0] {
		case "-h", "--help":
			return "", "", nil, nil
		default:
			break options
		}
	}
	switch format {
	case formatBuildPushAction, formatBakeSet, formatJSON, formatPolicy:
	default:
		return "", "", nil, fmt.Errorf("--format %q: want %s, %s, %s or %s", format, formatBuildPushAction, formatBakeSet, formatJSON, formatPolicy)
	}
	if target == "" || strings.ContainsAny(target, ".= \t\n") {
		return "", "", nil, fmt.Errorf("--bake-target %q: want a bake target's name or a pattern", target)
	}
	if len(args) == 0 {
		return "", "", nil, fmt.Errorf("imglock contexts: no build context given (imglock contexts [OPTIONS] PATH)")
	}
	return format, target, args, nil
}
