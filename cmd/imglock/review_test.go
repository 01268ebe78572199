package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/testing/registry"
)

// TestOutdatedRequests: outdated on 100 locked tags asks the registry one
// HEAD per tag and per locked digest and nothing more when none moved; the
// review of the tags that moved adds only their reads, as few as the
// images allow: two manifests for an annotated image, a config each more
// when only the config describes it, the two indexes and the used
// platform's two manifests for an annotated index.
func TestOutdatedRequests(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	now := time.Now()
	annotated := func(v string, created time.Time) registry.Meta {
		return registry.Meta{Annotations: map[string]string{
			"org.opencontainers.image.created": created.Format(time.RFC3339),
			"org.opencontainers.image.version": v,
		}}
	}
	configOnly := func(v string, created time.Time) registry.Meta {
		return registry.Meta{Created: created, Labels: map[string]string{"org.opencontainers.image.version": v}}
	}
	single := func(m registry.Meta, text string) (remote.Taggable, error) {
		return registry.ImageWithMeta(text, "linux/amd64", m)
	}
	index := func(m registry.Meta, text string) (remote.Taggable, error) {
		idx, _, err := registry.IndexWithMeta(text, m, "linux/amd64", "linux/arm64")
		return idx, err
	}
	for _, tc := range []struct {
		desc      string
		meta      func(string, time.Time) registry.Meta
		image     func(registry.Meta, string) (remote.Taggable, error)
		platforms string // imglock.toml's
		heads     int    // per tag: the tag, the locked digest, a platform line
		perMove   map[string]int
	}{
		{"annotated images", annotated, single, "", 2, map[string]int{"get": 2}},
		{"images described by their config", configOnly, single, "", 2, map[string]int{"get": 2, "blob": 2}},
		{"annotated indexes, linux/amd64 locked", annotated, index, `platforms = ["linux/amd64"]`, 3, map[string]int{"get": 4}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			reg := registry.Start()
			defer reg.Close()
			dir := t.TempDir()
			var dockerfile strings.Builder
			const tags = 100
			push := func(i int, v string, created time.Time) {
				t.Helper()
				img, err := tc.image(tc.meta(v, created), fmt.Sprintf("img%d %s", i, v))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := reg.PushImage(fmt.Sprintf("repo%02d/img:%d", i%10, i), img); err != nil {
					t.Fatal(err)
				}
			}
			for i := range tags {
				push(i, "1.0", now.Add(-30*24*time.Hour))
				fmt.Fprintf(&dockerfile, "FROM %s/repo%02d/img:%d AS s%d\n", reg.Addr, i%10, i, i)
			}
			writeFile(t, filepath.Join(dir, "Dockerfile"), dockerfile.String())
			writeFile(t, filepath.Join(dir, "imglock.toml"), tc.platforms+"\n")
			imglock(t, dir, "lock")

			reg.ResetCounts()
			out := imglock(t, dir, "outdated")
			if !strings.Contains(out, "100 locked tags, none moved upstream") {
				t.Errorf("outdated:\n%s", out)
			}
			none := reg.Counts()
			if want := 1 + tc.heads*tags; none["ping"] != 1 || none["head"] != tc.heads*tags || none["total"] != want {
				t.Errorf("none moved: requests %v, want a ping and %d HEADs only", none, tc.heads*tags)
			}

			const moved = 5
			for i := range moved {
				push(i*20, "1.1", now.Add(-5*24*time.Hour))
			}
			reg.ResetCounts()
			out = imglock(t, dir, "outdated")
			if n := strings.Count(out, "    version: 1.0 -> 1.1\n"); n != moved {
				t.Errorf("outdated reviewed %d tags, want %d:\n%s", n, moved, out)
			}
			five := reg.Counts()
			want := map[string]int{"ping": 1, "head": tc.heads * tags, "get": 0, "blob": 0}
			total := 0
			for k, n := range tc.perMove {
				want[k] += moved * n
			}
			for k, n := range want {
				total += n
				if five[k] != n {
					t.Errorf("5 moved: %s requests = %d, want %d (%v)", k, five[k], n, five)
				}
			}
			if five["total"] != total {
				t.Errorf("5 moved: %d requests, want %d", five["total"], total)
			}
			t.Logf("outdated on %d tags (%s): none moved %d requests %v; %d moved %d requests %v",
				tags, tc.desc, none["total"], none, moved, five["total"], five)
		})
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// imglock runs the CLI in-process in dir and wants exit 0.
func imglock(t *testing.T, dir string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(append([]string{"imglock", "-C", dir}, args...), &stdout, &stderr); code != diag.ExitOK {
		t.Fatalf("imglock %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	}
	return stdout.String()
}
