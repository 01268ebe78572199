package build

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseComposeArgs(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	for _, tt := range []struct {
		desc string
		args []string
		env  map[string]string
		want ComposeInvocation
		err  string
	}{
		{desc: "a command alone", args: []string{"up", "-d", "web"},
			want: ComposeInvocation{Command: "up", CommandArgs: []string{"up", "-d", "web"}[1:]}},
		{desc: "global options, each form", args: []string{"-f", "a.yaml", "--file=b.yaml", "-fc.yaml", "-p", "demo", "--profile", "debug", "--env-file", "ci.env", "--project-directory=app", "--dry-run", "build", "--builder", "x"},
			want: ComposeInvocation{
				Global:   []string{"-f", "a.yaml", "--file=b.yaml", "-fc.yaml", "-p", "demo", "--profile", "debug", "--env-file", "ci.env", "--project-directory=app", "--dry-run"},
				Files:    []string{"a.yaml", "b.yaml", "c.yaml"},
				Profiles: []string{"debug"}, EnvFiles: []string{"ci.env"}, ProjectDir: "app",
				Command: "build", CommandArgs: []string{"--builder", "x"},
			}},
		{desc: "the environment stands in for options not given", args: []string{"pull"},
			env:  map[string]string{"COMPOSE_FILE": "a.yaml;b.yaml", "COMPOSE_PATH_SEPARATOR": ";", "COMPOSE_PROFILES": "x,y", "COMPOSE_ENV_FILES": "e1,e2"},
			want: ComposeInvocation{Files: []string{"a.yaml", "b.yaml"}, Profiles: []string{"x", "y"}, EnvFiles: []string{"e1", "e2"}, Command: "pull", CommandArgs: []string{}}},
		{desc: "no command", args: []string{"-f", "a.yaml"}, err: "no docker compose command given (imglock compose [OPTIONS] COMMAND [ARGS...])"},
		{desc: "a value missing", args: []string{"--profile"}, err: "--profile needs a value"},
		{desc: "an unknown option", args: []string{"--nope", "up"}, err: "unknown docker compose option --nope; if it takes a value, write it as --nope=VALUE"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			env := noEnv
			if tt.env != nil {
				env = func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
			}
			got, err := ParseComposeArgs(tt.args, env)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("ParseComposeArgs\n got %+v\nwant %+v", *got, tt.want)
			}
		})
	}
}

func TestComposeFilesFound(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"docker-compose.yml", "compose.override.yaml", "docker-compose.override.yml", "sub/deeper/.keep"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names := []string{"compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"}
	overrides := []string{"compose.override.yml", "compose.override.yaml", "docker-compose.override.yml", "docker-compose.override.yaml"}
	inv := &ComposeInvocation{Command: "up"}
	// From a directory below, as docker compose looks upward.
	got, err := inv.ComposeFiles(filepath.Join(dir, "sub", "deeper"), names, overrides)
	want := []string{filepath.Join(dir, "docker-compose.yml"), filepath.Join(dir, "compose.override.yaml")}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ComposeFiles = %q, %v; want %q", got, err, want)
	}
	inv.Files = []string{"x.yaml", "/abs/y.yaml"}
	got, err = inv.ComposeFiles(dir, names, overrides)
	want = []string{filepath.Join(dir, "x.yaml"), "/abs/y.yaml"}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ComposeFiles with -f = %q, %v; want %q", got, err, want)
	}
}
