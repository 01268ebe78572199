package imageref

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	for _, tc := range []struct{ in, want, wantErr string }{
		{in: "python", want: "docker.io/library/python:latest"},
		{in: "python:3.12-slim", want: "docker.io/library/python:3.12-slim"},
		{in: "docker.io/library/python:3.12", want: "docker.io/library/python:3.12"},
		{in: "index.docker.io/library/python:3.12", want: "docker.io/library/python:3.12"},
		{in: "bitnami/redis:7", want: "docker.io/bitnami/redis:7"},
		{in: "gcr.io/distroless/static-debian12:nonroot", want: "gcr.io/distroless/static-debian12:nonroot"},
		{in: "localhost:5000/acme/base:1", want: "localhost:5000/acme/base:1"},
		{in: "127.0.0.1:5000/base", want: "127.0.0.1:5000/base:latest"},
		{in: "python:3.12@" + d, want: "docker.io/library/python:3.12@" + d},
		{in: "python@" + d, want: "docker.io/library/python@" + d},
		{in: "docker/dockerfile:1", want: "docker.io/docker/dockerfile:1"},
		{in: "", wantErr: "empty image reference"},
		{in: "Python:3", wantErr: "must be lowercase"},
		{in: "python:3:4", wantErr: "invalid reference format"},
		{in: "python@sha256:abc", wantErr: "invalid"},
		{in: "my_registry.local/app:1", wantErr: `"my_registry.local" is not a valid registry host`},
		{in: "0.0_0/0", wantErr: `"0.0_0" is not a valid registry host`},
		{in: "python@sha512:" + strings.Repeat("a", 127), wantErr: "invalid"},
		// Messages repeat malformed input escaped and cut short.
		{in: "Python\x1b]0;x\x07:1", wantErr: `invalid image reference "Python\x1b]0;x\a:1": invalid reference format: repository name (library/Python\x1b]0;x\a) must be lowercase`},
		{in: "Py\xffthon", wantErr: `invalid image reference "Py\xffthon": invalid reference format: repository name (library/Py\xffthon) must be lowercase`},
		{in: strings.Repeat("A", 70000), wantErr: `invalid image reference "` + strings.Repeat("A", 256) + `"...: invalid reference format: repository name (library/AAAA`},
		{in: "a@sha256:" + strings.Repeat("\x1b", 64), wantErr: `invalid image reference "a@sha256:\x1b\x1b`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			r, err := Parse(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) error %v, want %q", tc.in, err, tc.wantErr)
				}
				if msg := err.Error(); !printableMessage(msg) {
					t.Fatalf("Parse(%q) error is not short printable text: %q", tc.in, msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tc.want {
				t.Errorf("Parse(%q) = %s, want %s", tc.in, r, tc.want)
			}
		})
	}
}

func TestRegistry(t *testing.T) {
	for in, want := range map[string]string{"python": "docker.io", "ghcr.io/a/b": "ghcr.io", "localhost:5000/x": "localhost:5000"} {
		r, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if r.Registry() != want {
			t.Errorf("Registry(%q) = %s, want %s", in, r.Registry(), want)
		}
	}
}

func TestCheckDigest(t *testing.T) {
	for _, tc := range []struct{ in, wantErr string }{
		{"sha256:" + strings.Repeat("0", 64), ""},
		{"sha512:" + strings.Repeat("f", 128), ""},
		{"sha256", "want sha256:HEX or sha512:HEX"},
		{"md5:" + strings.Repeat("0", 32), `unknown algorithm "md5"`},
		{"sha384:" + strings.Repeat("0", 96), `unknown algorithm "sha384"`},
		{"sha256:" + strings.Repeat("0", 63), "sha256 digest has 63 hex characters, want 64"},
		{"sha512:" + strings.Repeat("0", 64), "sha512 digest has 64 hex characters, want 128"},
		{"sha256:" + strings.Repeat("A", 64), "must be lowercase hex (found 'A' at position 1)"},
	} {
		err := CheckDigest(tc.in)
		if (err == nil) != (tc.wantErr == "") || err != nil && !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("CheckDigest(%q) = %v, want %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestFamiliar(t *testing.T) {
	for in, want := range map[string]string{
		"docker.io/library/alpine:latest": "alpine",
		"alpine":                          "alpine",
		"python:3.12":                     "python:3.12",
		"docker.io/bitnami/redis:7":       "bitnami/redis:7",
		"ghcr.io/a/b:latest":              "ghcr.io/a/b",
		"localhost:5000/x:1":              "localhost:5000/x:1",
	} {
		r, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Familiar(); got != want {
			t.Errorf("Familiar(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShortDigest(t *testing.T) {
	full := "sha256:" + strings.Repeat("ab", 32)
	for in, want := range map[string]string{
		full:                  "sha256:abababababab",
		"sha256:0123456789ab": "sha256:0123456789ab",
		"sha256:0123":         "sha256:0123",
		"latest":              "latest",
		"":                    "",
	} {
		if got := ShortDigest(in); got != want {
			t.Errorf("ShortDigest(%q) = %q, want %q", in, got, want)
		}
	}
}
