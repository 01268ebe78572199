package oracle

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"regexp"
	"testing"
)

func TestGenerateIsDeterministic(t *testing.T) {
	for seed := range uint64(50) {
		a := Generate(rand.New(rand.NewPCG(seed, 1)))
		b := Generate(rand.New(rand.NewPCG(seed, 1)))
		if !bytes.Equal(a, b) {
			t.Fatalf("seed %d: two different files", seed)
		}
	}
}

// TestGenerate runs generated files through BuildKit for every target
// and both platforms: no panics, mostly successful builds, and every
// building block present somewhere.
func TestGenerate(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	blocks := map[string]*regexp.Regexp{
		"global ARG with default":   regexp.MustCompile(`(?m)^(?i:arg) .*=`),
		"global ARG without value":  regexp.MustCompile(`(?m)^(?i:arg) [A-Z_]+$`),
		"ARG chain":                 regexp.MustCompile(`(?m)^(?i:arg) .*=\$\{[A-Z_]+\}`),
		"automatic ARG in FROM":     regexp.MustCompile(`(?i)from .*\$\{?TARGET(ARCH|OS)`),
		"ARG-selected stage":        regexp.MustCompile(`base-\$\{[A-Z_]+\}`),
		"FROM earlier stage":        regexp.MustCompile(`(?m)^(?i:from) (build|base|deps|tools)( |$)`),
		"COPY --from index":         regexp.MustCompile(`--from=\d `),
		"COPY --from image":         regexp.MustCompile(`--from=\S+:\S+ `),
		"RUN --mount from=":         regexp.MustCompile(`--mount=\S*from=`),
		"cache mount with from=":    regexp.MustCompile(`--mount=\S*type=cache\S*from=|--mount=\S*from=\S*type=cache`),
		"mixed-case stage name":     regexp.MustCompile(`(?i:as) [A-Z]`),
		"--platform":                regexp.MustCompile(`--platform=`),
		"scratch":                   regexp.MustCompile(`(?i:from) scratch`),
		"registry with port":        regexp.MustCompile(`:\d+/`),
		"digest":                    regexp.MustCompile(`@sha256:[0-9a-f]{64}`),
		"heredoc":                   regexp.MustCompile(`<<EOT`),
		"syntax directive":          regexp.MustCompile(`^# syntax=`),
		"lower-case instruction":    regexp.MustCompile(`(?m)^(from|run|copy) `),
		"unnamed stage":             regexp.MustCompile(`(?m)^(?i:from) \S+$`),
		"ONBUILD":                   regexp.MustCompile(`(?i)onbuild copy`),
		"six stages":                regexp.MustCompile(`(?s)((?i:from) .*){6}`),
		"TARGETSTAGE":               regexp.MustCompile(`TARGETSTAGE`),
		"escape directive":          regexp.MustCompile("^(# syntax=.*\n)?# escape=`"),
		"variable with a fallback":  regexp.MustCompile(`\$\{[A-Z_]+:[-+]`),
		"continuation in FROM":      regexp.MustCompile("(?i)from [^\n]*[\\\\`]\n"),
		"stage-name-like image ref": regexp.MustCompile(`(?m)^(?i:from) (node|alpine|golang)( |$)`),
	}
	seen := make(map[string]bool)
	var builds, failed, pulled int
	for seed := range uint64(n) {
		df := Generate(rand.New(rand.NewPCG(seed, 2)))
		for name, re := range blocks {
			if re.Match(df) {
				seen[name] = true
			}
		}
		targets, err := Stages(df)
		if err != nil {
			targets = []string{""}
		}
		for _, target := range targets {
			for _, platform := range corpusPlatforms {
				builds++
				srcs, err := Sources(df, Options{Target: target, Platform: platform})
				if errors.Is(err, ErrPanic) {
					t.Fatalf("seed %d --target=%q --platform=%s: %v\n%s", seed, target, platform, err, df)
				}
				if err != nil {
					failed++
				} else if len(srcs) > 0 {
					pulled++
				}
			}
		}
	}
	for name := range blocks {
		if !seen[name] {
			t.Errorf("no generated file has a %s", name)
		}
	}
	if failed*4 > builds {
		t.Errorf("%d of %d builds failed; want most generated files to build", failed, builds)
	}
	if pulled*2 < builds {
		t.Errorf("%d of %d builds pulled an image", pulled, builds)
	}
	t.Logf("%d files, %d builds, %d failed, %d pulled images", n, builds, failed, pulled)
}
