package compose

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"

	"github.com/imglock/imglock/internal/discover"
	"github.com/imglock/imglock/internal/dockerfile"
)

// writeTree writes files (name -> content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// load loads the project of the given files (relative to dir), naming
// files relative to dir in messages.
func load(t *testing.T, dir string, o Options, files ...string) (*Project, error) {
	t.Helper()
	for _, f := range files {
		o.Files = append(o.Files, filepath.Join(dir, f))
	}
	o.Name = func(abs string) string {
		rel, err := filepath.Rel(dir, abs)
		if err != nil {
			return abs
		}
		return filepath.ToSlash(rel)
	}
	return Load(context.Background(), o)
}

// images formats what a project pulls, one per line:
// FILE:LINE KIND WRITTEN -> EXPANDED [platforms] pinnable.
func images(p *Project) string {
	var out []string
	for _, i := range p.Images {
		s := fmt.Sprintf("%s:%d %s %s", i.File, i.Line, i.Kind, i.Written)
		if i.Expanded != i.Written {
			s += " -> " + i.Expanded
		}
		if len(i.Platforms) > 0 {
			s += " " + strings.Join(i.Platforms, ",")
		}
		if i.Pinnable {
			s += " pinnable"
		}
		out = append(out, s)
	}
	return strings.Join(out, "\n")
}

func TestLoadImages(t *testing.T) {
	for _, tt := range []struct {
		desc    string
		files   map[string]string
		opts    Options
		compose []string // default: compose.yaml
		want    string
	}{
		{
			desc:  "a plain image",
			files: map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx:1.27\n"},
			want:  "compose.yaml:3 compose-image nginx:1.27 pinnable",
		},
		{
			desc: "the override file wins",
			files: map[string]string{
				"compose.yaml":          "services:\n  web:\n    image: nginx:1.27\n  db:\n    image: postgres:16\n",
				"compose.override.yaml": "services:\n  web:\n    image: nginx:1.28\n",
			},
			compose: []string{"compose.yaml", "compose.override.yaml"},
			want:    "compose.yaml:5 compose-image postgres:16 pinnable\ncompose.override.yaml:3 compose-image nginx:1.28 pinnable",
		},
		{
			desc: "a value that is one variable from .env is at its .env line",
			files: map[string]string{
				"compose.yaml": "services:\n  cache:\n    image: ${CACHE_IMAGE}\n  db:\n    image: \"postgres:${PG:-16}\"\n  q:\n    image: ${Q_IMAGE:-rabbitmq:4}\n",
				".env":         "# images\nexport CACHE_IMAGE='redis:7'  \nPG=17 # major\n",
			},
			want: ".env:2 compose-image redis:7 pinnable\ncompose.yaml:5 compose-image postgres:${PG:-16} -> postgres:17\ncompose.yaml:7 compose-image ${Q_IMAGE:-rabbitmq:4} -> rabbitmq:4",
		},
		{
			desc: "the environment wins over .env, as in docker compose",
			files: map[string]string{
				"compose.yaml": "services:\n  cache:\n    image: ${CACHE_IMAGE}\n",
				".env":         "CACHE_IMAGE=redis:7\n",
			},
			opts: Options{Environ: []string{"CACHE_IMAGE=valkey/valkey:8"}},
			want: "compose.yaml:3 compose-image ${CACHE_IMAGE} -> valkey/valkey:8",
		},
		{
			desc: "env files given instead of .env, the last one winning",
			files: map[string]string{
				"compose.yaml": "services:\n  cache:\n    image: ${CACHE_IMAGE}\n",
				".env":         "CACHE_IMAGE=redis:7\n",
				"ci.env":       "CACHE_IMAGE=redis:6\n",
				"ci2.env":      "OTHER=1\nCACHE_IMAGE=redis:5\n",
			},
			opts: Options{EnvFiles: []string{"ci.env", "ci2.env"}},
			want: "ci2.env:2 compose-image redis:5 pinnable",
		},
		{
			desc: "every profile counts, unless profiles are given",
			files: map[string]string{
				"compose.yaml": "services:\n  web:\n    image: nginx:1\n  debug:\n    image: busybox:1\n    profiles: [debug]\n  ui:\n    image: adminer:4\n    profiles: [tools]\n",
			},
			want: "compose.yaml:5 compose-image busybox:1 pinnable\ncompose.yaml:8 compose-image adminer:4 pinnable\ncompose.yaml:3 compose-image nginx:1 pinnable",
		},
		{
			desc: "profiles given",
			files: map[string]string{
				"compose.yaml": "services:\n  web:\n    image: nginx:1\n  debug:\n    image: busybox:1\n    profiles: [debug]\n  ui:\n    image: adminer:4\n    profiles: [tools]\n",
			},
			opts: Options{Profiles: []string{"tools"}},
			want: "compose.yaml:8 compose-image adminer:4 pinnable\ncompose.yaml:3 compose-image nginx:1 pinnable",
		},
		{
			desc: "extends from another file",
			files: map[string]string{
				"compose.yaml":     "services:\n  web:\n    extends:\n      file: common/base.yaml\n      service: base\n  api:\n    extends: web\n",
				"common/base.yaml": "services:\n  base:\n    image: nginx:1\n",
			},
			want: "common/base.yaml:3 compose-image nginx:1 pinnable\ncommon/base.yaml:3 compose-image nginx:1 pinnable",
		},
		{
			desc: "include, with the included project's own .env",
			files: map[string]string{
				"compose.yaml":     "include:\n  - sub/compose.yaml\n  - path: [other/a.yaml, other/b.yaml]\n    env_file: other.env\nservices:\n  web:\n    image: nginx:1\n",
				"sub/compose.yaml": "services:\n  s:\n    image: ${SUB_IMAGE}\n",
				"sub/.env":         "SUB_IMAGE=busybox:1\n",
				"other/a.yaml":     "services:\n  o:\n    image: ${O}\n",
				"other/b.yaml":     "services:\n  o:\n    platform: linux/arm64\n",
				"other.env":        "O=alpine:3\n",
			},
			want: "other.env:1 compose-image alpine:3 linux/arm64 pinnable\nsub/.env:1 compose-image busybox:1 pinnable\ncompose.yaml:7 compose-image nginx:1 pinnable",
		},
		{
			desc:  "YAML anchors and merge keys: the image is where it is written",
			files: map[string]string{"compose.yaml": "x-base: &base\n  image: nginx:1\n  restart: always\nx-img: &img alpine:3\nservices:\n  web:\n    <<: *base\n  job:\n    image: *img\n"},
			want:  "compose.yaml:4 compose-image alpine:3 pinnable\ncompose.yaml:2 compose-image nginx:1 pinnable",
		},
		{
			desc: "what pull_policy pulls, and image volumes",
			files: map[string]string{"compose.yaml": `services:
  built:
    image: acme/app:dev
    build: .
  pulled:
    image: acme/app:release
    build: .
    pull_policy: always
  local:
    image: acme/local:1
    pull_policy: never
  data:
    image: nginx:1
    platform: linux/arm64
    volumes:
      - type: image
        source: acme/assets:2
        target: /usr/share/nginx/html
      - ./conf:/etc/nginx/conf.d
`},
			want: "compose.yaml:13 compose-image nginx:1 linux/arm64 pinnable\ncompose.yaml:17 compose-volume acme/assets:2 linux/arm64 pinnable\ncompose.yaml:6 compose-image acme/app:release pinnable",
		},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			files := tt.compose
			if files == nil {
				files = []string{"compose.yaml"}
			}
			p, err := load(t, dir, tt.opts, files...)
			if err != nil {
				t.Fatal(err)
			}
			if got := images(p); got != tt.want {
				t.Errorf("images\n got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tt := range []struct {
		desc  string
		files map[string]string
		want  string
	}{
		{"invalid YAML", map[string]string{"compose.yaml": "services:\n  web:\n    image: \"nginx\n"},
			"compose.yaml:3: yaml: found unexpected end of stream"},
		{"a tab", map[string]string{"compose.yaml": "services:\n\tweb:\n"},
			"compose.yaml:2: yaml: found character that cannot start any token"},
		{"unknown top-level key", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx\n\nservice:\n  db: {}\n"},
			"compose.yaml:5: additional properties 'service' not allowed"},
		{"unknown service key", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx\n    imgae: nginx\n"},
			"compose.yaml:4: services.web additional properties 'imgae' not allowed"},
		{"wrong type", map[string]string{"compose.yaml": "services:\n  web:\n    image: [nginx]\n"},
			"compose.yaml:3: services.web.image must be a string"},
		{"unknown key in the override", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx\n", "compose.override.yaml": "services:\n  web:\n    ports: [80]\n    nope: 1\n"},
			"compose.override.yaml:4: services.web additional properties 'nope' not allowed"},
		{"an unset variable makes the image blank", map[string]string{"compose.yaml": "services:\n  web:\n    image: ${WEB_IMAGE}\n"},
			"compose.yaml:3: image of service web: ${WEB_IMAGE} expands to an empty image reference (WEB_IMAGE is not set)"},
		{"an unset variable makes the image invalid", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx:${TAG}\n"},
			`compose.yaml:3: image of service web: invalid image reference "nginx:": invalid reference format (written nginx:${TAG}; TAG is not set)`},
		{"an invalid image", map[string]string{"compose.yaml": "services:\n  web:\n    image: Nginx:1\n"},
			`compose.yaml:3: image of service web: invalid image reference "Nginx:1": invalid reference format: repository name (library/Nginx) must be lowercase`},
		{"a required variable", map[string]string{"compose.yaml": "services:\n  web:\n    image: ${WEB_IMAGE:?set WEB_IMAGE}\n"},
			"compose.yaml:3: error while interpolating services.web.image: required variable WEB_IMAGE is missing a value: set WEB_IMAGE"},
		{"a bad interpolation", map[string]string{"compose.yaml": "services:\n  web:\n    image: ${WEB\n"},
			"compose.yaml:3: invalid interpolation format for services.web.image.\nYou may need to escape any $ with another $.\n${WEB"},
		{"a bad .env line", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx\n", ".env": "A=1\nB C=2\n"},
			".env:2: key cannot contain a space"},
		{"an undefined network", map[string]string{"compose.yaml": "services:\n  web:\n    image: nginx\n    networks: [front]\n"},
			`compose.yaml:2: service "web" refers to undefined network front: invalid compose project`},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			files := []string{"compose.yaml"}
			if _, ok := tt.files["compose.override.yaml"]; ok {
				files = append(files, "compose.override.yaml")
			}
			_, err := load(t, dir, Options{}, files...)
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestBuilds(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"compose.yaml": `services:
  app:
    build:
      context: ./app
      dockerfile: build/App.df
      args:
        BASE: alpine:3
        FROM_ENV:
        UNSET:
      target: final
      platforms: [linux/amd64, linux/arm64]
      additional_contexts:
        base: docker-image://busybox:1
        shared: ../shared
  inline:
    platform: linux/arm64
    build:
      context: .
      dockerfile_inline: |
        FROM alpine:3
        RUN true
      additional_contexts:
        - tools=service:app
  remote:
    build: https://github.com/acme/app.git#main
`,
		".env": "FROM_ENV=from-env\n",
	})
	p, err := load(t, dir, Options{}, "compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Builds) != 3 {
		t.Fatalf("%d builds, want 3: %+v", len(p.Builds), p.Builds)
	}
	app, inline, remote := p.Builds[0], p.Builds[1], p.Builds[2]
	if app.File != "compose.yaml" || app.Line != 3 || app.Context != filepath.Join(dir, "app") ||
		app.Dockerfile != filepath.Join(dir, "app", "build", "App.df") || app.Target != "final" ||
		!slices.Equal(app.Platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("app build: %+v", app)
	}
	if want := map[string]string{"BASE": "alpine:3", "FROM_ENV": "from-env"}; fmt.Sprint(app.Args) != fmt.Sprint(want) {
		t.Errorf("app build args %v, want %v", app.Args, want)
	}
	if c := app.Contexts["base"]; c.Value != "docker-image://busybox:1" || c.File != "compose.yaml" || c.Line != 13 {
		t.Errorf("context base: %+v", c)
	}
	// Relative to the project directory, as compose-go resolves them.
	if c := app.Contexts["shared"]; c.Value != filepath.Join(dir, "..", "shared") || c.Line != 14 {
		t.Errorf("context shared: %+v", c)
	}
	if inline.Inline != "FROM alpine:3\nRUN true\n" || inline.InlineFile != "compose.yaml" || inline.InlineLine != 20 ||
		!slices.Equal(inline.Platforms, []string{"linux/arm64"}) {
		t.Errorf("inline build: %+v", inline)
	}
	if c := inline.Contexts["tools"]; c.Value != "service:app" || c.Line != 23 {
		t.Errorf("context tools: %+v", c)
	}
	if remote.Remote == "" || remote.Context != "" {
		t.Errorf("remote build: %+v", remote)
	}
	if got := p.Problems.Error(); !strings.Contains(got, "compose.yaml:25: warning: build of service remote: the context https://github.com/acme/app.git#main is not a local directory") {
		t.Errorf("problems: %s", got)
	}
}

// formatPulls formats references as FILE:LINE KIND IMAGE [platforms].
func formatPulls(refs []dockerfile.Reference) string {
	var out []string
	for _, r := range refs {
		out = append(out, fmt.Sprintf("%s:%d %s %s %s", r.File, r.Line, r.Kind, r.Expanded, strings.Join(r.Platforms, ",")))
	}
	return strings.Join(out, "\n")
}

func TestBuildPulls(t *testing.T) {
	df := "ARG BASE=debian:12\nFROM ${BASE} AS base\nFROM golang:1.26 AS tools\nFROM base AS final\nCOPY --from=tools /go /go\nCOPY --from=busybox:1 /bin/sh /sh\nFROM scratch AS other\nCOPY --from=alpine:3 / /\n"
	f, err := dockerfile.Parse("Dockerfile", []byte(df))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		desc string
		b    Build
		want string
	}{
		{"the target and args only",
			Build{Target: "final", Args: map[string]string{"BASE": "ubuntu:24.04"}},
			"Dockerfile:2 from ubuntu:24.04 linux/amd64\nDockerfile:3 from golang:1.26 linux/amd64\nDockerfile:6 copy-from busybox:1 linux/amd64"},
		{"the default target, each platform",
			Build{Platforms: []string{"linux/arm64", "linux/amd64"}},
			"Dockerfile:8 copy-from alpine:3 linux/amd64,linux/arm64"},
		{"contexts: an image for an image, a directory for another",
			Build{Target: "final", Contexts: map[string]Context{
				"golang:1.26": {Value: "docker-image://golang:1.26-alpine", Written: "docker-image://golang:${GO}-alpine", File: "compose.yaml", Line: 9},
				"busybox:1":   {Value: "/src/busybox", File: "compose.yaml", Line: 10},
				"debian:12":   {Value: "docker-image://debian:12-slim", File: "compose.yaml", Line: 11},
			}},
			"Dockerfile:2 from debian:12-slim linux/amd64\nDockerfile:3 from golang:1.26-alpine linux/amd64"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			refs, problems := tt.b.Pulls(f, []string{dockerfile.DefaultPlatform})
			if len(problems) > 0 {
				t.Fatal(problems)
			}
			got := formatPulls(refs)
			got = strings.NewReplacer("compose.yaml:9 compose-context", "Dockerfile:3 from", "compose.yaml:11 compose-context", "Dockerfile:2 from").Replace(got)
			if got != tt.want {
				t.Errorf("Pulls\n got:\n%s\nwant:\n%s", formatPulls(refs), tt.want)
			}
		})
	}
	// Explicit platforms are recorded, except for what runs on the machine
	// that builds.
	cross, err := dockerfile.Parse("Dockerfile", []byte("# syntax=docker/dockerfile:1\nFROM --platform=$BUILDPLATFORM rust:1.64 AS build\nFROM scratch\nCOPY --from=build / /\nCOPY --from=busybox:1 / /\n"))
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := Build{Platforms: []string{"wasi/wasm"}}.Pulls(cross, nil)
	if got, want := formatPulls(refs), "Dockerfile:1 syntax docker/dockerfile:1 \nDockerfile:2 from rust:1.64 \nDockerfile:5 copy-from busybox:1 wasi/wasm"; got != want {
		t.Errorf("cross-platform build\n got:\n%s\nwant:\n%s", got, want)
	}

	// The context's reference is at its line, written as written there.
	b := Build{Target: "tools", Contexts: map[string]Context{"golang:1.26": {Value: "docker-image://golang:1.26-alpine", Written: "docker-image://golang:${GO}-alpine", File: "compose.yaml", Line: 9}}}
	refs, _ = b.Pulls(f, []string{dockerfile.DefaultPlatform})
	if len(refs) != 1 || refs[0].File != "compose.yaml" || refs[0].Line != 9 || refs[0].Kind != KindContext || refs[0].Written != "golang:${GO}-alpine" {
		t.Errorf("context reference: %+v", refs)
	}
}

func TestInlineBuild(t *testing.T) {
	b := Build{Service: "app", Inline: "# syntax=docker/dockerfile:1\nFROM alpine:3\nCOPY --from=busybox:1 / /\n", InlineFile: "compose.yaml", InlineLine: 7}
	f, err := b.ParseInline()
	if err != nil {
		t.Fatal(err)
	}
	refs, problems := b.Pulls(f, []string{dockerfile.DefaultPlatform})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	want := "compose.yaml:7 syntax docker/dockerfile:1 linux/amd64\ncompose.yaml:8 from alpine:3 linux/amd64\ncompose.yaml:9 copy-from busybox:1 linux/amd64"
	if got := formatPulls(refs); got != want {
		t.Errorf("inline Pulls\n got:\n%s\nwant:\n%s", got, want)
	}
	bad := Build{Service: "app", Inline: "FROM alpine:3\nFROM\n", InlineFile: "compose.yaml", InlineLine: 7}
	if _, err := bad.ParseInline(); err == nil || !strings.HasPrefix(err.Error(), "compose.yaml:8: dockerfile_inline of service app: ") {
		t.Errorf("bad inline Dockerfile: %v", err)
	}
}

func TestGroup(t *testing.T) {
	projects, warnings := Group("repo", []string{
		"compose.full.yaml",
		"compose.override.yaml",
		"compose.yaml",
		"deploy/docker-compose.prod.yml",
		"legacy/docker-compose.yml",
		"legacy/compose.yml",
		"legacy/docker-compose.override.yml",
		"legacy/compose.override.yml",
		"lonely/compose.override.yaml",
	})
	want := [][]string{
		{"compose.yaml", "compose.override.yaml"},
		{"legacy/compose.yml", "legacy/compose.override.yml"},
		{"compose.yaml", "compose.override.yaml", "compose.full.yaml"},
		{"deploy/docker-compose.prod.yml"},
	}
	if fmt.Sprint(projects) != fmt.Sprint(want) {
		t.Errorf("Group\n got %q\nwant %q", projects, want)
	}
	wantWarnings := "repo/legacy/docker-compose.yml: warning: not read: docker compose reads compose.yml in this directory, not this file\n" +
		"repo/legacy/docker-compose.override.yml: warning: not read: docker compose reads compose.override.yml in this directory, not this file"
	if warnings.Error() != wantWarnings {
		t.Errorf("warnings\n got %s\nwant %s", warnings, wantWarnings)
	}
}

// TestFileNames holds discovery to the names compose-go looks for.
func TestFileNames(t *testing.T) {
	if !slices.Equal(discover.ComposeFileNames, cli.DefaultFileNames) {
		t.Errorf("discover.ComposeFileNames = %q, compose-go's %q", discover.ComposeFileNames, cli.DefaultFileNames)
	}
	if !slices.Equal(discover.ComposeOverrideFileNames, cli.DefaultOverrideFileNames) {
		t.Errorf("discover.ComposeOverrideFileNames = %q, compose-go's %q", discover.ComposeOverrideFileNames, cli.DefaultOverrideFileNames)
	}
}

func TestRewrite(t *testing.T) {
	for _, tt := range []struct {
		desc, in string
		rep      Replacement
		want     string
	}{
		{"comment", "    image: nginx:1.27 # nginx:1\n", Replacement{1, "nginx:1", "N"}, ""},
		{"plain", "services:\n  web:\n    image: nginx:1 # web\n", Replacement{3, "nginx:1", "nginx:1@sha256:x"}, "services:\n  web:\n    image: nginx:1@sha256:x # web\n"},
		{"quoted", "    image: \"nginx:1\"\r\n", Replacement{1, "nginx:1", "nginx:1@d"}, "    image: \"nginx:1@d\"\r\n"},
		{"flow", "  web: {image: 'nginx:1', ports: [80]}\n", Replacement{1, "nginx:1", "N"}, "  web: {image: 'N', ports: [80]}\n"},
		{"not the key's text", "nginx:1: {image: nginx:1}\n", Replacement{1, "nginx:1", "N"}, "nginx:1: {image: N}\n"},
		{"not a longer name", "    image: nginx:1.27 # nginx:1\n", Replacement{1, "nginx:1", "N"}, ""},
		{".env: export", "export IMG=nginx:1\n", Replacement{1, "nginx:1", "N"}, "export IMG=N\n"},
		{".env quoted", "IMG = \"nginx:1\"\n", Replacement{1, "nginx:1", "N"}, "IMG = \"N\"\n"},
		{"context", "        base: docker-image://busybox:1\n", Replacement{1, "busybox:1", "B"}, "        base: docker-image://B\n"},
		{"context as a list", "        - base=docker-image://busybox:1\n", Replacement{1, "busybox:1", "B"}, "        - base=docker-image://B\n"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			file := "compose.yaml"
			if strings.HasPrefix(tt.desc, ".env") {
				file = ".env"
			}
			out, err := Rewrite(file, []byte(tt.in), []Replacement{tt.rep})
			if tt.want == "" {
				if err == nil {
					t.Errorf("Rewrite = %q, want an error", out)
				}
				return
			}
			if err != nil || string(out) != tt.want {
				t.Errorf("Rewrite = %q, %v; want %q", out, err, tt.want)
			}
		})
	}
}
