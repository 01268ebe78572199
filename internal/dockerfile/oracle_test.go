package dockerfile_test

import (
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/imglock/imglock/internal/dockerfile"
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
			switch {
			case wantErr != nil && len(problems) == 0:
				t.Errorf("%s: BuildKit fails (%v); imglock finds no problem and says it pulls %v", what, wantErr, pulled(refs))
				continue
			case wantErr != nil:
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
		}
	}
	// The frontend, chosen once for the file.
	wantFrontend, ok := oracle.Frontend(data, nil)
	if perr == nil {
		refs, _ := f.Pulls([]dockerfile.Build{{Platform: dockerfile.DefaultPlatform}}, nil)
		got := ""
		for _, r := range refs {
			if r.Kind == dockerfile.KindSyntax {
				got = r.Written
			}
		}
		if want := map[bool]string{true: wantFrontend}[ok]; got != want {
			t.Errorf("%s: frontend %q, BuildKit's %q", name, got, want)
		}
	}
	return n
}

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
