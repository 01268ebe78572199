package dockerfile_test

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/testing/oracle"
)

// The differential test: for every Dockerfile of the corpus and for
// generated ones, every stage as target, on linux/amd64 and linux/arm64,
// the images imglock says the build pulls (and the platform it pulls each
// for) are exactly the docker-image sources of the LLB that BuildKit's own
// converter makes, and imglock fails exactly where BuildKit does. This test
// is the project's definition of correct.

var generated = flag.Int("generated", 600, "generated Dockerfiles the differential test compares")

var oraclePlatforms = []string{"linux/amd64", "linux/arm64"}

// knownDifferences are corpus files where imglock deliberately answers
// otherwise, and why.
var knownDifferences = map[string]string{
	// BuildKit runs its linter and fails on a violation when the file says
	// "# check=error=true"; imglock does not lint, and locks what the build
	// pulls once its checks pass.
	"check-error-lint.Dockerfile": "lint rules as errors",
}

func TestDifferentialCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "dockerfiles", "*.Dockerfile"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	compared := 0
	for _, path := range files {
		name := filepath.Base(path)
		if why := knownDifferences[name]; why != "" {
			t.Logf("%s: skipped (%s)", name, why)
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		compared += compare(t, name, data)
	}
	t.Logf("%d corpus builds (file x target x platform) agree with BuildKit", compared)
}

func TestDifferentialGenerated(t *testing.T) {
	n := *generated
	if testing.Short() {
		n /= 10
	}
	r := rand.New(rand.NewPCG(1, 2))
	compared := 0
	for i := range n {
		data := oracle.Generate(r)
		before := t.Failed()
		compared += compare(t, "generated", data)
		if !before && t.Failed() {
			t.Fatalf("generated Dockerfile #%d:\n%s", i, data)
		}
	}
	t.Logf("%d generated Dockerfiles, %d builds (file x target x platform) agree with BuildKit", n, compared)
}

// compare holds imglock to BuildKit for every target and platform of one
// Dockerfile and returns the number of builds compared.
func compare(t *testing.T, name string, data []byte) int {
	t.Helper()
	targets, err := oracle.Stages(data)
	f, perr := dockerfile.Parse(name, data)
	if err != nil {
		// BuildKit cannot even list the stages: imglock must refuse it too.
		if perr == nil {
			t.Errorf("%s: BuildKit refuses the file (%v); imglock parses it", name, err)
		}
		return 1
	}
	n := 0
	for _, target := range targets {
		union, clean := []string{}, true // what the builds for every platform pull together
		for _, platform := range oraclePlatforms {
			n++
			want, wantErr := oracle.Sources(data, oracle.Options{Target: target, Platform: platform})
			what := name + " --target=" + target + " --platform=" + platform
			if perr != nil {
				if wantErr == nil {
					t.Errorf("%s: imglock refuses the file (%v); BuildKit builds it", what, perr)
				}
				continue
			}
			refs, problems := f.Pulls([]dockerfile.Build{{Platform: platform}}, []string{target})
			// The frontend is compared apart, below.
			problems = slices.DeleteFunc(problems, func(d *diag.Diagnostic) bool { return strings.HasPrefix(d.Msg, "# syntax=") })
			switch {
			case wantErr != nil && len(problems) == 0 && instructionError(wantErr):
				clean = false
				continue // the build's to report: it pulls nothing it did not say
			case wantErr != nil && len(problems) == 0:
				clean = false
				t.Errorf("%s: BuildKit fails (%v); imglock finds no problem and says it pulls %v", what, wantErr, pulled(refs))
				continue
			case wantErr != nil:
				clean = false
				continue
			case len(problems) > 0:
				t.Errorf("%s: imglock finds problems (%v); BuildKit builds it", what, problems)
				continue
			}
			var wantSet []string
			for _, s := range want {
				wantSet = append(wantSet, s.Ref+" "+s.Platform)
			}
			slices.Sort(wantSet)
			if got := pulled(refs); !slices.Equal(got, wantSet) {
				t.Errorf("%s:\nimglock: %q\nBuildKit: %q", what, got, wantSet)
			}
			union = append(union, wantSet...)
		}
		// One Pulls over both platforms, as the project evaluates: the same
		// images, each for the same platforms.
		if perr == nil && clean {
			var builds []dockerfile.Build
			for _, p := range oraclePlatforms {
				builds = append(builds, dockerfile.Build{Platform: p})
			}
			refs, _ := f.Pulls(builds, []string{target})
			slices.Sort(union)
			if got := pulled(refs); !slices.Equal(got, slices.Compact(union)) {
				t.Errorf("%s --target=%s, both platforms at once:\nimglock: %q\nBuildKit: %q", name, target, got, union)
			}
		}
	}
	// The frontend, chosen once for the file.
	wantFrontend, ok := oracle.Frontend(data, nil)
	if perr == nil {
		refs, problems := f.Pulls([]dockerfile.Build{{Platform: dockerfile.DefaultPlatform}}, nil)
		got := ""
		for _, r := range refs {
			if r.Kind == dockerfile.KindSyntax {
				got = r.Written
			}
		}
		refused := slices.ContainsFunc(problems, func(d *diag.Diagnostic) bool { return strings.HasPrefix(d.Msg, "# syntax=") })
		_, invalid := imageref.Parse(wantFrontend)
		switch want := map[bool]string{true: wantFrontend}[ok]; {
		case ok && invalid != nil:
			// BuildKit forwards to it and fails there: imglock refuses it.
			if !refused {
				t.Errorf("%s: BuildKit's frontend %q is no image; imglock takes it", name, wantFrontend)
			}
		case got != want:
			t.Errorf("%s: frontend %q, BuildKit's %q", name, got, want)
		}
	}
	return n
}

// instructionError reports whether BuildKit's error is one it finds while
// running an instruction, about no image, stage or platform (an
// unterminated quote in COPY's paths, an unsupported mount type): imglock
// reads what a build pulls and leaves those to the build, which stops there
// without pulling anything imglock did not say.
func instructionError(err error) bool {
	// What the message quotes of the file says nothing of its kind.
	msg := strings.ToLower(quoted.ReplaceAllString(err.Error(), `""`))
	for _, about := range []string{"stage", "from", "base name", "reference", "platform", "circular", "dockerfile"} {
		if strings.Contains(msg, about) {
			return false
		}
	}
	return true
}

var quoted = regexp.MustCompile(`"(\\.|[^"\\])*"`)

// pulled is each image imglock says a build pulls, with the platform it is
// pulled for, as the oracle lists them, sorted.
func pulled(refs []dockerfile.Reference) []string {
	var out []string
	for _, r := range refs {
		if r.Kind == dockerfile.KindSyntax {
			continue
		}
		for _, p := range r.Platforms {
			s := r.Image.String() + " " + p
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// FuzzDifferential runs the differential comparison on inputs the fuzzer
// mutates from the corpus and from generated Dockerfiles.
func FuzzDifferential(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "dockerfiles", "*.Dockerfile"))
	for _, path := range files {
		if knownDifferences[filepath.Base(path)] != "" {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		f.Add(oracle.Generate(r))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// BuildKit's linter turns rule violations into errors on request;
		// imglock does not lint (knownDifferences).
		if len(data) > 16<<10 || bytes.Contains(bytes.ToLower(data), []byte("check=")) {
			return
		}
		compare(t, "fuzz", data)
	})
}
