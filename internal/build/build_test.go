package build

import (
	"reflect"
	"strings"
	"testing"
)

func noEnv(string) (string, bool) { return "", false }

func TestParseArgs(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "FROM_ENV" {
			return "env-value", true
		}
		return "", false
	}
	inv, err := ParseArgs([]string{
		"-t", "app", "--file=build/Dockerfile", "--build-arg", "A=1=2", "--build-arg", "FROM_ENV",
		"--build-arg", "UNSET", "--pull", "--progress=plain", "--builder", "b1", "--unknown=x", ".",
	}, env)
	if err != nil {
		t.Fatal(err)
	}
	if inv.File != "build/Dockerfile" || inv.Context != "." || inv.Builder != "b1" {
		t.Errorf("got %+v", inv)
	}
	want := map[string]string{"A": "1=2", "FROM_ENV": "env-value"}
	if !reflect.DeepEqual(inv.BuildArgs, want) {
		t.Errorf("build args %v, want %v", inv.BuildArgs, want)
	}
	// The context may come first; added flags go before it, -f is dropped.
	inv, err = ParseArgs([]string{"ctx", "-f", "Dockerfile.x", "-t", "-f"}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := inv.argsWith([]string{"--x", "y"}, true); !reflect.DeepEqual(got, []string{"--x", "y", "ctx", "-t", "-f"}) {
		t.Errorf("argsWith = %q", got)
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-t", "app"}, "no build context given"},
		{[]string{".", "other"}, "more than one build context given: . other"},
		{[]string{"--frob", "."}, "unknown docker build flag --frob; if it takes a value, write it as --frob=VALUE"},
		{[]string{".", "-t"}, "-t needs a value"},
	} {
		_, err := ParseArgs(tc.args, noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseArgs(%q) error %v, want %q", tc.args, err, tc.want)
		}
	}
	for _, args := range [][]string{{"-f", "-", "."}, {"-"}, {"https://github.com/a/b.git"}} {
		inv, err := ParseArgs(args, noEnv)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := inv.DockerfilePath(""); err == nil {
			t.Errorf("DockerfilePath for %q: no error", args)
		}
	}
}

func TestBuildkitVersion(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want [2]int
		ok   bool
	}{
		{"Name: b\nNodes:\nBuildKit version: v0.34.2\n", [2]int{0, 34}, true},
		{"Buildkit:  v0.9.3\n", [2]int{0, 9}, true},
		{"Buildkit: 20.10.24\n", [2]int{}, false},
		{"Name: default\nDriver: docker\n", [2]int{}, false},
		{"Name: default\nBuildKit version: v0.8+unknown\n", [2]int{0, 8}, true},
		// Several nodes: the oldest decides what the build can use.
		{"Nodes:\nBuildKit version: v0.34.2\nBuildKit version: v0.11.6\nBuildKit version: v0.13.0\n", [2]int{0, 11}, true},
	} {
		got, ok := buildkitVersion([]byte(tc.out))
		if got != tc.want || ok != tc.ok {
			t.Errorf("buildkitVersion(%q) = %v %v, want %v %v", tc.out, got, ok, tc.want, tc.ok)
		}
	}
	if !less([2]int{0, 8}, namedContextsSince) || less([2]int{0, 10}, namedContextsSince) ||
		!less([2]int{0, 11}, sourcePoliciesSince) || less([2]int{0, 12}, sourcePoliciesSince) || less([2]int{1, 0}, sourcePoliciesSince) {
		t.Error("version comparison")
	}
}
