package project

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/internal/testing/registry"
	"github.com/imglock/imglock/lock"
)

// lockedTree pushes base:1 and other:2, locks a Dockerfile using both, and
// re-points base:1 upstream. It returns the references, the lock path and
// the old and new digests of base:1.
func lockedTree(t *testing.T, reg *registry.Registry) ([]dockerfile.Reference, string, string, string) {
	t.Helper()
	old, err := reg.Push("acme/base:1", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Push("acme/other:2", "o"); err != nil {
		t.Fatal(err)
	}
	refs := []dockerfile.Reference{
		ref(t, "Dockerfile", 1, reg.Addr+"/acme/base:1"),
		ref(t, "Dockerfile", 2, reg.Addr+"/acme/other:2"),
	}
	path := filepath.Join(t.TempDir(), "images.lock")
	if _, err := testProject(t, refs, nil, path).Tidy(context.Background()); err != nil {
		t.Fatal(err)
	}
	moved, err := reg.Push("acme/base:1", "v2")
	if err != nil {
		t.Fatal(err)
	}
	return refs, path, old, moved
}

func TestUpgrade(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	refs, path, old, moved := lockedTree(t, reg)
	before, _ := os.ReadFile(path)

	res, err := testProject(t, refs, nil, path).Upgrade(context.Background(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 1 || res.Changes[0].Old != old || res.Changes[0].New != moved {
		t.Errorf("dry run changes %+v, want base:1 %s -> %s", res.Changes, old, moved)
	}
	if len(res.Unchanged) != 1 || !strings.HasSuffix(res.Unchanged[0].Repo, "/acme/other") {
		t.Errorf("unchanged %+v, want other:2", res.Unchanged)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("dry run wrote the lock")
	}

	if _, err := testProject(t, refs, nil, path).Upgrade(context.Background(), []string{reg.Addr + "/acme/base"}, false); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	if !strings.Contains(string(after), "/acme/base 1 "+moved+"\n") {
		t.Errorf("lock after upgrade:\n%s", after)
	}
}

func TestUpgradeSelection(t *testing.T) {
	refs := []dockerfile.Reference{
		ref(t, "Dockerfile", 1, "python:3.12"),
		ref(t, "Dockerfile", 2, "python:3.11"),
		ref(t, "Dockerfile", 3, "localhost:5000/acme/base:1"),
	}
	refs[0].Written = "${BASE}"
	locked := lock.New()
	for _, r := range refs {
		if err := locked.Set(lock.Entry{Repo: r.Image.Repo, Tag: r.Image.Tag, Digest: digestA}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"python", []string{"3.12", "3.11"}},
		{"docker.io/library/python:3.11", []string{"3.11"}},
		{"${BASE}", []string{"3.12"}},
		{"python:3.12", []string{"3.12"}},
		{"localhost:5000/acme/base", []string{"1"}},
	} {
		sel, err := selectTags(refs, locked, []string{tc.name})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, r := range refs {
			if sel(keyOf(r.Image)) {
				got = append(got, r.Image.Tag)
			}
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s selects %v, want %v", tc.name, got, tc.want)
		}
	}
	if _, err := selectTags(refs, locked, []string{"redis"}); err == nil || err.Error() != "redis matches no image of the Dockerfiles" {
		t.Errorf("error %v", err)
	}
}

func TestUpgradeLeavesPinnedTags(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	refs, path, old, _ := lockedTree(t, reg)
	pinned := ref(t, "svc/Dockerfile", 4, reg.Addr+"/acme/base:1@"+old)
	res, err := testProject(t, append(refs, pinned), nil, path).Upgrade(context.Background(), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 0 || len(res.Pinned) != 1 || res.Pinned[0].File != "svc/Dockerfile" || res.Pinned[0].Line != 4 {
		t.Errorf("result %+v, want base:1 left alone, noted at svc/Dockerfile:4", res)
	}
}

func TestCheckRemote(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	refs, path, old, moved := lockedTree(t, reg)
	p := testProject(t, refs, nil, path)
	reg.ResetCounts()
	statuses, err := p.CheckRemote(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != 2 || !statuses[0].Moved() || statuses[0].Locked != old || statuses[0].Current != moved || statuses[1].Moved() {
		t.Fatalf("statuses %+v, want base:1 moved, other:2 not", statuses)
	}
	// In-process, the old manifest is still there: nothing vanished.
	if len(statuses[0].Vanished) != 0 {
		t.Errorf("vanished %v", statuses[0].Vanished)
	}
	// One ping for the registry, a HEAD by tag and by digest per tag; for
	// the tag that moved, its review: both manifests and, as they carry no
	// annotations, both configs.
	if c := reg.Counts(); c["ping"] != 1 || c["head"] != 4 || c["get"] != 2 || c["blob"] != 2 || c["total"] != 9 {
		t.Errorf("requests %v, want 1 ping, 4 HEADs, 2 GETs and 2 blobs", c)
	}
	if r := statuses[0].Review; r == nil || r.Old.Digest != old || r.New.Digest != moved || statuses[1].Review != nil {
		t.Errorf("reviews %+v, %+v; want base:1's alone", statuses[0].Review, statuses[1].Review)
	}
	vanished, drift := RemoteFindings(statuses)
	if len(vanished) != 0 || len(drift) != 1 || drift[0].Line != 1 {
		t.Errorf("findings %v %v", vanished, drift)
	}
}

func TestCheckRemoteRegistryDown(t *testing.T) {
	reg := registry.Start()
	refs, path, _, _ := lockedTree(t, reg)
	reg.Close()
	_, err := testProject(t, refs, nil, path).CheckRemote(context.Background())
	var rerr *resolve.Error
	if !errors.As(err, &rerr) || errors.Is(err, resolve.ErrNotFound) {
		t.Fatalf("error %v, want a network *resolve.Error", err)
	}
}

func TestCheckRemoteVanished(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	refs, path, old, _ := lockedTree(t, reg)
	d, err := name.NewDigest(reg.Addr + "/acme/base@" + old)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(d); err != nil {
		t.Fatal(err)
	}
	statuses, err := testProject(t, refs, nil, path).CheckRemote(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses[0].Vanished) != 1 || statuses[0].Vanished[0] != old {
		t.Fatalf("vanished %v, want %s", statuses[0].Vanished, old)
	}
	vanished, _ := RemoteFindings(statuses)
	if len(vanished) != 1 || vanished[0].File != "Dockerfile" || vanished[0].Line != 1 || !strings.Contains(vanished[0].Msg, "locked digest "+old+" no longer exists") {
		t.Errorf("vanished findings %v", vanished)
	}
}
