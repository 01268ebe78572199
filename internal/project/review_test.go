package project

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/review"
	"github.com/imglock/imglock/internal/testing/registry"
)

// pushMeta pushes an index of platforms holding content, described by m.
func pushMeta(t *testing.T, reg *registry.Registry, ref, content string, m registry.Meta, platforms ...string) string {
	t.Helper()
	idx, _, err := registry.IndexWithMeta(content, m, platforms...)
	if err != nil {
		t.Fatal(err)
	}
	d, err := reg.PushImage(ref, idx)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func created(at time.Time) registry.Meta {
	return registry.Meta{Annotations: map[string]string{
		"org.opencontainers.image.created": at.Format(time.RFC3339),
		"org.opencontainers.image.version": at.Format("2006.01.02.150405"),
	}}
}

// TestUpgradeHoldsBack: under a cooldown, a tag whose new digest is too
// young stays where it is (the lock byte for byte) and an old enough one
// moves; with unused platforms ignored, a tag whose used platform did not
// change stays too. Every move is reviewed either way.
func TestUpgradeHoldsBack(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	now := time.Now()
	pushMeta(t, reg, "acme/young:1", "y1", created(now.Add(-30*24*time.Hour)), "linux/amd64")
	pushMeta(t, reg, "acme/ripe:1", "r1", created(now.Add(-30*24*time.Hour)), "linux/amd64")
	arm := created(now.Add(-30 * 24 * time.Hour))
	arm.Content = map[string]string{"linux/arm64": "arm v1"}
	pushMeta(t, reg, "acme/multi:1", "m1", arm, "linux/amd64", "linux/arm64")
	refs := []dockerfile.Reference{
		ref(t, "Dockerfile", 1, reg.Addr+"/acme/young:1"),
		ref(t, "Dockerfile", 2, reg.Addr+"/acme/ripe:1"),
		ref(t, "Dockerfile", 3, reg.Addr+"/acme/multi:1"),
	}
	path := filepath.Join(t.TempDir(), "images.lock")
	if _, err := testProject(t, refs, []string{"linux/amd64"}, path).Tidy(context.Background()); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	pushMeta(t, reg, "acme/young:1", "y2", created(now.Add(-time.Hour)), "linux/amd64")
	ripe := pushMeta(t, reg, "acme/ripe:1", "r2", created(now.Add(-5*24*time.Hour)), "linux/amd64")
	arm.Content = map[string]string{"linux/arm64": "arm v2"}
	pushMeta(t, reg, "acme/multi:1", "m1", arm, "linux/amd64", "linux/arm64")

	p := testProject(t, refs, []string{"linux/amd64"}, path)
	p.Policy = review.Policy{MinAge: 72 * time.Hour, IgnoreUnusedPlatforms: true}
	res, err := p.Upgrade(context.Background(), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	holds := map[string]review.Hold{}
	for _, r := range res.Reviews {
		holds[r.Repo] = r.Hold
	}
	if len(res.Reviews) != 3 || holds[reg.Addr+"/acme/young"] != review.HoldTooYoung || holds[reg.Addr+"/acme/ripe"] != review.NotHeld ||
		holds[reg.Addr+"/acme/multi"] != review.HoldUnusedPlatforms {
		t.Errorf("holds %v, want young too young, ripe moved, multi unused", holds)
	}
	after, _ := os.ReadFile(path)
	var moved []string
	for _, c := range res.Changes {
		moved = append(moved, c.Repo+" "+c.Key+" "+c.New)
	}
	if len(res.Changes) != 2 || res.Changes[0].New != ripe {
		t.Errorf("changes %v, want ripe:1 and its platform line", moved)
	}
	if string(after) == string(before) {
		t.Error("the lock did not change")
	}
	if len(res.Unchanged) != 0 {
		t.Errorf("unchanged %v, want none: the held tags did move upstream", res.Unchanged)
	}
}
