package oracle

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// corpusDir holds the Dockerfile corpus, shared with imglock's own tests.
const corpusDir = "../../../testdata/dockerfiles"

func readCorpus(t *testing.T, name string) []byte {
	t.Helper()
	df, err := os.ReadFile(filepath.Join(corpusDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return df
}

// TestPullsByHand checks the oracle against answers worked out by hand
// from the Dockerfiles, so the golden file rests on a checked oracle.
func TestPullsByHand(t *testing.T) {
	const (
		golang     = "docker.io/library/golang:1.22-bookworm"
		distroless = "gcr.io/distroless/static-debian12:nonroot"
		alpine     = "docker.io/library/alpine:3.19"
		busybox    = "docker.io/library/busybox:1.36"
	)
	tests := []struct {
		file, target, platform string
		args                   map[string]string
		want                   []string
	}{
		{"plain.Dockerfile", "", "linux/amd64", nil, []string{alpine}},
		{"plain.Dockerfile", "", "", nil, []string{alpine}},

		{"multistage-from-stage.Dockerfile", "", "linux/amd64", nil, []string{golang, distroless}},
		{"multistage-from-stage.Dockerfile", "release", "linux/arm64", nil, []string{golang, distroless}},
		{"multistage-from-stage.Dockerfile", "build", "linux/amd64", nil, []string{golang}},
		{"multistage-from-stage.Dockerfile", "test", "linux/arm64", nil, []string{golang}},
		// --target matches stage names in any case.
		{"multistage-from-stage.Dockerfile", "TEST", "linux/arm64", nil, []string{golang}},

		{"stage-name-case.Dockerfile", "", "linux/amd64", nil, []string{alpine, "docker.io/library/golang:1.22"}},
		{"stage-name-case.Dockerfile", "Build", "linux/arm64", nil, []string{"docker.io/library/golang:1.22"}},

		{"platform-arch-stage-or-image.Dockerfile", "", "linux/amd64", nil, []string{alpine, "docker.io/library/debian:bookworm"}},
		{"platform-arch-stage-or-image.Dockerfile", "", "linux/arm64", nil, []string{alpine, "docker.io/library/helper-arm64:latest"}},
		{"platform-arch-stage-or-image.Dockerfile", "helper-amd64", "linux/arm64", nil, []string{"docker.io/library/debian:bookworm"}},

		{"platform-args-undeclared.Dockerfile", "by-arch", "linux/arm64", nil, []string{"docker.io/library/alpine:3.19-arm64"}},
		{"platform-args-undeclared.Dockerfile", "by-os", "linux/arm/v7", nil, []string{"ghcr.io/example/linux-base:armv7"}},
		// A build arg overrides even an undeclared automatic ARG.
		{"platform-args-undeclared.Dockerfile", "by-arch", "linux/arm64", map[string]string{"TARGETARCH": "riscv64"}, []string{"docker.io/library/alpine:3.19-riscv64"}},
		{"platform-args-declared.Dockerfile", "os", "linux/arm64", nil, []string{"docker.io/library/busybox:plan9"}},

		{"arg-selected-stage.Dockerfile", "", "linux/amd64", nil, []string{alpine}},
		{"arg-selected-stage.Dockerfile", "", "linux/amd64", map[string]string{"FLAVOR": "debian"}, []string{"docker.io/library/debian:bookworm-slim"}},
		// A value naming no stage makes base-${FLAVOR} an image.
		{"arg-selected-stage.Dockerfile", "", "linux/amd64", map[string]string{"FLAVOR": "ubi9"}, []string{"docker.io/library/base-ubi9:latest"}},

		{"arg-no-value.Dockerfile", "", "linux/amd64", nil, []string{"docker.io/library/busybox:stable"}},
		{"arg-no-value.Dockerfile", "", "linux/amd64", map[string]string{"VARIANT": "-musl"}, []string{"docker.io/library/busybox:stable-musl"}},
		// A build arg sets declared ARGs only.
		{"arg-undeclared.Dockerfile", "bare", "linux/amd64", map[string]string{"SUFFIX": "-x"}, []string{alpine}},

		{"global-args.Dockerfile", "", "linux/amd64", nil, []string{busybox}},
		{"global-args.Dockerfile", "app", "linux/amd64", map[string]string{"PY": "3.13"}, []string{"docker.io/library/python:3.13-slim-bookworm"}},
		// A build arg replaces every default of its ARG, the one that
		// extends the earlier value (ARG TAG=${TAG}-bookworm) included.
		{"global-args.Dockerfile", "app", "linux/amd64", map[string]string{"TAG": "3-alpine"}, []string{"docker.io/library/python:3-alpine"}},

		{"targetstage.Dockerfile", "", "linux/amd64", nil, []string{"registry.example.com/app/base:default"}},
		{"targetstage.Dockerfile", "dev", "linux/amd64", nil, []string{"ghcr.io/example/env:dev"}},
		// TARGETSTAGE is the --target as given, not the lower-cased name.
		{"targetstage.Dockerfile", "DEV", "linux/amd64", nil, []string{"ghcr.io/example/env:DEV"}},

		{"scratch.Dockerfile", "layered", "linux/amd64", nil, nil},
		{"scratch-stage-name.Dockerfile", "cached", "linux/arm64", nil, []string{alpine, busybox}},
		{"scratch-stage-name.Dockerfile", "tmp", "linux/arm64", nil, []string{"docker.io/library/debian:bookworm-slim"}},

		{"mount-cache-from.Dockerfile", "", "linux/amd64", nil, []string{"docker.io/library/debian:bookworm", "docker.io/library/node:latest"}},
		{"mount-from-index.Dockerfile", "", "linux/amd64", nil, []string{"docker.io/library/0:latest", alpine, busybox}},
		{"onbuild-stage.Dockerfile", "parent", "linux/amd64", nil, []string{alpine}},
		{"onbuild-stage.Dockerfile", "child", "linux/amd64", nil, []string{alpine, "docker.io/library/nginx:1.27"}},
		{"unreachable-stages.Dockerfile", "release", "linux/amd64", nil, []string{alpine, "docker.io/library/golang:1.22"}},
		{"heredoc.Dockerfile", "", "linux/amd64", nil, []string{alpine}},
		{"escape-directive.Dockerfile", "shell", "linux/amd64", nil, []string{"mcr.microsoft.com/powershell:lts-nanoserver-1809"}},
	}
	for _, tt := range tests {
		got, err := Pulls(readCorpus(t, tt.file), Options{Target: tt.target, Platform: tt.platform, BuildArgs: tt.args})
		if err != nil {
			t.Errorf("%s --target=%q --platform=%s %v: %v", tt.file, tt.target, tt.platform, tt.args, err)
			continue
		}
		slices.Sort(tt.want)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s --target=%q --platform=%s %v:\ngot  %q\nwant %q", tt.file, tt.target, tt.platform, tt.args, got, tt.want)
		}
	}
}

// TestSourcePlatforms checks the platform each image is pulled for.
func TestSourcePlatforms(t *testing.T) {
	tests := []struct {
		file, target, platform string
		want                   []Source
	}{
		{"fixed-platform.Dockerfile", "", "linux/arm64", []Source{
			{"docker.io/library/busybox:1.36", "linux/arm64"},
			{"docker.io/library/ubuntu:22.04", "linux/amd64"},
		}},
		{"fixed-platform.Dockerfile", "", "linux/amd64", []Source{
			{"docker.io/library/busybox:1.36", "linux/amd64"},
			{"docker.io/library/ubuntu:22.04", "linux/amd64"},
		}},
		// The build platform is the target platform.
		{"cross-compile.Dockerfile", "", "linux/arm64", []Source{
			{"docker.io/library/golang:1.22", "linux/arm64"},
			{"gcr.io/distroless/static-debian12:latest", "linux/arm64"},
		}},
		{"plain.Dockerfile", "", "linux/arm/v7", []Source{
			{"docker.io/library/alpine:3.19", "linux/arm/v7"},
		}},
	}
	for _, tt := range tests {
		got, err := Sources(readCorpus(t, tt.file), Options{Target: tt.target, Platform: tt.platform})
		if err != nil {
			t.Errorf("%s --platform=%s: %v", tt.file, tt.platform, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s --platform=%s:\ngot  %v\nwant %v", tt.file, tt.platform, got, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		file, target string
		line         int // 0: BuildKit gives no line
		msg          string
	}{
		{"stage-name-case-from.Dockerfile", "build", 8, `failed to parse stage name "Build"`},
		{"unreachable-invalid-name.Dockerfile", "good", 5, "must be lowercase"},
		{"error-blank-base.Dockerfile", "", 4, "base name (${BASE}) should not be blank"},
		{"error-undeclared-alone.Dockerfile", "", 3, "base name ($UNDECLARED) should not be blank"},
		{"copy-from-later-stage.Dockerfile", "web", 5, `cannot copy from stage "assets"`},
		{"error-copy-from-variable.Dockerfile", "", 0, "variable expansion is not supported for --from"},
		{"error-stage-index.Dockerfile", "", 0, "invalid stage index 2"},
		{"plain.Dockerfile", "nope", 0, `target stage "nope" could not be found`},
	}
	for _, tt := range tests {
		_, err := Pulls(readCorpus(t, tt.file), Options{Target: tt.target})
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s --target=%q: error %v, want one containing %q", tt.file, tt.target, err, tt.msg)
			continue
		}
		line, ok := ErrorLine(err)
		if line != tt.line || ok != (tt.line != 0) {
			t.Errorf("%s --target=%q: ErrorLine = %d, %v; want %d", tt.file, tt.target, line, ok, tt.line)
		}
	}
	if _, err := Pulls([]byte("FROM alpine\n"), Options{Platform: "not a platform"}); err == nil {
		t.Error("an invalid platform gave no error")
	}
}

func TestStages(t *testing.T) {
	tests := []struct {
		df   string
		want []string
	}{
		{"FROM alpine\n", []string{""}},
		{"FROM alpine AS Base\nFROM base AS final\n", []string{"base", "final"}},
		// Only the last stage is a target without a name; 0 is no target.
		{"FROM alpine\nFROM busybox AS tools\nFROM debian\n", []string{"tools", ""}},
		{"FROM alpine AS a\nFROM busybox AS A\n", []string{"a"}},
	}
	for _, tt := range tests {
		got, err := Stages([]byte(tt.df))
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Stages(%q) = %q, %v; want %q", tt.df, got, err, tt.want)
		}
	}
	for _, df := range []string{"", "# only a comment\n", "FROM\n", "FROM a AS 1x\n"} {
		if got, err := Stages([]byte(df)); err == nil {
			t.Errorf("Stages(%q) = %q, want an error", df, got)
		}
	}
	// Every name Stages returns is a target BuildKit accepts.
	df := readCorpus(t, "unreachable-stages.Dockerfile")
	names, err := Stages(df)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if _, err := Pulls(df, Options{Target: name}); err != nil {
			t.Errorf("--target=%q: %v", name, err)
		}
	}
	if _, err := Pulls(df, Options{Target: "stage-2"}); err == nil {
		t.Error(`--target=stage-2 (an unnamed stage) was accepted`)
	}
}

func TestFrontend(t *testing.T) {
	tests := []struct {
		desc string
		df   string
		args map[string]string
		want string // "-": no frontend
	}{
		{"none", "FROM alpine\n", nil, "-"},
		{"directive", "# syntax=docker/dockerfile:1.7\nFROM alpine\n", nil, "docker/dockerfile:1.7"},
		{"spaces and case", "#  SYNTAX = docker/dockerfile:1 \nFROM alpine\n", nil, "docker/dockerfile:1"},
		{"command line after the image", "# syntax=example.com/fe:2 --debug\nFROM alpine\n", nil, "example.com/fe:2"},
		{"after escape", "# escape=`\n# syntax=docker/dockerfile:1\nFROM alpine\n", nil, "docker/dockerfile:1"},
		{"after a shebang", "#!/usr/bin/env dockerfile\n# syntax=docker/dockerfile:1\nFROM alpine\n", nil, "docker/dockerfile:1"},
		{"after a byte-order mark", "\ufeff# syntax=docker/dockerfile:1\nFROM alpine\n", nil, "docker/dockerfile:1"},
		{"C-style comment", "// syntax=docker/dockerfile:1\nFROM alpine\n", nil, "docker/dockerfile:1"},
		{"JSON", `{"syntax": "docker/dockerfile:1"}`, nil, "docker/dockerfile:1"},
		{"first of two", "# syntax=a/first:1\n# syntax=b/second:1\nFROM alpine\n", nil, "a/first:1"},
		{"after a plain comment", "# hello\n# syntax=docker/dockerfile:1\nFROM alpine\n", nil, "-"},
		{"after an unknown directive", "# foo=bar\n# syntax=docker/dockerfile:1\nFROM alpine\n", nil, "-"},
		{"after an instruction", "FROM alpine\n# syntax=docker/dockerfile:1\n", nil, "-"},
		{"indented", " # syntax=docker/dockerfile:1\nFROM alpine\n", nil, "-"},
		{"after a blank line", "\n# syntax=docker/dockerfile:1\nFROM alpine\n", nil, "-"},
		{"empty value", "# syntax=\nFROM alpine\n", nil, "-"},
		{"ARG in the file", "ARG BUILDKIT_SYNTAX=docker/dockerfile:1\nFROM alpine\n", nil, "-"},
		{"build arg over directive", "# syntax=docker/dockerfile:1\nFROM alpine\n", map[string]string{"BUILDKIT_SYNTAX": "example.com/fe:3"}, "example.com/fe:3"},
		{"build arg alone", "FROM alpine\n", map[string]string{"BUILDKIT_SYNTAX": " example.com/fe:3 --x"}, "example.com/fe:3"},
		{"blank build arg", "# syntax=docker/dockerfile:1\nFROM alpine\n", map[string]string{"BUILDKIT_SYNTAX": " "}, ""},
		{"build arg name is case-sensitive", "FROM alpine\n", map[string]string{"buildkit_syntax": "example.com/fe:3"}, "-"},
	}
	for _, tt := range tests {
		got, ok := Frontend([]byte(tt.df), tt.args)
		if !ok {
			got = "-"
		}
		if got != tt.want {
			t.Errorf("%s: Frontend = %q, want %q", tt.desc, got, tt.want)
		}
	}
	if got, _ := Frontend(readCorpus(t, "syntax-directive.Dockerfile"), nil); got != "docker/dockerfile:1.7" {
		t.Errorf("syntax-directive.Dockerfile: Frontend = %q", got)
	}
}

// TestPullsOffline runs the corpus with every way out to the network
// failing the test: the image config lookups must all be answered here.
func TestPullsOffline(t *testing.T) {
	var dials atomic.Int64
	oldTransport, oldResolver := http.DefaultTransport, net.DefaultResolver
	t.Cleanup(func() { http.DefaultTransport, net.DefaultResolver = oldTransport, oldResolver })
	http.DefaultTransport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		dials.Add(1)
		return nil, errors.New("network use in an offline test: " + r.URL.String())
	})
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		dials.Add(1)
		return nil, errors.New("DNS lookup in an offline test")
	}}

	// Hosts that exist nowhere, and a loopback port nothing listens on.
	df := []byte("FROM registry.invalid/app:1 AS a\nFROM 127.0.0.1:9/app:1\nCOPY --from=a / /\nCOPY --from=nowhere.invalid:5000/x:2 / /\n")
	got, err := Pulls(df, Options{Platform: "linux/arm64"})
	want := []string{"127.0.0.1:9/app:1", "nowhere.invalid:5000/x:2", "registry.invalid/app:1"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Pulls = %q, %v; want %q", got, err, want)
	}
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.Dockerfile"))
	for _, f := range files {
		df, _ := os.ReadFile(f)
		Pulls(df, Options{}) //nolint:errcheck // only the network use counts here
	}
	if n := dials.Load(); n != 0 {
		t.Errorf("%d network requests or DNS lookups", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestNotInProductCode keeps BuildKit's converter out of imglock's binary:
// only test binaries may link this package.
func TestNotInProductCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "../../../cmd/imglock").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if pkg == "github.com/imglock/imglock/internal/testing/oracle" || strings.HasSuffix(pkg, "/dockerfile2llb") {
			t.Errorf("cmd/imglock depends on %s", pkg)
		}
	}
}
