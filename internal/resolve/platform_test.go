package resolve

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/imglock/imglock/internal/testing/registry"
)

func TestResolvePlatformsFromIndex(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	idx, want, err := reg.PushIndex("multi:1", "m", "linux/amd64", "linux/arm64", "linux/arm/v7")
	if err != nil {
		t.Fatal(err)
	}
	req := mustRef(t, reg.Addr+"/multi:1")
	req.Platforms = []string{"linux/amd64", "linux/arm/v7"}
	reg.ResetCounts()
	got, err := newTestResolver(t).Resolve(context.Background(), []Request{req})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Digest != idx {
		t.Errorf("digest %s, want the index %s", got[0].Digest, idx)
	}
	delete(want, "linux/arm64")
	if !maps.Equal(got[0].Platforms, want) {
		t.Errorf("platforms %v, want %v", got[0].Platforms, want)
	}
	// The index is read once: no HEAD before the GET.
	if c := reg.Counts(); c["get"] != 1 || c["head"] != 0 || c["total"] != 2 {
		t.Errorf("requests %v, want one ping and one GET", c)
	}
}

func TestResolvePlatformMissingFromIndex(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	if _, _, err := reg.PushIndex("multi:1", "m", "linux/amd64", "linux/arm64"); err != nil {
		t.Fatal(err)
	}
	req := mustRef(t, reg.Addr+"/multi:1")
	req.Platforms = []string{"linux/s390x"}
	_, err := newTestResolver(t).Resolve(context.Background(), []Request{req})
	if err == nil || !strings.Contains(err.Error(), "has no linux/s390x manifest (it has linux/amd64, linux/arm64)") {
		t.Fatalf("error %v", err)
	}
}

func TestResolvePlatformOfSingleImage(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	d, err := reg.Push("single:1", "s") // linux/amd64
	if err != nil {
		t.Fatal(err)
	}
	req := mustRef(t, reg.Addr+"/single:1")
	req.Platforms = []string{"linux/amd64"}
	got, err := newTestResolver(t).Resolve(context.Background(), []Request{req})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Digest != d || got[0].Platforms["linux/amd64"] != d {
		t.Errorf("got %+v, want %s for the tag and linux/amd64", got[0], d)
	}

	req.Platforms = []string{"linux/amd64", "linux/arm64"}
	_, err = newTestResolver(t).Resolve(context.Background(), []Request{req})
	if err == nil || !strings.Contains(err.Error(), "is a single-platform image for linux/amd64; it has no linux/arm64 manifest") {
		t.Fatalf("error %v", err)
	}
}

func TestResolveByDigestReadsThatManifest(t *testing.T) {
	reg := registry.Start()
	defer reg.Close()
	old, oldPlatforms, err := reg.PushIndex("multi:1", "old", "linux/amd64", "linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := reg.PushIndex("multi:1", "new", "linux/amd64", "linux/arm64"); err != nil {
		t.Fatal(err)
	}
	req := mustRef(t, reg.Addr+"/multi:1@"+old)
	req.Platforms = []string{"linux/arm64"}
	got, err := newTestResolver(t).Resolve(context.Background(), []Request{req})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Digest != old || got[0].Platforms["linux/arm64"] != oldPlatforms["linux/arm64"] {
		t.Errorf("got %+v, want the old index %s and its arm64 manifest", got[0], old)
	}
}

func TestResolveThroughMirror(t *testing.T) {
	upstream := registry.Start()
	defer upstream.Close()
	mirror := registry.Start()
	defer mirror.Close()
	d, err := mirror.Push("acme/base:1", "served by the mirror")
	if err != nil {
		t.Fatal(err)
	}
	r := newTestResolver(t, WithRegistry(upstream.Addr, RegistryOptions{Mirror: mirror.Addr}))
	got, err := r.Resolve(context.Background(), []Request{mustRef(t, upstream.Addr+"/acme/base:1")})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Ref.Repo != upstream.Addr+"/acme/base" || got[0].Digest != d {
		t.Errorf("got %+v, want the upstream name with the mirror's digest %s", got[0], d)
	}
	if c := upstream.Counts(); c["total"] != 0 {
		t.Errorf("upstream got requests %v, want none", c)
	}
}

func TestSamePlatform(t *testing.T) {
	for _, tc := range []struct {
		want, have string
		ok         bool
	}{
		{"linux/amd64", "linux/amd64", true},
		{"linux/arm64", "linux/arm64/v8", true},
		{"linux/arm64/v8", "linux/arm64", true},
		{"linux/arm/v7", "linux/arm", true},
		{"linux/arm/v6", "linux/arm", false},
		{"linux/arm/v6", "linux/arm/v7", false},
		{"linux/amd64", "windows/amd64", false},
		{"linux/amd64", "linux/amd64/v1", true},
		{"not a platform", "not a platform", true},
	} {
		if got := SamePlatform(tc.want, tc.have); got != tc.ok {
			t.Errorf("SamePlatform(%s, %s) = %v, want %v", tc.want, tc.have, got, tc.ok)
		}
	}
}
