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
	got, err := Parse("full.toml", data)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Include:     []string{"docker/**/*.Dockerfile", "Dockerfile"},
		Exclude:     []string{"examples/**"},
		Platforms:   []string{"linux/amd64", "linux/arm64", "linux/arm/v7"},
		Timeout:     Duration(2 * time.Minute),
		Concurrency: 64,
		Registries: map[string]Registry{
			"docker.io":              {Mirror: "mirror.gcr.io"},
			"registry.internal:5000": {Insecure: true, Concurrency: 8, CA: "certs/internal-ca.pem"},
		},
		Variants: []Variant{{BuildArgs: map[string]string{"PYTHON_VERSION": "3.11"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse(full.toml)\n got %+v\nwant %+v", got, want)
	}
	if n := got.RegistryConcurrency("registry.internal:5000", 4); n != 8 {
		t.Errorf("RegistryConcurrency(registry.internal:5000) = %d, want 8", n)
	}
	if n := got.RegistryConcurrency("docker.io", 4); n != 64 {
		t.Errorf("RegistryConcurrency(docker.io) = %d, want 64", n)
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
			&Config{Timeout: Duration(90 * time.Second), Platforms: []string{"linux/amd64"},
				Registries: map[string]Registry{"localhost:5000": {Insecure: true}}}},
		{"inline tables and dotted keys", `registries."[::1]:5000".ca = "/etc/ca.pem"
registries.docker-io = { mirror = "mirror.gcr.io:443" }
variant = [{ build-args = { A = "1" } }, { build-args.B = "" }]
`, &Config{
			Registries: map[string]Registry{
				"docker-io":  {Mirror: "mirror.gcr.io:443"},
				"[::1]:5000": {CA: "/etc/ca.pem"},
			},
			Variants: []Variant{{BuildArgs: map[string]string{"A": "1"}}, {BuildArgs: map[string]string{"B": ""}}},
		}},
		{"insecure with a CA", "[registries.r]\ninsecure = true\nca = \"ca.pem\"\n",
			&Config{Registries: map[string]Registry{"r": {Insecure: true, CA: "ca.pem"}}}},
		{"bounds", "concurrency = 1024\ntimeout = \"0s\"\n[registries.\"127.0.0.1:65535\"]\nconcurrency = 0\n",
			&Config{Concurrency: 1024, Registries: map[string]Registry{"127.0.0.1:65535": {}}}},
		{"variant tables", "[[variant]]\n[variant.build-args]\nX = \"y\"\n",
			&Config{Variants: []Variant{{BuildArgs: map[string]string{"X": "y"}}}}},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := Parse(FileName, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// errorTests are invalid files and the exact errors, in file order.
var errorTests = []struct {
	desc string
	in   string
	want []string
}{
	// Syntax.
	{"missing equals", "timeout \"2m\"\n",
		[]string{`imglock.toml:1:9: expected '=' after key`}},
	{"unterminated array", "platforms = [\n",
		[]string{`imglock.toml:1:14: array is incomplete`}},
	{"duplicate key", "concurrency = 1\nconcurrency = 2\n",
		[]string{`imglock.toml:2:1: key concurrency is already defined`}},
	{"integer overflow", "concurrency = 99999999999999999999\n",
		[]string{`imglock.toml:1:15: decimal number is too large to fit in a 64-bit signed integer`}},
	{"syntax error after BOM with CRLF", "\xEF\xBB\xBFconcurrency = 1\r\n[registries\r\n",
		[]string{`imglock.toml:2:12: expected ']' to close table name`}},

	// Unknown keys.
	{"unknown keys everywhere", `platfrom = ["linux/amd64"]
foo.bar = 2
[registries."docker.io"]
mirrror = "x"
[registries.x.sub]
[[variant]]
build_args = {}
[[variant]]
Build-Args = {}
[[variant]]
x = 1
`, []string{
		`imglock.toml:1:1: unknown key "platfrom"; did you mean "platforms"?`,
		`imglock.toml:2:1: unknown key "foo"`,
		`imglock.toml:4:1: unknown key "mirrror" in registries."docker.io"; did you mean "mirror"?`,
		`imglock.toml:5:15: unknown key "sub" in registries.x`,
		`imglock.toml:7:1: unknown key "build_args" in variant[0]; did you mean "build-args"?`,
		`imglock.toml:9:1: unknown key "Build-Args" in variant[1]; did you mean "build-args"?`,
		`imglock.toml:11:1: unknown key "x" in variant[2]`,
	}},
	{"miscased keys", `Platforms = ["linux/amd64"]
[registries.a]
CA = "x"
[[Variant]]
build-args = {}
`, []string{
		`imglock.toml:1:1: unknown key "Platforms"; did you mean "platforms"?`,
		`imglock.toml:3:1: unknown key "CA" in registries.a; did you mean "ca"?`,
		`imglock.toml:4:3: unknown key "Variant"; did you mean "variant"?`,
	}},
	{"unknown key in nested inline tables", `registries = { "docker.io" = { mirrror = "x" } }`,
		[]string{`imglock.toml:1:32: unknown key "mirrror" in registries."docker.io"; did you mean "mirror"?`}},
	{"unknown keys in dotted keys and inline tables", `registries."docker.io".insecur = true
variant = [{}, { buildargs = {} }]
registries.y = { mirorr = "m" }
`, []string{
		`imglock.toml:1:24: unknown key "insecur" in registries."docker.io"; did you mean "insecure"?`,
		`imglock.toml:2:18: unknown key "buildargs" in variant[1]; did you mean "build-args"?`,
		`imglock.toml:3:18: unknown key "mirorr" in registries.y; did you mean "mirror"?`,
	}},

	// Wrong types.
	{"wrong types", `concurrency = "8"
platforms = ["linux/amd64", 1]
timeout = 90
include = "Dockerfile"
registries.x.insecure = "yes"
[registries.y]
concurrency = 1.5
mirror = ["a"]
[variant]
`, []string{
		`imglock.toml:1:1: concurrency must be an integer, not a string`,
		`imglock.toml:2:29: platforms[1] must be a string, not an integer`,
		`imglock.toml:3:1: timeout must be a duration string such as "90s", not an integer`,
		`imglock.toml:4:1: include must be an array of strings, not a string`,
		`imglock.toml:5:14: registries.x.insecure must be a boolean, not a string`,
		`imglock.toml:7:1: registries.y.concurrency must be an integer, not a float`,
		`imglock.toml:8:1: registries.y.mirror must be a string, not an array`,
		`imglock.toml:9:2: variant must be an array of tables, not a table`,
	}},
	{"wrong container types", `registries = ["docker.io"]
[[exclude]]
[x]
variant = "unknown keys are not type-checked"
`, []string{
		`imglock.toml:1:1: registries must be a table, not an array`,
		`imglock.toml:2:3: exclude must be an array of strings, not an array of tables`,
	}},
	{"variant elements", `variant = [{ build-args = { A = 1 } }, "v"]`, []string{
		`imglock.toml:1:29: variant[0].build-args.A must be a string, not an integer`,
		`imglock.toml:1:40: variant[1] must be a table, not a string`,
	}},
	{"wrong type under a miscased key", "Concurrency = \"8\"\n",
		[]string{`imglock.toml:1:1: Concurrency must be an integer, not a string`}},
	{"bad values under miscased keys", "Platforms = [\"Linux\"]\nConcurrency = 5000\n", []string{
		`imglock.toml:1:1: unknown key "Platforms"; did you mean "platforms"?`,
		`imglock.toml:1:14: invalid platform "Linux": want os/arch[/variant] in lower case, such as "linux/amd64" or "linux/arm/v7"`,
		`imglock.toml:2:1: unknown key "Concurrency"; did you mean "concurrency"?`,
		`imglock.toml:2:1: invalid concurrency 5000: must be at most 1024`,
	}},
	{"registry not a table", "registries.\"docker.io\" = \"mirror.gcr.io\"\n",
		[]string{`imglock.toml:1:12: registries."docker.io" must be a table, not a string`}},
	{"build-arg not a string", "[[variant]]\nbuild-args = { A = 1, B = true }\n", []string{
		`imglock.toml:2:16: variant[0].build-args.A must be a string, not an integer`,
		`imglock.toml:2:23: variant[0].build-args.B must be a string, not a boolean`,
	}},
	{"date", "timeout = 2024-01-01\n",
		[]string{`imglock.toml:1:1: timeout must be a duration string such as "90s", not a date`}},

	// Bad values.
	{"platforms", `platforms = ["linux", "Linux/amd64", "linux/arm/v7/x", "linux/amd64", "linux//v7", "linux/arm/v7"]`, []string{
		`imglock.toml:1:14: invalid platform "linux": want os/arch[/variant] in lower case, such as "linux/amd64" or "linux/arm/v7"`,
		`imglock.toml:1:23: invalid platform "Linux/amd64": want os/arch[/variant] in lower case, such as "linux/amd64" or "linux/arm/v7"`,
		`imglock.toml:1:38: invalid platform "linux/arm/v7/x": want os/arch[/variant] in lower case, such as "linux/amd64" or "linux/arm/v7"`,
		`imglock.toml:1:71: invalid platform "linux//v7": want os/arch[/variant] in lower case, such as "linux/amd64" or "linux/arm/v7"`,
	}},
	{"tab and bidi override in a redefined key", "\"a\tb\u202e\" = 1\n\"a\tb\u202e\" = 2\n",
		[]string{`imglock.toml:2:1: key a\tb\u202e is already defined`}},
	{"long pattern", `include = ["[` + strings.Repeat("a", 1000) + `"]`,
		[]string{`imglock.toml:1:12: invalid include pattern "[` + strings.Repeat("a", 255) + `...": bad glob syntax`}},
	{"bad duration", "timeout = \"5 s\"\n",
		[]string{`imglock.toml:1:1: invalid timeout "5 s": want a duration such as "90s" or "2m"`}},
	{"empty duration", "timeout = ''\n",
		[]string{`imglock.toml:1:1: invalid timeout "": want a duration such as "90s" or "2m"`}},
	{"negative timeout", "  timeout = \"-1s\"\n",
		[]string{`imglock.toml:1:3: invalid timeout "-1s": must not be negative`}},
	{"concurrency", "concurrency = -1\n[registries.a]\nconcurrency = 1025\n", []string{
		`imglock.toml:1:1: invalid concurrency -1: must not be negative`,
		`imglock.toml:3:1: invalid concurrency 1025 for registry "a": must be at most 1024`,
	}},
	{"registry concurrency negative", "registries.a.concurrency = -2\n",
		[]string{`imglock.toml:1:14: invalid concurrency -2 for registry "a": must not be negative`}},
	{"globs", `include = ["[a-", "", "/abs/Dockerfile", "ok/**"]
exclude = ["a/{b", "\\"]
`, []string{
		`imglock.toml:1:12: invalid include pattern "[a-": bad glob syntax`,
		`imglock.toml:1:19: invalid include pattern "": empty`,
		`imglock.toml:1:23: invalid include pattern "/abs/Dockerfile": must be relative to the repository root`,
		`imglock.toml:2:12: invalid exclude pattern "a/{b": bad glob syntax`,
		`imglock.toml:2:20: invalid exclude pattern "\\": bad glob syntax`,
	}},
	{"registry names", `[registries.""]
[registries."https://docker.io"]
[registries."docker.io/library"]
[registries."bad_host"]
[registries."host:"]
[registries."host:0"]
[registries."host:65536"]
[registries."::1"]
[registries."[::1"]
[registries."[1.2.3.4]:80"]
[registries."-a.example"]
[registries."[::1]:5000"]
`, []string{
		`imglock.toml:1:13: invalid registry "": empty name`,
		`imglock.toml:2:13: invalid registry "https://docker.io": want host[:port], without a scheme`,
		`imglock.toml:3:13: invalid registry "docker.io/library": want host[:port], without a path`,
		`imglock.toml:4:13: invalid registry "bad_host": want host[:port]`,
		`imglock.toml:5:13: invalid registry "host:": empty port`,
		`imglock.toml:6:13: invalid registry "host:0": invalid port "0"`,
		`imglock.toml:7:13: invalid registry "host:65536": invalid port "65536"`,
		`imglock.toml:8:13: invalid registry "::1": want host[:port]`,
		`imglock.toml:9:13: invalid registry "[::1": want host[:port]`,
		`imglock.toml:10:13: invalid registry "[1.2.3.4]:80": want host[:port], with an IPv6 address in brackets`,
		`imglock.toml:11:13: invalid registry "-a.example": want host[:port]`,
	}},
	{"mirrors", `[registries."docker.io"]
mirror = "https://mirror.gcr.io"
[registries.quay]
  mirror = "a b"
`, []string{
		`imglock.toml:2:1: invalid mirror "https://mirror.gcr.io" for registry "docker.io": want host[:port], without a scheme`,
		`imglock.toml:4:3: invalid mirror "a b" for registry "quay": want host[:port]`,
	}},
	{"empty build-arg name", "[[variant]]\nbuild-args = { A = \"1\" }\n[[variant]]\nbuild-args.\"\" = \"x\"\n",
		[]string{`imglock.toml:4:12: empty build-arg name in variant[1]`}},
	{"empty build-arg name inline", "variant = [{ build-args = { '' = 'x' } }]\n",
		[]string{`imglock.toml:1:29: empty build-arg name in variant[0]`}},
	{"unknown keys and bad values together", "timeout = \"soon\"\nplatform = []\nconcurrency = 2000\n", []string{
		`imglock.toml:1:1: invalid timeout "soon": want a duration such as "90s" or "2m"`,
		`imglock.toml:2:1: unknown key "platform"; did you mean "platforms"?`,
		`imglock.toml:3:1: invalid concurrency 2000: must be at most 1024`,
	}},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorTests {
		t.Run(tt.desc, func(t *testing.T) {
			c, err := Parse(FileName, []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse = %+v, want errors", c)
			}
			if c != nil {
				t.Errorf("Parse returned a config with an error: %+v", c)
			}
			var got []string
			for _, e := range unwrap(err) {
				var ce *Error
				if !errors.As(e, &ce) {
					t.Errorf("error %v is a %T, want *Error", e, e)
				}
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse errors:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(tt.want, "\n     "))
			}
		})
	}
}

func unwrap(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestErrorString(t *testing.T) {
	for _, tt := range []struct {
		err  Error
		want string
	}{
		{Error{"imglock.toml", 3, 7, "bad"}, "imglock.toml:3:7: bad"},
		{Error{"imglock.toml", 3, 0, "bad"}, "imglock.toml:3: bad"},
		{Error{"imglock.toml", 0, 0, "bad"}, "imglock.toml: bad"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
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
	if _, err := Parse(FileName, []byte(data[:MaxSize])); err != nil {
		t.Errorf("Parse(%d bytes): %v", MaxSize, err)
	}
}

func TestLoadCA(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FileName)
	abs := filepath.Join(t.TempDir(), "abs.pem")
	data := `[registries.a]
ca = "certs/internal-ca.pem"
[registries.b]
ca = '` + abs + `'
[registries.c]
insecure = true
`
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	// A relative path to the file still gives an absolute CA path.
	t.Chdir(dir)
	c, err := Load(FileName)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Registry{
		"a": {CA: filepath.Join(dir, "certs", "internal-ca.pem")},
		"b": {CA: abs},
		"c": {Insecure: true},
	}
	if !reflect.DeepEqual(c.Registries, want) {
		t.Errorf("Registries\n got %+v\nwant %+v", c.Registries, want)
	}
}

func TestLoadErrorNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, []byte("\nplatforms = [\"linux\"]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	want := path + `:2:14: invalid platform "linux": want os/arch[/variant] in lower case, such as "linux/amd64" or "linux/arm/v7"`
	if err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
}

func TestRegistryConcurrency(t *testing.T) {
	c := &Config{Registries: map[string]Registry{"a": {Concurrency: 3}, "b": {Insecure: true}}}
	for _, tt := range []struct {
		c    *Config
		host string
		want int
	}{
		{c, "a", 3},
		{c, "b", 10},
		{c, "c", 10},
		{&Config{Concurrency: 5, Registries: c.Registries}, "b", 5},
		{&Config{Concurrency: 5, Registries: c.Registries}, "a", 3},
		{nil, "a", 10},
	} {
		if got := tt.c.RegistryConcurrency(tt.host, 10); got != tt.want {
			t.Errorf("RegistryConcurrency(%q) = %d, want %d", tt.host, got, tt.want)
		}
	}
}

func TestDuration(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d != Duration(90*time.Second) {
		t.Errorf("UnmarshalText(1m30s) = %v, %v", d, err)
	}
	if err := d.UnmarshalText([]byte("90")); err == nil {
		t.Error("UnmarshalText(90) succeeded")
	}
	if b, _ := d.MarshalText(); string(b) != "1m30s" {
		t.Errorf("MarshalText = %s", b)
	}
}

// document must decode the same keys as Config.
func TestDocumentMirrorsConfig(t *testing.T) {
	ct, dt := reflect.TypeFor[Config](), reflect.TypeFor[document]()
	if ct.NumField() != dt.NumField() {
		t.Fatalf("Config has %d fields, document %d", ct.NumField(), dt.NumField())
	}
	for i := range ct.NumField() {
		cf, df := ct.Field(i), dt.Field(i)
		if cf.Name != df.Name || cf.Tag != df.Tag {
			t.Errorf("field %d: Config.%s %s, document.%s %s", i, cf.Name, cf.Tag, df.Name, df.Tag)
		}
		if cf.Name != "Timeout" && cf.Type != df.Type {
			t.Errorf("field %s: Config has %s, document %s", cf.Name, cf.Type, df.Type)
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
		c, err := Parse(FileName, data)
		if (c == nil) == (err == nil) {
			t.Fatalf("Parse = %v, %v: want a config or an error", c, err)
		}
		for _, e := range unwrap(err) {
			var ce *Error
			if !errors.As(e, &ce) {
				t.Fatalf("error %v is a %T, want *Error", e, e)
			}
			if ce.Line < 1 || ce.Col < 1 {
				t.Fatalf("error without position: %q", ce)
			}
			if !printable(ce.Msg) {
				t.Fatalf("error is not short printable text: %q", ce)
			}
		}
	})
}

// printable reports whether an error message is short printable text: what
// a malformed input may put in a log, escaped by diag.Printable.
func printable(s string) bool { return len(s) <= 2048 && diag.Printable(s, 2048) == s }
