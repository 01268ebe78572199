package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli.md from the CLI's help")

// cliReferencePath is the command reference, generated from the CLI's own
// help so that it never drifts from it.
var cliReferencePath = filepath.Join("..", "..", "docs", "cli.md")

// cliReference is docs/cli.md: imglock --help and each command's --help.
func cliReference(t *testing.T) string {
	t.Helper()
	help := func(args ...string) string {
		var out bytes.Buffer
		app := newApp(&out, &out)
		app.HideVersion = true // the version is the build's, not the docs'
		if err := app.Run(append([]string{"imglock"}, args...)); err != nil {
			t.Fatalf("imglock %s: %v", strings.Join(args, " "), err)
		}
		return out.String()
	}
	var b strings.Builder
	b.WriteString("# imglock command reference\n\n")
	b.WriteString("Generated from the CLI's own help by `go tool task docs`; edit the help, not this file.\n\n")
	b.WriteString("```\n" + help("--help") + "```\n")
	for _, c := range newApp(nil, nil).Commands {
		b.WriteString("\n## imglock " + c.Name + "\n\n```\n" + help(c.Name, "--help") + "```\n")
	}
	return b.String()
}

// TestCLIReference fails when docs/cli.md is not what the help says.
func TestCLIReference(t *testing.T) {
	want := cliReference(t)
	if *updateDocs {
		if err := os.WriteFile(cliReferencePath, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(cliReferencePath)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("docs/cli.md is stale: run 'go tool task docs'")
	}
}
