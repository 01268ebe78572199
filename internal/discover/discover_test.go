package discover

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/bmatcuk/doublestar/v4"
)

func TestIsDockerfile(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		// The plain names, in either case.
		{"Dockerfile", true},
		{"Containerfile", true},
		{"dockerfile", true},
		{"containerfile", true},
		{"DOCKERFILE", true},
		{"DockerFile", true},
		{"a/b/Dockerfile", true},
		{`a\b\Dockerfile`, runtime.GOOS == "windows"},

		// Dockerfile.*, as moby/moby, open-telemetry/opentelemetry-demo and
		// creack/pty name theirs.
		{"Dockerfile.simple", true},
		{"Dockerfile.windows", true},
		{"Dockerfile.client", true},
		{"Dockerfile.dind", true},
		{"Dockerfile.cypress", true},
		{"Dockerfile.golang", true},
		{"integration/build/testdata/Dockerfile.TestBuildMultiStageCopy", true},
		{"Dockerfile.prod", true},
		{"Dockerfile.dev.local", true},
		{"Dockerfile.dist", true},
		{"DOCKERFILE.prod", true},
		{"dockerfile.test", true},
		{"Containerfile.prod", true},
		{"Containerfile.fedora", true},

		// Dockerfile-* (kubernetes/ingress-nginx's rootfs/Dockerfile-chroot)
		// and Dockerfile_*.
		{"rootfs/Dockerfile-chroot", true},
		{"Dockerfile-dev", true},
		{"Containerfile-dev", true},
		{"dockerfile-alpine3.20", true},
		{"Dockerfile_ubuntu", true},
		{"Dockerfile_arm64", true},

		// *.Dockerfile, as moby/moby's hack/dockerfiles and the
		// opentelemetry-demo's android.Dockerfile.
		{"hack/dockerfiles/generate-files.Dockerfile", true},
		{"govulncheck.Dockerfile", true},
		{"dependencies.Dockerfile", true},
		{"android.Dockerfile", true},
		{"api.dockerfile", true},
		{"web.Containerfile", true},
		{"app.prod.Dockerfile", true},
		{"Dockerfile.Dockerfile", true},
		{"r-ver_4.4.0.Dockerfile", true},

		// Templates (docker-library's Dockerfile-linux.template, kolla's
		// Dockerfile.j2) and copies to edit.
		{"Dockerfile-linux.template", false},
		{"Dockerfile-debian.template", false},
		{"Dockerfile.template", false},
		{"Dockerfile.tmpl", false},
		{"Dockerfile.tpl", false},
		{"Dockerfile.gotmpl", false},
		{"Dockerfile.in", false},
		{"Dockerfile.j2", false},
		{"Dockerfile.jinja", false},
		{"Dockerfile.jinja2", false},
		{"Dockerfile.erb", false},
		{"Dockerfile.prod.TEMPLATE", false},
		{"Dockerfile.example", false},
		{"Dockerfile.sample", false},

		// Per-Dockerfile ignore files, next to the Dockerfile they serve.
		{"Dockerfile.dockerignore", false},
		{"app.Dockerfile.dockerignore", false},
		{"Containerfile.containerignore", false},
		{".dockerignore", false},

		// Leftovers of editors and merges.
		{"Dockerfile.bak", false},
		{"Dockerfile.orig", false},
		{"Dockerfile.rej", false},
		{"Dockerfile.swp", false},
		{".Dockerfile.swp", false},
		{"Dockerfile.old", false},
		{"Dockerfile.prod.bak", false},
		{"Dockerfile~", false},

		// Source, documentation and data named after Dockerfiles, as
		// moby/moby's vendored buildkit has frontend/dockerfile/version/dockerfile.go.
		{"dockerfile.go", false},
		{"vendor/github.com/moby/buildkit/frontend/dockerfile/version/dockerfile.go", false},
		{"internal/dockerfile/dockerfile_test.go", false},
		{"dockerfile_test.py", false},
		{"dockerfile-parser.js", false},
		{"dockerfile.ts", false},
		{"containerfile.rs", false},
		{"Dockerfile.md", false},
		{"Dockerfile.README.txt", false},
		{"Dockerfile.json", false},
		{"Dockerfile.yaml", false},
		{"Dockerfile.yml", false},
		{"Dockerfile.sh", false},
		{"Dockerfile.nix", false},
		{"dockerfile.svg", false},
		{"Dockerfile.tar.gz", false},
		{"dockerfile.test.ts.snap", false},

		// Not the names at all.
		{"Dockerfiles", false},
		{"DockerfileBuilder.java", false},
		{"MyDockerfile", false},
		{"Dockerfile.", false},
		{"Dockerfile-", false},
		{"Dockerfile_", false},
		{".Dockerfile", false},
		{".containerfile", false},
		{"Docker", false},
		{"docker-compose.yml", false},
		{"compose.yaml", false},
		{"README.md", false},
		{"", false},
		{"/", false},
		{"DOC\u212AERFILE", false}, // the Kelvin sign is no K
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsDockerfile(tt.name); got != tt.want {
				t.Errorf("IsDockerfile(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

// The names of the Dockerfiles in the repositories the name rule was drawn
// from, and the other files there that carry a Dockerfile's name.
func TestIsDockerfileRepositories(t *testing.T) {
	for _, tt := range []struct {
		repo     string
		yes, not []string
	}{
		{
			repo: "docker/awesome-compose",
			yes:  []string{"angular/angular/Dockerfile", "nginx-flask-mysql/proxy/Dockerfile", "react-rust-postgres/frontend/Dockerfile"},
		},
		{
			repo: "moby/moby",
			yes: []string{
				"Dockerfile", "Dockerfile.simple", "Dockerfile.windows",
				"daemon/libnetwork/cmd/diagnostic/Dockerfile.client",
				"daemon/libnetwork/cmd/diagnostic/Dockerfile.dind",
				"hack/dockerfiles/generate-files.Dockerfile",
				"hack/dockerfiles/govulncheck.Dockerfile",
				"vendor/github.com/creack/pty/Dockerfile.golang",
				"vendor/go.opentelemetry.io/otel/dependencies.Dockerfile",
			},
			not: []string{
				"daemon/builder/dockerfile/builder.go",
				"hack/dockerfile/cli.sh",
				"hack/dockerfile/install/tini.installer",
				"vendor/github.com/moby/buildkit/frontend/dockerfile/version/dockerfile.go",
			},
		},
		{
			repo: "kubernetes/ingress-nginx",
			yes:  []string{"rootfs/Dockerfile", "rootfs/Dockerfile-chroot", "images/nginx/rootfs/Dockerfile"},
			not:  []string{"rootfs/etc/nginx/template/nginx.tmpl"},
		},
		{
			repo: "open-telemetry/opentelemetry-demo",
			yes:  []string{"src/frontend/Dockerfile", "src/frontend/Dockerfile.cypress", "src/react-native-app/android.Dockerfile"},
		},
		{
			repo: "docker-library/python",
			not:  []string{"Dockerfile-linux.template", "Dockerfile-windows.template"},
		},
	} {
		for _, name := range tt.yes {
			if !IsDockerfile(name) {
				t.Errorf("%s: IsDockerfile(%q) = false, want true", tt.repo, name)
			}
		}
		for _, name := range tt.not {
			if IsDockerfile(name) {
				t.Errorf("%s: IsDockerfile(%q) = true, want false", tt.repo, name)
			}
		}
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
	"deploy/Dockerfile-chroot",
	"deploy/dockerfile_ci",
	"deploy/Dockerfile-linux.template",
	"services/api/Dockerfile",
	"services/api/README.md",
	"internal/dockerfile/dockerfile.go",
	"services/api/Dockerfile.dockerignore",
	"docs/notes.txt",
}

func TestFindNameForms(t *testing.T) {
	root := tree(t, allForms...)
	got, err := findDockerfiles(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Containerfile",
		"Dockerfile",
		"build/app.Dockerfile",
		"build/web.Containerfile",
		"deploy/Containerfile.dev",
		"deploy/Dockerfile-chroot",
		"deploy/Dockerfile.prod",
		"deploy/dockerfile_ci",
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
			got, err := findDockerfiles(root, Options{})
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
			wantDockerfiles(t, root, Options{Exclude: tt.exclude}, tt.want)
		})
	}
}

func TestFindBadPattern(t *testing.T) {
	root := tree(t, "Dockerfile")
	if _, err := findDockerfiles(root, Options{Exclude: []string{"[a-"}}); err == nil {
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
	got, err := findDockerfiles(root, Options{})
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
	got, err = findDockerfiles(linkRoot, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"Dockerfile"}) {
		t.Errorf("Find via symlinked root = %q", got)
	}
}

func TestFindErrors(t *testing.T) {
	if _, err := findDockerfiles(filepath.Join(t.TempDir(), "nope"), Options{}); err == nil {
		t.Error("want an error for a missing root")
	}
	root := tree(t, "Dockerfile")
	if _, err := findDockerfiles(filepath.Join(root, "Dockerfile"), Options{}); err == nil {
		t.Error("want an error for a file root")
	}
}

func TestFindEmpty(t *testing.T) {
	got, err := findDockerfiles(tree(t, "src/", "README.md"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("got %q", got)
	}
}

func TestFindExcludeDoublestar(t *testing.T) {
	root := tree(t,
		"Dockerfile",
		"examples/Dockerfile",
		"examples/a/b/app.Dockerfile",
		"gen/x.Dockerfile",
		"svc/gen/y.Dockerfile",
		"svc/gen/Dockerfile",
		"svc/gen/deep/z.Dockerfile",
		"svc/Dockerfile.dev",
		"svc/api/Dockerfile.dev",
	)
	for _, tt := range []struct {
		desc    string
		exclude []string
		want    []string
	}{
		{
			desc:    "directory and everything under it",
			exclude: []string{"examples/**"},
			want:    []string{"Dockerfile", "gen/x.Dockerfile", "svc/Dockerfile.dev", "svc/api/Dockerfile.dev", "svc/gen/Dockerfile", "svc/gen/deep/z.Dockerfile", "svc/gen/y.Dockerfile"},
		},
		{
			desc:    "files in a directory at any depth",
			exclude: []string{"**/gen/*.Dockerfile"},
			want:    []string{"Dockerfile", "examples/Dockerfile", "examples/a/b/app.Dockerfile", "svc/Dockerfile.dev", "svc/api/Dockerfile.dev", "svc/gen/Dockerfile", "svc/gen/deep/z.Dockerfile"},
		},
		{
			desc:    "directory at any depth",
			exclude: []string{"**/gen", "svc/**/*.dev"},
			want:    []string{"Dockerfile", "examples/Dockerfile", "examples/a/b/app.Dockerfile"},
		},
		{
			desc:    "alternatives",
			exclude: []string{"{examples,svc}"},
			want:    []string{"Dockerfile", "gen/x.Dockerfile"},
		},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			wantDockerfiles(t, root, Options{Exclude: tt.exclude}, tt.want)
		})
	}
}

func TestFindInclude(t *testing.T) {
	root := tree(t,
		"Dockerfile",
		"README.md",
		"docker/app.Dockerfile",
		"docker/sub/web.Dockerfile",
		"docker/notes.txt",
		"docker/examples/demo.Dockerfile",
		"docker/base.Dockerfile.j2",
		"build/image.def",
		"build/Dockerfile",
		"deep/a/b/c/Dockerfile",
		"deep/a/other/Dockerfile",
		"deep/a/other/build.def",
		"services/api/Dockerfile",
		"services/api/api.dev.Dockerfile",
		"testdata/x.Dockerfile",
		"testdata/y.def",
		"vendor/y/Dockerfile",
		"vendor/y/z.def",
		"empty/",
	)
	byName := []string{
		"Dockerfile",
		"build/Dockerfile",
		"deep/a/b/c/Dockerfile",
		"deep/a/other/Dockerfile",
		"docker/app.Dockerfile",
		"docker/examples/demo.Dockerfile",
		"docker/sub/web.Dockerfile",
		"services/api/Dockerfile",
		"services/api/api.dev.Dockerfile",
	}
	with := func(extra ...string) []string {
		return slices.Sorted(slices.Values(append(slices.Clone(byName), extra...)))
	}
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(byName), func(s string) bool { return slices.Contains(drop, s) })
	}
	for _, tt := range []struct {
		desc             string
		include, exclude []string
		want             []string
	}{
		{
			desc: "no patterns: names only",
			want: byName,
		},
		{
			desc:    "globs add to discovery by name",
			include: []string{"**/*.def", "docker/*.txt"},
			want:    with("build/image.def", "deep/a/other/build.def", "docker/notes.txt"),
		},
		{
			desc:    "patterns under one directory do not narrow the walk",
			include: []string{"docker/*.txt", "build/image.def"},
			want:    with("build/image.def", "docker/notes.txt"),
		},
		{
			desc:    "a file the name rule rejects",
			include: []string{"docker/*.j2"},
			want:    with("docker/base.Dockerfile.j2"),
		},
		{
			desc:    "a pattern naming a found file adds nothing",
			include: []string{"Dockerfile", "**/Dockerfile", "docker/**/*.Dockerfile"},
			want:    byName,
		},
		{
			desc:    "a pattern without a slash is relative to the root",
			include: []string{"*.def", "*.md"},
			want:    with("README.md"),
		},
		{
			desc:    "skipped directories stay skipped",
			include: []string{"**/*.def", "testdata/**", "vendor/y/z.def"},
			want:    with("build/image.def", "deep/a/other/build.def"),
		},
		{
			desc:    "exclude removes what include adds",
			include: []string{"**/*.def"},
			exclude: []string{"build/image.def"},
			want:    with("deep/a/other/build.def"),
		},
		{
			desc:    "exclude removes what the names find",
			include: []string{"**/*.def"},
			exclude: []string{"**/examples/**", "*.dev.Dockerfile", "deep/a/other", "build"},
			want:    without("build/Dockerfile", "deep/a/other/Dockerfile", "docker/examples/demo.Dockerfile", "services/api/api.dev.Dockerfile"),
		},
		{
			desc:    "everything: files only",
			include: []string{"**"},
			exclude: []string{"deep", "docker", "services"},
			want:    []string{"Dockerfile", "README.md", "build/Dockerfile", "build/image.def"},
		},
		{
			desc:    "empty patterns are ignored",
			include: []string{"", "docker/*.txt", "./build/image.def", "empty/"},
			want:    with("build/image.def", "docker/notes.txt"),
		},
		{
			desc:    "no match",
			include: []string{"nothing/**"},
			want:    byName,
		},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			wantDockerfiles(t, root, Options{Include: tt.include, Exclude: tt.exclude}, tt.want)
		})
	}
}

func TestFindIncludeSymlinks(t *testing.T) {
	root := tree(t, "real/build.def", "other/x.def")
	for name, target := range map[string]string{
		"real/link.def":  "build.def",
		"real/gone.def":  "missing",
		"real/dir.def":   filepath.Join(root, "other"),
		"real/otherdir":  filepath.Join(root, "other"),
		"real/other.def": filepath.Join(root, "other", "x.def"),
	} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(name))); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	got, err := findDockerfiles(root, Options{Include: []string{"real/**"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"real/build.def", "real/link.def", "real/other.def"}
	if !slices.Equal(got, want) {
		t.Errorf("Find\n got %q\nwant %q", got, want)
	}
}

// Any directory may hold a Dockerfile by name, so include patterns do not
// narrow the walk: an unreadable directory outside them is still an error,
// and one Exclude skips is not read.
func TestFindWalksEveryDirectory(t *testing.T) {
	root := tree(t, "docker/a/Dockerfile", "src/Dockerfile", "docs/Dockerfile")
	locked := filepath.Join(root, "src")
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(locked, 0o755) })
	if _, err := os.ReadDir(locked); err == nil {
		t.Skip("an unreadable directory is readable here (running as root?)")
	}
	for _, opts := range []Options{
		{},
		{Include: []string{"docker/**/Dockerfile", "docs/Dockerfile"}},
	} {
		if _, err := findDockerfiles(root, opts); !errors.Is(err, fs.ErrPermission) {
			t.Errorf("findDockerfiles(%+v) error = %v, want a permission error", opts, err)
		}
	}
	got, err := findDockerfiles(root, Options{Include: []string{"docker/**"}, Exclude: []string{"src"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"docker/a/Dockerfile", "docs/Dockerfile"}; !slices.Equal(got, want) {
		t.Errorf("Find\n got %q\nwant %q", got, want)
	}
}

func TestFindBadInclude(t *testing.T) {
	root := tree(t, "Dockerfile")
	for _, opts := range []Options{
		{Include: []string{"ok/**", "[a-"}},
		{Include: []string{"a/{b"}},
		{Exclude: []string{"x\\"}},
	} {
		_, err := findDockerfiles(root, opts)
		if !errors.Is(err, doublestar.ErrBadPattern) {
			t.Errorf("findDockerfiles(%+v) error = %v, want ErrBadPattern", opts, err)
		}
	}
	_, err := findDockerfiles(root, Options{Include: []string{"[a-"}})
	if want := `include pattern "[a-": syntax error in pattern`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestIsComposeFile(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"compose.yaml", true},
		{"compose.yml", true},
		{"docker-compose.yml", true},
		{"docker-compose.yaml", true},
		{"compose.override.yml", true},
		{"compose.override.yaml", true},
		{"docker-compose.override.yml", true},
		{"docker-compose.override.yaml", true},
		{"deploy/compose.yaml", true},
		// docker compose looks files up by exact name.
		{"Compose.yaml", false},
		{"docker-compose.YML", false},
		// Other files are named with -f, or by include in imglock.toml.
		{"docker-compose.prod.yml", false},
		{"compose.dev.yaml", false},
		{"compose.json", false},
		{"compose.yaml.bak", false},
	} {
		if got := IsComposeFile(tt.name); got != tt.want {
			t.Errorf("IsComposeFile(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestFindAll: one walk finds Dockerfiles and compose files, with the same
// directories skipped and the same excludes; an included YAML file is a
// compose file, anything else included a Dockerfile.
func TestFindAll(t *testing.T) {
	root := tree(t,
		"compose.yaml",
		"compose.override.yaml",
		"Dockerfile",
		"app/docker-compose.yml",
		"app/Dockerfile",
		"app/docker-compose.prod.yml",
		"app/build.def",
		"examples/compose.yaml",
		"node_modules/x/compose.yaml",
		"testdata/compose.yaml",
	)
	got, err := FindAll(root, Options{
		Include: []string{"app/*.prod.yml", "app/*.def"},
		Exclude: []string{"examples/**"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Found{
		Dockerfiles: []string{"Dockerfile", "app/Dockerfile", "app/build.def"},
		Compose:     []string{"app/docker-compose.prod.yml", "app/docker-compose.yml", "compose.override.yaml", "compose.yaml"},
	}
	if !slices.Equal(got.Dockerfiles, want.Dockerfiles) || !slices.Equal(got.Compose, want.Compose) {
		t.Errorf("FindAll\n got %q\nwant %q", got, want)
	}
	dockerfiles, err := findDockerfiles(root, Options{Include: []string{"app/*.prod.yml", "app/*.def"}, Exclude: []string{"examples/**"}})
	if err != nil || !slices.Equal(dockerfiles, want.Dockerfiles) {
		t.Errorf("Find = %q, %v; want the Dockerfiles of FindAll, %q", dockerfiles, err, want.Dockerfiles)
	}
}

// findDockerfiles is the Dockerfiles FindAll finds.
func findDockerfiles(root string, opts Options) ([]string, error) {
	found, err := FindAll(root, opts)
	return found.Dockerfiles, err
}

// wantDockerfiles fails t unless FindAll finds exactly want under root.
func wantDockerfiles(t *testing.T, root string, opts Options, want []string) {
	t.Helper()
	got, err := findDockerfiles(root, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("FindAll\n got %q\nwant %q", got, want)
	}
}
