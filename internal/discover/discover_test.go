package discover

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestIsDockerfile(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"Dockerfile", true},
		{"Containerfile", true},
		{"app.Dockerfile", true},
		{"web.Containerfile", true},
		{"Dockerfile.dev", true},
		{"Containerfile.prod", true},
		{"dockerfile", true},
		{"api.dockerfile", true},
		{"a/b/Dockerfile.ci", true},
		{"Dockerfile.dockerignore", false},
		{"app.Dockerfile.dockerignore", false},
		{".dockerignore", false},
		{"Dockerfiles", false},
		{"MyDockerfile", false},
		{"Dockerfile-dev", false},
		{"docker-compose.yml", false},
		{"README.md", false},
		{"", false},
		// Source files named after the package that parses Dockerfiles.
		{"dockerfile.go", false},
		{"internal/dockerfile/dockerfile_test.go", false},
		{"containerfile.rs", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsDockerfile(tt.name); got != tt.want {
				t.Errorf("IsDockerfile(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

// tree writes files (ending in "/" for an empty directory) under a new
// temporary directory.
func tree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("FROM alpine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var allForms = []string{
	"Dockerfile",
	"Containerfile",
	"build/app.Dockerfile",
	"build/web.Containerfile",
	"deploy/Dockerfile.prod",
	"deploy/Containerfile.dev",
	"services/api/Dockerfile",
	"services/api/README.md",
	"services/api/Dockerfile.dockerignore",
	"docs/notes.txt",
}

func TestFindNameForms(t *testing.T) {
	root := tree(t, allForms...)
	got, err := Find(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Containerfile",
		"Dockerfile",
		"build/app.Dockerfile",
		"build/web.Containerfile",
		"deploy/Containerfile.dev",
		"deploy/Dockerfile.prod",
		"services/api/Dockerfile",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Find\n got %q\nwant %q", got, want)
	}
}

func TestFindSkipsDirs(t *testing.T) {
	for _, dir := range []string{".git", "vendor", "node_modules", "testdata"} {
		t.Run(dir, func(t *testing.T) {
			root := tree(t,
				"Dockerfile",
				dir+"/Dockerfile",
				dir+"/sub/app.Dockerfile",
				"pkg/"+dir+"/Dockerfile",
				"pkg/"+dir+"x/Dockerfile",
			)
			got, err := Find(root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"Dockerfile", "pkg/" + dir + "x/Dockerfile"}
			if !slices.Equal(got, want) {
				t.Errorf("Find\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestFindExclude(t *testing.T) {
	root := tree(t,
		"Dockerfile",
		"Dockerfile.dev",
		"examples/Dockerfile",
		"examples/nested/Dockerfile",
		"services/api/Dockerfile",
		"services/api/Dockerfile.dev",
		"services/web/Dockerfile",
	)
	for _, tt := range []struct {
		desc    string
		exclude []string
		want    []string
	}{
		{
			desc:    "directory by base name",
			exclude: []string{"examples"},
			want:    []string{"Dockerfile", "Dockerfile.dev", "services/api/Dockerfile", "services/api/Dockerfile.dev", "services/web/Dockerfile"},
		},
		{
			desc:    "file by base name",
			exclude: []string{"*.dev"},
			want:    []string{"Dockerfile", "examples/Dockerfile", "examples/nested/Dockerfile", "services/api/Dockerfile", "services/web/Dockerfile"},
		},
		{
			desc:    "relative path",
			exclude: []string{"services/*/Dockerfile", "examples/nested/"},
			want:    []string{"Dockerfile", "Dockerfile.dev", "examples/Dockerfile", "services/api/Dockerfile.dev"},
		},
		{
			desc:    "directory by relative path",
			exclude: []string{"services/api"},
			want:    []string{"Dockerfile", "Dockerfile.dev", "examples/Dockerfile", "examples/nested/Dockerfile", "services/web/Dockerfile"},
		},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := Find(root, Options{Exclude: tt.exclude})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Find\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestFindBadPattern(t *testing.T) {
	root := tree(t, "Dockerfile")
	if _, err := Find(root, Options{Exclude: []string{"[a-"}}); err == nil {
		t.Error("want an error for a malformed pattern")
	}
}

func TestFindSymlinks(t *testing.T) {
	root := tree(t, "real/Dockerfile", "Dockerfile")
	outside := tree(t, "Dockerfile")
	links := map[string]string{
		"linked-dir":         filepath.Join(root, "real"),
		"outside-dir":        outside,
		"app.Dockerfile":     filepath.Join(root, "Dockerfile"),
		"gone.Dockerfile":    filepath.Join(root, "missing"),
		"dir.Dockerfile":     filepath.Join(root, "real"),
		"real/Dockerfile.ln": "Dockerfile",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	got, err := Find(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Dockerfile", "app.Dockerfile", "real/Dockerfile", "real/Dockerfile.ln"}
	if !slices.Equal(got, want) {
		t.Errorf("Find\n got %q\nwant %q", got, want)
	}

	// A symlinked root is walked.
	linkRoot := filepath.Join(t.TempDir(), "root")
	if err := os.Symlink(outside, linkRoot); err != nil {
		t.Fatal(err)
	}
	got, err = Find(linkRoot, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"Dockerfile"}) {
		t.Errorf("Find via symlinked root = %q", got)
	}
}

func TestFindErrors(t *testing.T) {
	if _, err := Find(filepath.Join(t.TempDir(), "nope"), Options{}); err == nil {
		t.Error("want an error for a missing root")
	}
	root := tree(t, "Dockerfile")
	if _, err := Find(filepath.Join(root, "Dockerfile"), Options{}); err == nil {
		t.Error("want an error for a file root")
	}
}

func TestFindEmpty(t *testing.T) {
	got, err := Find(tree(t, "src/", "README.md"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("got %q", got)
	}
}
