package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/imglock/imglock/internal/diag"
)

func TestParseFull(t *testing.T) {
	data, err := os.ReadFile("testdata/full.toml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseRepo("full.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Include:               []string{"rootfs/Dockerfile-chroot", "docker/**/*.df"},
		Exclude:               []string{"legacy/**"},
		Platforms:             []string{"linux/amd64", "linux/arm64"},
		Timeout:               2 * time.Minute,
		Concurrency:           64,
		MinAge:                72 * time.Hour,
		IgnoreUnusedPlatforms: true,
		BuildArgs:             map[string]string{"GO_VERSION": "1.22"},
		Dockerfiles: []PathSettings{{
			Path:      "images/**/Dockerfile",
			BuildArgs: map[string]string{"BASE_IMAGE": "registry.k8s.io/x:1"},
			Platforms: []string{"linux/amd64", "linux/arm64", "linux/arm/v7"},
			Targets:   []string{"binary", "dev"},
			Variants:  []map[string]string{{"FLAVOR": "alpine"}, {"FLAVOR": "debian"}},
			Line:      31,
		}, {
			Path:      "images/special/Dockerfile",
			BuildArgs: map[string]string{"GO_VERSION": "1.23"},
			Line:      38,
		}},
		Compose: []ComposeSettings{{Path: "deploy/compose.yaml", EnvFiles: []string{".env.ci"}, Profiles: []string{"debug"}, Files: []string{"compose.full.yaml"}, Line: 42}},
		Bake:    Bake{Files: []string{"docker-bake.hcl"}},
		Registries: map[string]Registry{
			"docker.io": {Mirror: "harbor.example.com/dockerhub", Fallback: false,
				Source: map[string]string{"mirror": "full.toml:54", "fallback": "full.toml:55"}},
			"registry.internal:5000": {Insecure: true, CA: "certs/ca.pem", Concurrency: 16, Fallback: true,
				Source: map[string]string{"insecure": "full.toml:58", "ca": "full.toml:59", "concurrency": "full.toml:60"}},
		},
		File: "full.toml",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseRepo(full.toml)\n got %+v\nwant %+v", got, want)
	}
}

func TestParseValid(t *testing.T) {
	for _, tt := range []struct {
		desc string
		in   string
		want *Config
	}{
		{"empty", "", &Config{}},
		{"comments only", "# nothing\n\n", &Config{}},
		{"BOM and CRLF", "\xEF\xBB\xBFtimeout = \"90s\"\r\nplatforms = [\r\n  \"linux/amd64\",\r\n]\r\n[registries.\"localhost:5000\"]\r\ninsecure = true\r\n",
			&Config{Timeout: 90 * time.Second, Platforms: []string{"linux/amd64"},
				Registries: map[string]Registry{"localhost:5000": {Insecure: true, Fallback: true, Source: map[string]string{"insecure": "imglock.toml:6"}}}}},
		{"inline tables and dotted keys", `registries."[::1]:5000".ca = "/etc/ca.pem"
registries.docker-io = { mirror = "mirror.gcr.io:443/hub" }
dockerfile = [{ path = "a/**", build-args = { A = "1" } }, { path = "b", variants = [{ B = "" }] }]
`, &Config{
			Registries: map[string]Registry{
				"docker-io":  {Mirror: "mirror.gcr.io:443/hub", Fallback: true, Source: map[string]string{"mirror": "imglock.toml:2"}},
				"[::1]:5000": {CA: "/etc/ca.pem", Fallback: true, Source: map[string]string{"ca": "imglock.toml:1"}},
			},
			Dockerfiles: []PathSettings{
				{Path: "a/**", BuildArgs: map[string]string{"A": "1"}, Line: 3},
				{Path: "b", Variants: []map[string]string{{"B": ""}}, Line: 3},
			},
		}},
		{"tables in arrays of tables", "[[dockerfile]]\npath = 'x'\n[dockerfile.build-args]\nA = 'a'\n[[dockerfile.variants]]\nV = '1'\n[[dockerfile.variants]]\nV = '2'\n[[dockerfile]]\npath = 'y'\n",
			&Config{Dockerfiles: []PathSettings{
				{Path: "x", BuildArgs: map[string]string{"A": "a"}, Variants: []map[string]string{{"V": "1"}, {"V": "2"}}, Line: 1},
				{Path: "y", Line: 9},
			}}},
		{"a table for an array of tables", "[dockerfile]\npath = 'x'\n",
			&Config{Dockerfiles: []PathSettings{{Path: "x", Line: 1}}}},
		{"dotted keys for an array of tables", "dockerfile.path = 'x'\ndockerfile.variants.A = '1'\n",
			&Config{Dockerfiles: []PathSettings{{Path: "x", Variants: []map[string]string{{"A": "1"}}, Line: 1}}}},
		{"bounds", "concurrency = 1024\ntimeout = \"0s\"\nmin-age = '0s'\n[registries.\"127.0.0.1:65535\"]\nconcurrency = 0\n",
			&Config{Concurrency: 1024, Registries: map[string]Registry{"127.0.0.1:65535": {Fallback: true, Source: map[string]string{"concurrency": "imglock.toml:5"}}}}},
		{"Docker Hub's other names", "[registries.\"index.docker.io\"]\ninsecure = true\n[registries.\"registry-1.docker.io.example\"]\n",
			&Config{Registries: map[string]Registry{
				"docker.io":                    {Insecure: true, Fallback: true, Source: map[string]string{"insecure": "imglock.toml:2"}},
				"registry-1.docker.io.example": {Fallback: true, Source: map[string]string{}},
			}}},
		{"compose and bake", "[[compose]]\npath = '**/compose.yaml'\n[bake]\ndisable = true\n",
			&Config{Compose: []ComposeSettings{{Path: "**/compose.yaml", Line: 1}}, Bake: Bake{Disable: true}}},
		{"empty lists", "platforms = []\n[[dockerfile]]\npath = '**'\nplatforms = []\n",
			&Config{Platforms: []string{}, Dockerfiles: []PathSettings{{Path: "**", Platforms: []string{}, Line: 2}}}},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := parseRepo(FileName, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			tt.want.File = FileName
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLegacyVariant(t *testing.T) {
	in := "[[dockerfile]]\npath = 'a'\n[[variant]]\nbuild-args = { PY = '3.11' }\n[[variant]]\n[variant.build-args]\nPY = '3.12'\n"
	c, err := parseRepo(FileName, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []PathSettings{
		{Path: "**", Variants: []map[string]string{{"PY": "3.11"}, {"PY": "3.12"}}, Line: 3},
		{Path: "a", Line: 1},
	}
	if !reflect.DeepEqual(c.Dockerfiles, want) {
		t.Errorf("Dockerfiles\n got %+v\nwant %+v", c.Dockerfiles, want)
	}
	const msg = `warning: variant is deprecated; use [[dockerfile]] with path = "**" and variants = [...]`
	if got, want := c.Warnings.Error(), "imglock.toml:3:3: "+msg+"\nimglock.toml:5:3: "+msg; got != want {
		t.Errorf("Warnings:\n%s\nwant:\n%s", got, want)
	}
	if c.Warnings[0].Kind != diag.Warning {
		t.Errorf("warning of kind %v", c.Warnings[0].Kind)
	}
	if got := c.ForDockerfile("x/Dockerfile").Variants; !reflect.DeepEqual(got, want[0].Variants) {
		t.Errorf("ForDockerfile(x/Dockerfile).Variants = %v, want %v", got, want[0].Variants)
	}
}

// errorTests are invalid files and the exact messages, in file order.
var errorTests = []struct {
	desc string
	in   string
	want []string
}{
	// Syntax: go-toml's message alone.
	{"missing equals", "timeout \"2m\"\n",
		[]string{`imglock.toml:1:9: expected '=' after key`}},
	{"unterminated array", "platforms = [\n",
		[]string{`imglock.toml:1:14: array is incomplete`}},
	{"duplicate key", "concurrency = 1\nconcurrency = 2\n",
		[]string{`imglock.toml:2:1: key concurrency is already defined`}},
	{"duplicate table", "[registries.a]\n[registries.a]\n",
		[]string{`imglock.toml:2:2: table a already exists`}},
	{"integer overflow", "concurrency = 99999999999999999999\n",
		[]string{`imglock.toml:1:15: decimal number is too large to fit in a 64-bit signed integer`}},
	{"syntax error after BOM with CRLF", "\xEF\xBB\xBFconcurrency = 1\r\n[registries\r\n",
		[]string{`imglock.toml:2:12: expected ']' to close table name`}},
	{"tab and bidi override in a redefined key", "\"a\tb\u202e\" = 1\n\"a\tb\u202e\" = 2\n",
		[]string{`imglock.toml:2:1: key a\tb\u202e is already defined`}},

	// Unknown keys: all of them, at the start of the key.
	{"unknown keys everywhere", `platfrom = ["linux/amd64"]
foo.bar = 2
[registries."docker.io"]
mirrror = "x"
[registries.x.sub]
[[dockerfile]]
path = "a"
build_args = {}
[[compose]]
path = "b"
profile = []
[bake]
file = []
[[variant]]
x = 1
`, []string{
		`imglock.toml:1:1: unknown key "platfrom"; did you mean "platforms"?`,
		`imglock.toml:2:1: unknown key "foo"`,
		`imglock.toml:4:1: unknown key "mirrror" in registries."docker.io"; did you mean "mirror"?`,
		`imglock.toml:5:2: unknown key "sub" in registries.x`,
		`imglock.toml:8:1: unknown key "build_args" in dockerfile; did you mean "build-args"?`,
		`imglock.toml:11:1: unknown key "profile" in compose; did you mean "profiles"?`,
		`imglock.toml:13:1: unknown key "file" in bake; did you mean "files"?`,
		`imglock.toml:15:1: unknown key "x" in variant`,
	}},
	{"miscased keys", `Platforms = ["linux/amd64"]
[registries.a]
CA = "x"
[[Dockerfile]]
path = "a"
Build-Args = {}
`, []string{
		`imglock.toml:1:1: unknown key "Platforms"; did you mean "platforms"?`,
		`imglock.toml:3:1: unknown key "CA"; did you mean "ca"?`,
		`imglock.toml:4:3: unknown key "Dockerfile"; did you mean "dockerfile"?`,
		`imglock.toml:6:1: unknown key "Build-Args"; did you mean "build-args"?`,
	}},
	{"unknown keys in inline tables", `registries = { "docker.io" = { mirrror = "x" } }
dockerfile = [{ path = "x" }, { buildargs = {} }]
compose = [{ path = "x", env-file = [] }]
`, []string{
		`imglock.toml:1:32: unknown key "mirrror"; did you mean "mirror"?`,
		`imglock.toml:2:31: path is required in every [[dockerfile]]`,
		`imglock.toml:2:33: unknown key "buildargs"; did you mean "build-args"?`,
		`imglock.toml:3:26: unknown key "env-file"; did you mean "env-files"?`,
	}},
	{"a registry setting outside its table", "mirror = 'mirror.gcr.io'\n",
		[]string{`imglock.toml:1:1: unknown key "mirror"`}},
	{"unknown key in a dotted key", `registries."docker.io".insecur = true`,
		[]string{`imglock.toml:1:1: unknown key "insecur" in registries."docker.io"; did you mean "insecure"?`}},

	// Wrong types: the first one, at the value.
	{"string for an integer", "concurrency = \"8\"\n",
		[]string{`imglock.toml:1:15: concurrency must be an integer, not a string`}},
	{"integer in an array of strings", `platforms = ["linux/amd64", 1]`,
		[]string{`imglock.toml:1:29: platforms must be an array of strings; found an integer`}},
	{"integer for a duration", "timeout = 90\n",
		[]string{`imglock.toml:1:11: timeout must be a duration string such as "90s", not an integer`}},
	{"date for a duration", "min-age = 2024-01-01\n",
		[]string{`imglock.toml:1:11: min-age must be a duration string such as "90s", not a date`}},
	{"string for an array", `include = "Dockerfile"`,
		[]string{`imglock.toml:1:11: include must be an array of strings, not a string`}},
	{"string for a boolean", `registries.x.insecure = "yes"`,
		[]string{`imglock.toml:1:25: registries.x.insecure must be a boolean, not a string`}},
	{"float for an integer", "[registries.y]\nconcurrency = 1.5\n",
		[]string{`imglock.toml:2:15: registries.y.concurrency must be an integer, not a float`}},
	{"array for a string", "[registries.y]\nmirror = [\"a\"]\n",
		[]string{`imglock.toml:2:10: registries.y.mirror must be a string, not an array`}},
	{"array for a table of tables", `registries = ["docker.io"]`,
		[]string{`imglock.toml:1:14: registries must be a table of tables, not an array`}},
	{"string for a registry", `registries."docker.io" = "mirror.gcr.io"`,
		[]string{`imglock.toml:1:26: registries."docker.io" must be a table, not a string`}},
	{"array of tables for strings", "[[exclude]]\n",
		[]string{`imglock.toml:1:3: exclude must be an array of strings`}},
	{"integer build arg", "[build-args]\nA = 1\n",
		[]string{`imglock.toml:2:5: build-args.A must be a string, not an integer`}},
	{"integer build arg in an inline array", `dockerfile = [{ path = "a", build-args = { A = 1 } }]`,
		[]string{`imglock.toml:1:48: dockerfile.build-args must be a table of strings; found an integer`}},
	{"integer path in an inline array", `dockerfile = [{ path = 1 }]`,
		[]string{`imglock.toml:1:24: dockerfile.path must be a string, not an integer`}},
	{"integer variant", "[[dockerfile]]\nvariants = [1]\n",
		[]string{`imglock.toml:2:13: dockerfile.variants must be an array of tables of strings; found an integer`}},
	{"integer in a variant table", "[[dockerfile.variants]]\nA = 1\n",
		[]string{`imglock.toml:2:5: dockerfile.variants.A must be a string, not an integer`}},
	{"string for targets", "[[dockerfile]]\ntargets = 'dev'\n",
		[]string{`imglock.toml:2:11: dockerfile.targets must be an array of strings, not a string`}},
	{"string for profiles", `compose = [{ path = "a", profiles = "x" }]`,
		[]string{`imglock.toml:1:37: compose.profiles must be an array of strings, not a string`}},
	{"integer for bake", "bake = 3\n",
		[]string{`imglock.toml:1:8: bake must be a table, not an integer`}},
	{"string for a boolean at the top", "ignore-unused-platforms = 'yes'\n",
		[]string{`imglock.toml:1:27: ignore-unused-platforms must be a boolean, not a string`}},
	{"wrong type under a miscased key", "Concurrency = \"8\"\n",
		[]string{`imglock.toml:1:15: Concurrency must be an integer, not a string`}},

	// Invalid values: all of them, at the key or the array element.
	{"platforms", `platforms = ["linux", "Linux/amd64", "linux/arm/v7/x", "linux/amd64", "linux//v7"]`, []string{
		`imglock.toml:1:14: invalid platform "linux": want OS/ARCH or OS/ARCH/VARIANT`,
		`imglock.toml:1:23: invalid platform "Linux/amd64": components must match [a-z0-9._-]+`,
		`imglock.toml:1:38: invalid platform "linux/arm/v7/x": want OS/ARCH or OS/ARCH/VARIANT`,
		`imglock.toml:1:71: invalid platform "linux//v7": empty component`,
	}},
	{"globs", `include = ["[a-", "", "/abs/Dockerfile", "ok/**"]
exclude = ["a/{b", "\\"]
`, []string{
		`imglock.toml:1:12: invalid include pattern "[a-": bad glob syntax`,
		`imglock.toml:1:19: invalid include pattern "": empty`,
		`imglock.toml:1:23: invalid include pattern "/abs/Dockerfile": must be relative to the repository root`,
		`imglock.toml:2:12: invalid exclude pattern "a/{b": bad glob syntax`,
		`imglock.toml:2:20: invalid exclude pattern "\\": bad glob syntax`,
	}},
	{"long pattern", `include = ["[` + strings.Repeat("a", 1000) + `"]`,
		[]string{`imglock.toml:1:12: invalid include pattern "[` + strings.Repeat("a", 255) + `"...: bad glob syntax`}},
	{"bad durations", "timeout = \"5 s\"\n  min-age = ''\n", []string{
		`imglock.toml:1:1: invalid timeout "5 s": want a duration such as "90s" or "2m"`,
		`imglock.toml:2:3: invalid min-age "": want a duration such as "90s" or "2m"`,
	}},
	{"negative durations", "timeout = \"-1s\"\nmin-age = '-72h'\n", []string{
		`imglock.toml:1:1: invalid timeout "-1s": must not be negative`,
		`imglock.toml:2:1: invalid min-age "-72h": must not be negative`,
	}},
	{"concurrency", "concurrency = -1\n[registries.a]\nconcurrency = 1025\n[registries.b]\nconcurrency = -2\n", []string{
		`imglock.toml:1:1: invalid concurrency -1: must not be negative`,
		`imglock.toml:3:1: invalid concurrency 1025 for registry "a": must be at most 1024`,
		`imglock.toml:5:1: invalid concurrency -2 for registry "b": must not be negative`,
	}},
	{"registry hosts", `[registries.""]
[registries."https://docker.io"]
[registries."docker.io/library"]
[registries."bad_host"]
[registries."[::1]:5000"]
`, []string{
		`imglock.toml:1:13: empty registry host`,
		`imglock.toml:2:13: invalid registry host "https://docker.io": want HOST[:PORT], without a scheme`,
		`imglock.toml:3:13: invalid registry host "docker.io/library": want HOST[:PORT], without a path`,
		`imglock.toml:4:13: invalid registry host "bad_host": want HOST[:PORT]`,
	}},
	{"one registry twice", `[registries."index.docker.io"]
mirror = "mirror.gcr.io"
[registries."docker.io"]
insecure = true
[registries."registry-1.docker.io"]
ca = "ca.pem"
`, []string{
		`imglock.toml:3:13: registry "docker.io" is configured already, as "index.docker.io" at line 1`,
		`imglock.toml:5:13: registry "registry-1.docker.io" is configured already, as "index.docker.io" at line 1`,
	}},
	{"registry settings", `[registries."docker.io"]
mirror = "https://mirror.gcr.io"
[registries.quay]
  mirror = "a b"
  ca = ""
[registries.ghcr]
mirror = "harbor.example/Docker"
[registries.gitlab]
mirror = ""
`, []string{
		`imglock.toml:2:1: mirror of registry "docker.io": invalid mirror "https://mirror.gcr.io": want HOST[:PORT][/PATH], without a scheme`,
		`imglock.toml:4:3: mirror of registry "quay": invalid registry host "a b": want HOST[:PORT]`,
		`imglock.toml:5:3: empty ca path for registry "quay"`,
		`imglock.toml:7:1: mirror of registry "ghcr": invalid path "Docker": want lower-case repository path components`,
		`imglock.toml:9:1: mirror of registry "gitlab": empty registry host`,
	}},
	{"build-arg names", "build-args.'' = 'x'\n[[dockerfile]]\npath = 'a'\nbuild-args = { '' = '1' }\nvariants = [{ A = '' }, { '' = '' }]\n[[variant]]\nbuild-args.\"\" = \"x\"\n", []string{
		`imglock.toml:1:12: empty build-arg name`,
		`imglock.toml:4:16: empty build-arg name`,
		`imglock.toml:5:27: empty build-arg name`,
		`imglock.toml:7:12: empty build-arg name`,
	}},
	{"dockerfile tables", `[[dockerfile]]
platforms = ["linux"]
[[dockerfile]]
path = "/abs/**"
targets = ["dev", ""]
[[dockerfile]]
path = "a/[b"
`, []string{
		`imglock.toml:1:3: path is required in every [[dockerfile]]`,
		`imglock.toml:2:14: invalid platform "linux": want OS/ARCH or OS/ARCH/VARIANT`,
		`imglock.toml:4:1: invalid path pattern "/abs/**": must be relative to the repository root`,
		`imglock.toml:5:19: empty target name`,
		`imglock.toml:7:1: invalid path pattern "a/[b": bad glob syntax`,
	}},
	{"empty build-arg name in a table for an array", "[[dockerfile]]\npath = 'a'\nvariants.\"\" = ''\n[[dockerfile]]\npath = 'b'\n[dockerfile.variants]\n'' = ''\n",
		[]string{`imglock.toml:3:10: empty build-arg name`, `imglock.toml:7:1: empty build-arg name`}},
	{"empty inline dockerfile table", "dockerfile = [{}]\n",
		[]string{`imglock.toml:1:15: path is required in every [[dockerfile]]`}},
	{"compose and bake", `[[compose]]
env-files = [""]
[[compose]]
path = ""
profiles = ["a", ""]
[bake]
files = [""]
`, []string{
		`imglock.toml:1:3: path is required in every [[compose]]`,
		`imglock.toml:2:14: empty env-file name`,
		`imglock.toml:4:1: invalid path pattern "": empty`,
		`imglock.toml:5:18: empty profile name`,
		`imglock.toml:7:10: empty bake file name`,
	}},
	{"bad values under miscased keys", "Platforms = [\"Linux\"]\nConcurrency = 5000\n", []string{
		`imglock.toml:1:1: unknown key "Platforms"; did you mean "platforms"?`,
		`imglock.toml:1:14: invalid platform "Linux": want OS/ARCH or OS/ARCH/VARIANT`,
		`imglock.toml:2:1: unknown key "Concurrency"; did you mean "concurrency"?`,
		`imglock.toml:2:1: invalid concurrency 5000: must be at most 1024`,
	}},
	{"unknown keys and bad values together", "timeout = \"soon\"\nplatform = []\nconcurrency = 2000\n", []string{
		`imglock.toml:1:1: invalid timeout "soon": want a duration such as "90s" or "2m"`,
		`imglock.toml:2:1: unknown key "platform"; did you mean "platforms"?`,
		`imglock.toml:3:1: invalid concurrency 2000: must be at most 1024`,
	}},
	{"control characters in values", "include = [\"a\\u001b[2J\"]\n[registries.\"\\u202e\"]\n", []string{
		`imglock.toml:1:12: invalid include pattern "a\x1b[2J": bad glob syntax`,
		`imglock.toml:2:13: invalid registry host "\u202e": want HOST[:PORT]`,
	}},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorTests {
		t.Run(tt.desc, func(t *testing.T) {
			c, err := parseRepo(FileName, []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse = %+v, want errors", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error: %+v", c)
			}
			var list diag.List
			if !errors.As(err, &list) {
				t.Fatalf("error %v is a %T, want a diag.List", err, err)
			}
			var got []string
			for _, d := range list {
				if d.Kind != diag.Input {
					t.Errorf("%v: kind %v, want diag.Input", d, d.Kind)
				}
				got = append(got, d.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse errors:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	c, err := Load(filepath.Join(t.TempDir(), FileName))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, &Config{}) {
		t.Errorf("Load(missing) = %+v, want the zero Config", c)
	}
}

func TestLoadReadError(t *testing.T) {
	// A directory where the file should be is not a missing file.
	if _, err := Load(t.TempDir()); err == nil {
		t.Error("Load(directory) succeeded")
	}
}

func TestTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	data := strings.Repeat("# padding\n", MaxSize/10+1)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	// Positioned where the file crosses the limit.
	want := fmt.Sprintf("%s:%d:7: file too large: at most %d bytes allowed", path, MaxSize/10+1, MaxSize)
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
	line := `include = ["` + strings.Repeat("x", 2*MaxSize) + `"]` + "\n"
	if err := os.WriteFile(path, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	want = fmt.Sprintf("%s:1:%d: file too large: at most %d bytes allowed", path, MaxSize+1, MaxSize)
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
	// The limit is on the file, not on what it holds.
	if _, err := parseRepo(FileName, []byte(data[:MaxSize])); err != nil {
		t.Errorf("parseRepo(%d bytes): %v", MaxSize, err)
	}
}

func TestLoadCA(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	abs := filepath.Join(t.TempDir(), "abs.pem")
	data := "[registries.a]\nca = \"certs/internal-ca.pem\"\n[registries.b]\nca = '" + abs + "'\n[registries.c]\ninsecure = true\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	// A relative path to the file still gives an absolute CA path.
	t.Chdir(dir)
	c, err := Load(FileName)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"a": filepath.Join(dir, "certs", "internal-ca.pem"), "b": abs, "c": ""} {
		if got := c.Registries[host].CA; got != want {
			t.Errorf("registry %s: CA %q, want %q", host, got, want)
		}
	}
	if c.File != FileName {
		t.Errorf("File = %q, want %q", c.File, FileName)
	}
}

func TestLoadErrorNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte("\nplatforms = [\"linux\"]\nplatfrom = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := path + `:2:14: invalid platform "linux": want OS/ARCH or OS/ARCH/VARIANT` + "\n" +
		path + `:3:1: unknown key "platfrom"; did you mean "platforms"?`
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
	if code := diag.ExitCode(err); code != diag.ExitInput {
		t.Errorf("exit code %d, want %d", code, diag.ExitInput)
	}
}

func TestLoadMachine(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("timeout = '1m'\nconcurrency = 8\n[registries.\"index.docker.io\"]\nmirror = 'mirror.gcr.io'\nca = 'ca.pem'\n")
	c, err := LoadMachine(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{Timeout: time.Minute, Concurrency: 8, File: path, Registries: map[string]Registry{
		"docker.io": {Mirror: "mirror.gcr.io", CA: filepath.Join(dir, "ca.pem"), Fallback: true,
			Source: map[string]string{"mirror": path + ":4", "ca": path + ":5"}},
	}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("LoadMachine\n got %+v\nwant %+v", c, want)
	}

	write("include = ['x']\nplatforms = []\ntimeout = '1m'\n[[dockerfile]]\npath = '**'\n[[variant]]\n[bake]\n")
	_, err = LoadMachine(path)
	wantErr := strings.Join([]string{
		path + ":1:1: include is only allowed in imglock.toml",
		path + ":2:1: platforms is only allowed in imglock.toml",
		path + ":4:3: dockerfile is only allowed in imglock.toml",
		path + ":6:3: variant is only allowed in imglock.toml",
		path + ":7:2: bake is only allowed in imglock.toml",
	}, "\n")
	if err == nil || err.Error() != wantErr {
		t.Errorf("LoadMachine error:\n%v\nwant:\n%s", err, wantErr)
	}

	for _, p := range []string{"", filepath.Join(dir, "missing.toml")} {
		if c, err := LoadMachine(p); err != nil || !reflect.DeepEqual(c, &Config{}) {
			t.Errorf("LoadMachine(%q) = %+v, %v; want the zero Config", p, c, err)
		}
	}
}

func TestMachinePath(t *testing.T) {
	t.Setenv("HOME", "/home/u")
	t.Setenv("XDG_CONFIG_HOME", "/xdg")
	if got, want := MachinePath(), filepath.Join("/xdg", "imglock", "config.toml"); got != want {
		t.Errorf("MachinePath() = %q, want %q", got, want)
	}
	for _, xdg := range []string{"", "relative"} {
		t.Setenv("XDG_CONFIG_HOME", xdg)
		if got, want := MachinePath(), filepath.Join("/home/u", ".config", "imglock", "config.toml"); got != want {
			t.Errorf("XDG_CONFIG_HOME=%q: MachinePath() = %q, want %q", xdg, got, want)
		}
	}
	t.Setenv("HOME", "")
	if got := MachinePath(); got != "" {
		t.Errorf("without a home: MachinePath() = %q, want \"\"", got)
	}
}

func TestMerge(t *testing.T) {
	machine, err := parseRepo("machine.toml", []byte(`timeout = "1m"
concurrency = 4
[registries."docker.io"]
mirror = "mirror.gcr.io"
fallback = false
concurrency = 2
[registries.quay]
insecure = true
`))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := parseRepo(FileName, []byte(`timeout = "5m"
platforms = ["linux/arm64"]
[registries."index.docker.io"]
mirror = "harbor.example/hub"
[registries.ghcr]
ca = "ca.pem"
`))
	if err != nil {
		t.Fatal(err)
	}
	got := Merge(machine, repo)
	want := &Config{
		Timeout: 5 * time.Minute, Concurrency: 4, Platforms: []string{"linux/arm64"}, File: FileName,
		Registries: map[string]Registry{
			"docker.io": {Mirror: "harbor.example/hub", Fallback: false, Concurrency: 2, Source: map[string]string{
				"mirror": "imglock.toml:4", "fallback": "machine.toml:5", "concurrency": "machine.toml:6"}},
			"quay": {Insecure: true, Fallback: true, Source: map[string]string{"insecure": "machine.toml:8"}},
			"ghcr": {CA: "ca.pem", Fallback: true, Source: map[string]string{"ca": "imglock.toml:6"}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Merge\n got %+v\nwant %+v", got, want)
	}
	if machine.Registries["docker.io"].Mirror != "mirror.gcr.io" || len(machine.Registries["docker.io"].Source) != 3 {
		t.Errorf("Merge modified its argument: %+v", machine.Registries["docker.io"])
	}
	if Merge(nil, repo) != repo || Merge(machine, nil) != machine {
		t.Error("Merge with nil did not return the other")
	}
}

func TestForDockerfile(t *testing.T) {
	c, err := parseRepo(FileName, []byte(`platforms = ["linux/amd64"]
[build-args]
GO = "1.22"
BASE = "alpine"
[[dockerfile]]
path = "images/**"
build-args = { BASE = "debian", EXTRA = "1" }
platforms = ["linux/amd64", "linux/arm64"]
variants = [{ FLAVOR = "slim" }]
[[dockerfile]]
path = "images/tools/Dockerfile"
build-args = { GO = "1.23" }
targets = ["dev"]
variants = [{ FLAVOR = "full" }]
[[dockerfile]]
path = "**/Containerfile"
platforms = []
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want Settings
	}{
		{"Dockerfile", Settings{BuildArgs: map[string]string{"GO": "1.22", "BASE": "alpine"}, Platforms: []string{"linux/amd64"}}},
		{"images/app/Dockerfile", Settings{
			BuildArgs: map[string]string{"GO": "1.22", "BASE": "debian", "EXTRA": "1"},
			Platforms: []string{"linux/amd64", "linux/arm64"},
			Variants:  []map[string]string{{"FLAVOR": "slim"}},
		}},
		{"images/tools/Dockerfile", Settings{
			BuildArgs: map[string]string{"GO": "1.23", "BASE": "debian", "EXTRA": "1"},
			Platforms: []string{"linux/amd64", "linux/arm64"},
			Targets:   []string{"dev"},
			Variants:  []map[string]string{{"FLAVOR": "slim"}, {"FLAVOR": "full"}},
		}},
		{"images/x/Containerfile", Settings{
			BuildArgs: map[string]string{"GO": "1.22", "BASE": "debian", "EXTRA": "1"},
			Platforms: []string{},
			Variants:  []map[string]string{{"FLAVOR": "slim"}},
		}},
	} {
		if got := c.ForDockerfile(tt.path); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ForDockerfile(%s)\n got %+v\nwant %+v", tt.path, got, tt.want)
		}
	}
	if c.BuildArgs["BASE"] != "alpine" {
		t.Error("ForDockerfile modified the global build args")
	}
	if got := (&Config{Dockerfiles: []PathSettings{{Path: "**", BuildArgs: map[string]string{"A": "1"}}}}).ForDockerfile("x"); !reflect.DeepEqual(got.BuildArgs, map[string]string{"A": "1"}) {
		t.Errorf("without global build args: %v", got.BuildArgs)
	}
	var none *Config
	if got := none.ForDockerfile("Dockerfile"); !reflect.DeepEqual(got, Settings{}) {
		t.Errorf("nil Config: %+v", got)
	}
}

func TestForCompose(t *testing.T) {
	c, err := parseRepo(FileName, []byte(`[[compose]]
path = "**/compose.yaml"
env-files = [".env"]
[[compose]]
path = "deploy/compose.yaml"
profiles = ["debug"]
files = ["compose.full.yaml"]
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		want ComposeSettings
	}{
		{"compose.yaml", ComposeSettings{Path: "compose.yaml", EnvFiles: []string{".env"}, Line: 1}},
		{"deploy/compose.yaml", ComposeSettings{Path: "deploy/compose.yaml", EnvFiles: []string{".env"}, Profiles: []string{"debug"}, Files: []string{"compose.full.yaml"}, Line: 4}},
		{"docker-compose.yml", ComposeSettings{Path: "docker-compose.yml"}},
	} {
		if got := c.ForCompose(tt.path); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ForCompose(%s)\n got %+v\nwant %+v", tt.path, got, tt.want)
		}
	}
	var none *Config
	if got := none.ForCompose("compose.yaml"); got.Path != "compose.yaml" {
		t.Errorf("nil Config: %+v", got)
	}
}

func TestRegistry(t *testing.T) {
	c, err := parseRepo(FileName, []byte("[registries.\"docker.io\"]\nmirror = 'm.example'\n[registries.local]\nfallback = false\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"docker.io", "index.docker.io", "registry-1.docker.io"} {
		if r := c.Registry(host); r.Mirror != "m.example" || !r.Fallback {
			t.Errorf("Registry(%s) = %+v", host, r)
		}
	}
	if r := c.Registry("local"); r.Fallback {
		t.Errorf("Registry(local) = %+v, want no fallback", r)
	}
	var none *Config
	for _, r := range []Registry{c.Registry("quay.io"), none.Registry("quay.io")} {
		if !reflect.DeepEqual(r, Registry{Fallback: true}) {
			t.Errorf("unconfigured registry = %+v, want the defaults", r)
		}
	}
}

func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile("testdata/full.toml"); err == nil {
		f.Add(data)
	}
	for _, tt := range errorTests {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parseRepo(FileName, data)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v: want a config or an error", c, err)
		}
		var list diag.List
		if err != nil && !errors.As(err, &list) {
			t.Fatalf("error %v is a %T, want a diag.List", err, err)
		}
		if c != nil {
			list = c.Warnings
		}
		for _, d := range list {
			if d.Line < 1 || d.Col < 1 {
				t.Fatalf("problem without position: %q", d)
			}
			if len(d.Msg) > 2048 || diag.Printable(d.Msg, 2048) != d.Msg {
				t.Fatalf("message is not short printable text: %q", d)
			}
		}
	})
}

// parseRepo parses the content of a repository's imglock.toml.
func parseRepo(name string, data []byte) (*Config, error) { return parse(name, data, false) }
