package imageref

import (
	"strings"
	"testing"

	"github.com/distribution/reference"

	"github.com/imglock/imglock/internal/diag"
)

var (
	seedSHA256 = "sha256:" + strings.Repeat("0123456789abcdef", 4)
	seedSHA512 = "sha512:" + strings.Repeat("0123456789abcdef", 8)
)

// realWorldRefs are references as found in public Dockerfiles, CI
// configurations and registry docs, with the canonical form Parse gives
// ("" when Parse must fail). They seed FuzzParse.
var realWorldRefs = []struct{ in, want string }{
	{"alpine", "docker.io/library/alpine:latest"},
	{"alpine:3.20", "docker.io/library/alpine:3.20"},
	{"ubuntu:24.04", "docker.io/library/ubuntu:24.04"},
	{"debian:bookworm-slim", "docker.io/library/debian:bookworm-slim"},
	{"python:3.12-slim-bookworm", "docker.io/library/python:3.12-slim-bookworm"},
	{"node:20-alpine3.19", "docker.io/library/node:20-alpine3.19"},
	{"golang:1.26-bookworm", "docker.io/library/golang:1.26-bookworm"},
	{"library/nginx:1.27", "docker.io/library/nginx:1.27"},
	{"docker.io/library/postgres:16", "docker.io/library/postgres:16"},
	{"index.docker.io/library/redis:7", "docker.io/library/redis:7"},
	{"registry-1.docker.io/library/busybox:1.36", "registry-1.docker.io/library/busybox:1.36"},
	{"docker/dockerfile:1", "docker.io/docker/dockerfile:1"},
	{"docker/dockerfile:1.7-labs", "docker.io/docker/dockerfile:1.7-labs"},
	{"bitnami/kubectl:1.30", "docker.io/bitnami/kubectl:1.30"},
	{"hashicorp/terraform:1.9", "docker.io/hashicorp/terraform:1.9"},
	{"gcr.io/distroless/static-debian12:nonroot", "gcr.io/distroless/static-debian12:nonroot"},
	{"gcr.io/distroless/base-debian12:debug-nonroot", "gcr.io/distroless/base-debian12:debug-nonroot"},
	{"ghcr.io/astral-sh/uv:0.4", "ghcr.io/astral-sh/uv:0.4"},
	{"ghcr.io/actions/actions-runner:latest", "ghcr.io/actions/actions-runner:latest"},
	{"quay.io/prometheus/node-exporter:v1.8.2", "quay.io/prometheus/node-exporter:v1.8.2"},
	{"mcr.microsoft.com/dotnet/sdk:8.0", "mcr.microsoft.com/dotnet/sdk:8.0"},
	{"mcr.microsoft.com/windows/servercore:ltsc2022", "mcr.microsoft.com/windows/servercore:ltsc2022"},
	{"public.ecr.aws/lambda/python:3.12", "public.ecr.aws/lambda/python:3.12"},
	{"123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:2024.10.01", "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:2024.10.01"},
	{"europe-docker.pkg.dev/proj/repo/img:v1", "europe-docker.pkg.dev/proj/repo/img:v1"},
	{"registry.gitlab.com/group/sub/project/image:main", "registry.gitlab.com/group/sub/project/image:main"},
	{"nvcr.io/nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04", "nvcr.io/nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04"},
	{"localhost/app", "localhost/app:latest"},
	{"localhost:5000/acme/base:1", "localhost:5000/acme/base:1"},
	{"127.0.0.1:5055/library/python:3.12-slim", "127.0.0.1:5055/library/python:3.12-slim"},
	{"[::1]:5000/app:dev", "[::1]:5000/app:dev"},
	{"registry.internal:5000/a__b/c-d.e:V1_0", "registry.internal:5000/a__b/c-d.e:V1_0"},
	{"Registry.Example.com/team/app:1", "Registry.Example.com/team/app:1"},
	{"python:3.12@" + seedSHA256, "docker.io/library/python:3.12@" + seedSHA256},
	{"python@" + seedSHA256, "docker.io/library/python@" + seedSHA256},
	{"ghcr.io/o/r:v2@" + seedSHA512, "ghcr.io/o/r:v2@" + seedSHA512},
	{"alpine:" + strings.Repeat("x", 128), "docker.io/library/alpine:" + strings.Repeat("x", 128)},
	{"", ""},
	{"scratch:", ""},
	{"Python:3", ""},
	{"python:3:4", ""},
	{"alpine:" + strings.Repeat("x", 129), ""},
	{"alpine:-1", ""},
	{"https://ghcr.io/o/r", ""},
	{"ghcr.io//o", ""},
	{"ghcr.io/o/r/", ""},
	{"python@sha256:abc", ""},
	{"python@md5:" + strings.Repeat("0", 32), ""},
	{"python@sha384:" + strings.Repeat("0", 96), ""},
	{"python@sha256:" + strings.Repeat("A", 64), ""},
	{"python@sha512:" + strings.Repeat("0", 64), ""},
	{"python:3.12 ", ""},
	{"${BASE}", ""},
	{"python:3.12\r", ""},
	{"\xef\xbb\xbfpython", ""},
	{"pyth\xffon", ""},
	{"python\x00", ""},
	{strings.Repeat("a/", 128) + "b", ""},
}

func TestRealWorldRefs(t *testing.T) {
	for _, tc := range realWorldRefs {
		r, err := Parse(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("Parse(%q) = %s, want an error", tc.in, r)
		case tc.want != "" && err != nil:
			t.Errorf("Parse(%q): %v", tc.in, err)
		case tc.want != "" && r.String() != tc.want:
			t.Errorf("Parse(%q) = %s, want %s", tc.in, r, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tc := range realWorldRefs {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if r != (Ref{}) {
				t.Fatalf("Parse(%q) returned %+v with error %v", s, r, err)
			}
			if !printableMessage(err.Error()) {
				t.Fatalf("Parse(%q) error is not short printable text: %q", s, err)
			}
			return
		}
		if r.Tag == "" && r.Digest == "" {
			t.Fatalf("Parse(%q) = %+v: neither tag nor digest", s, r)
		}
		again, err := Parse(r.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %s, which does not parse: %v", s, r, err)
		}
		if again != r {
			t.Fatalf("Parse(%q) = %+v, Parse(%q) = %+v", s, r, r.String(), again)
		}
		host, path, ok := strings.Cut(r.Repo, "/")
		if !ok || host == "" || path == "" {
			t.Fatalf("Parse(%q): repository %q is not DOMAIN/PATH", s, r.Repo)
		}
		// ParseNamed accepts only canonical, fully qualified names.
		named, err := reference.ParseNamed(r.Repo)
		if err != nil {
			t.Fatalf("Parse(%q): repository %q is not canonical: %v", s, r.Repo, err)
		}
		if named.Name() != r.Repo || reference.Domain(named) != host || r.Registry() != host {
			t.Fatalf("Parse(%q): repository %q: name %q, domain %q, Registry %q", s, r.Repo, named.Name(), reference.Domain(named), r.Registry())
		}
		if r.Digest != "" {
			if err := CheckDigest(r.Digest); err != nil {
				t.Fatalf("Parse(%q) accepted digest %q: %v", s, r.Digest, err)
			}
		}
		// The familiar form names the same image, except where Docker's
		// own familiar form is ambiguous: docker.io/0.0/0 becomes 0.0/0,
		// whose first element reads as a registry host. It is BuildKit's
		// named-context key all the same, so imglock keeps it.
		fam, err := Parse(r.Familiar())
		if err != nil {
			t.Fatalf("Parse(%q): familiar form %q does not parse: %v", s, r.Familiar(), err)
		}
		first, _, _ := strings.Cut(r.Familiar(), "/")
		hostLike := strings.ContainsAny(first, ".:") || first == "localhost"
		if fam != r && !(r.Registry() == "docker.io" && hostLike) {
			t.Fatalf("Parse(%q) = %+v, its familiar form %q gives %+v", s, r, r.Familiar(), fam)
		}
	})
}

// printableMessage reports whether an error message is short printable text: what
// a malformed input may put in a log, escaped by diag.Printable.
func printableMessage(s string) bool { return len(s) <= 2048 && diag.Printable(s, 2048) == s }
