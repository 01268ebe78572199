package resolve

import (
	"bytes"
	"context"
	"errors"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imglock/imglock/internal/testing/registry"
)

// TestReadContentAfterResolve: reading by digest after a Resolve of the
// same run reuses its connection (no second ping or token), does not
// download again an index Resolve downloaded, answers duplicates once, and
// reports a digest the registry lacks as ErrNotFound, per request.
func TestReadContentAfterResolve(t *testing.T) {
	reg := registry.Start(registry.WithTokenAuth())
	defer reg.Close()
	idx, platforms, err := reg.PushIndex("acme/multi:1", "m", "linux/amd64", "linux/arm64")
	if err != nil {
		t.Fatal(err)
	}
	r := newTestResolver(t)
	req := mustRef(t, reg.Addr+"/acme/multi:1")
	req.Platforms = []string{"linux/amd64"}
	if _, err := r.Resolve(context.Background(), []Request{req}); err != nil {
		t.Fatal(err)
	}
	reg.ResetCounts()

	repo := reg.Addr + "/acme/multi"
	const missing = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	got := r.ReadContent(context.Background(), []ContentRequest{
		{Repo: repo, Digest: idx},
		{Repo: repo, Digest: platforms["linux/arm64"]},
		{Repo: repo, Digest: platforms["linux/arm64"]},
		{Repo: repo, Digest: missing},
	})
	if len(got) != 4 {
		t.Fatalf("got %d answers, want 4", len(got))
	}
	for i, c := range got[:3] {
		if c.Err != nil || len(c.Body) == 0 {
			t.Errorf("answer %d: %v", i, c.Err)
		}
	}
	if !errors.Is(got[3].Err, ErrNotFound) {
		t.Errorf("missing digest: error %v, want ErrNotFound", got[3].Err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(got[1].Body))
	if err != nil {
		t.Fatal(err)
	}
	cfg := r.ReadContent(context.Background(), []ContentRequest{{Repo: repo, Digest: m.Config.Digest.String(), Blob: true}})
	if cfg[0].Err != nil {
		t.Fatal(cfg[0].Err)
	}
	if f, err := v1.ParseConfigFile(bytes.NewReader(cfg[0].Body)); err != nil || f.Architecture != "arm64" {
		t.Errorf("config %+v, %v; want arm64's", f, err)
	}
	// The index came from Resolve's download; arm64's manifest and the
	// missing digest were asked once each, the config once.
	if c := reg.Counts(); c["ping"] != 0 || c["other"] != 0 || c["get"] != 2 || c["blob"] != 1 || c["total"] != 3 {
		t.Errorf("requests %v, want 2 GETs and a blob, no ping or token", c)
	}
}

// TestReadContentConnects: without a Resolve before it, ReadContent pings
// and authenticates itself, once per registry.
func TestReadContentConnects(t *testing.T) {
	reg := registry.Start(registry.WithTokenAuth())
	defer reg.Close()
	a, err := reg.Push("acme/a:1", "a")
	if err != nil {
		t.Fatal(err)
	}
	b, err := reg.Push("acme/b:1", "b")
	if err != nil {
		t.Fatal(err)
	}
	got := newTestResolver(t).ReadContent(context.Background(), []ContentRequest{
		{Repo: reg.Addr + "/acme/a", Digest: a},
		{Repo: reg.Addr + "/acme/b", Digest: b},
	})
	for _, c := range got {
		if c.Err != nil {
			t.Error(c.Err)
		}
	}
	if c := reg.Counts(); c["ping"] != 1 || c["other"] != 1 || c["get"] != 2 {
		t.Errorf("requests %v, want one ping, one token, two GETs", c)
	}
}
