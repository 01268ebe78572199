package bake

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeDocker is a program named docker, first on PATH, that answers as
// docker buildx bake does: --list with a list of targets and groups, and
// --print with the definition of printed, after writing its arguments,
// one a line, to $ARGS_OUT. Without buildx it answers as the docker CLI
// does.
func fakeDocker(t *testing.T, buildx bool) (env []string, argsOut string) {
	t.Helper()
	bin := t.TempDir()
	list := `[{"name":"app"},{"name":"default","group":true},{"name":"tools","group":true},{"name":"tools-a"}]`
	script := "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done >> \"$ARGS_OUT\"\n"
	if buildx {
		script += "case \"$*\" in\n*--list*) echo '" + list + "';;\n*--print*) cat \"$DEF\";;\nesac\n"
	} else {
		script += "echo \"unknown flag: $3\" >&2\necho 'See docker --help' >&2\nexit 125\n"
	}
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out := t.TempDir()
	def := filepath.Join(out, "def.json")
	if err := os.WriteFile(def, []byte(printed), 0o644); err != nil {
		t.Fatal(err)
	}
	argsOut = filepath.Join(out, "args")
	return []string{"PATH=" + os.Getenv("PATH"), "ARGS_OUT=" + argsOut, "DEF=" + def}, argsOut
}

// TestAll: every target the files define is printed, groups left to
// buildx to expand, with the files named.
func TestAll(t *testing.T) {
	env, argsOut := fakeDocker(t, true)
	def, err := Runner{Dir: t.TempDir(), Env: env}.All(context.Background(), []string{"ci/docker-bake.hcl"})
	if err != nil {
		t.Fatal(err)
	}
	if len(def.Targets) != 6 || def.Targets["app"].Name != "app" {
		t.Errorf("targets %v", def.Targets)
	}
	args, err := os.ReadFile(argsOut)
	if err != nil {
		t.Fatal(err)
	}
	want := "buildx\nbake\n--list\ntype=targets,format=json\n--file\nci/docker-bake.hcl\n" +
		"buildx\nbake\n--print\n--file\nci/docker-bake.hcl\napp\ntools-a\n"
	if string(args) != want {
		t.Errorf("docker ran with:\n%s\nwant:\n%s", args, want)
	}
}

func TestWithoutBuildx(t *testing.T) {
	env, _ := fakeDocker(t, false)
	_, err := Runner{Dir: t.TempDir(), Env: env}.Print(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "docker buildx bake --print: docker buildx is not installed (docker says: unknown flag: --print)") {
		t.Errorf("Print without buildx: %v", err)
	}
}
