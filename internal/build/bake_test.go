package build

import (
	"slices"
	"strings"
	"testing"

	"github.com/imglock/imglock/lock"
)

func bakeTargetsFor(t *testing.T, dockerfiles map[string]string) []BakeTarget {
	t.Helper()
	f, _ := argvLock(t)
	if err := f.Set(lock.Entry{Repo: "docker.io/library/node", Tag: "latest", Digest: "sha256:" + strings.Repeat("6", 64)}); err != nil {
		t.Fatal(err)
	}
	var out []BakeTarget
	for _, name := range []string{"app", "node"} {
		refs, stages, err := pullsOf(name+".Dockerfile", []byte(dockerfiles[name]), nil)
		if err != nil {
			t.Fatal(err)
		}
		pins, err := Lookup(refs, f, "images.lock")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, BakeTarget{Name: name, Pins: pins, Stages: stages})
	}
	return out
}

var bakeDockerfiles = map[string]string{
	"app":  argvDockerfile,
	"node": "FROM node AS node\nRUN npm ci\nFROM node\n",
}

func TestBakePlan(t *testing.T) {
	targets := bakeTargetsFor(t, bakeDockerfiles)
	user := []string{"-f", "docker-bake.hcl", "--set", "*.platform=linux/amd64", "app", "node"}

	plan, err := NewBakePlan(slices.Clone(user), targets, ModePolicy)
	if err != nil {
		t.Fatal(err)
	}
	// One policy for every target: the user's command as given.
	if want := append([]string{"docker", "buildx", "bake"}, user...); !slices.Equal(plan.Argv, want) {
		t.Errorf("argv %q, want %q", plan.Argv, want)
	}
	policy := string(plan.Policy.JSON())
	for _, image := range []string{"docker.io/library/alpine:3.20@", "docker.io/library/node:latest@", "docker.io/docker/dockerfile:1@"} {
		if !strings.Contains(policy, `"docker-image://`+image) {
			t.Errorf("the policy does not pin %s:\n%s", image, policy)
		}
	}

	// Named contexts: --set values for each target after the user's
	// options; node cannot be one, since it is also the stage's name.
	_, err = NewBakePlan(slices.Clone(user), targets, ModeContexts)
	if err == nil || !strings.Contains(err.Error(), "node.Dockerfile:1: bake target node: node is not pinned: node is also a stage's name") {
		t.Errorf("contexts mode with a stage named node: %v", err)
	}
	plan, err = NewBakePlan(slices.Clone(user), targets[:1], ModeContexts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(plan.Argv[:3+len(user)], append([]string{"docker", "buildx", "bake"}, user...)) {
		t.Errorf("argv %q does not start with the user's command", plan.Argv)
	}
	set := plan.Argv[3+len(user):]
	for _, s := range set {
		if !strings.HasPrefix(s, "--set=app.args.") && !strings.HasPrefix(s, "--set=app.contexts.") {
			t.Errorf("pin %q", s)
		}
	}
	if len(set) != 5 || plan.Policy != nil {
		t.Errorf("%d --set values, policy %v; want 5 and none:\n%q", len(set), plan.Policy, set)
	}

	if _, err := NewBakePlan(user, targets, ModeStdin); err == nil || !strings.Contains(err.Error(), "this builder takes neither") {
		t.Errorf("stdin mode: %v", err)
	}
}
