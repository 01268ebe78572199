// Package oracle is test support (used only by tests): it asks BuildKit's
// own Dockerfile converter, dockerfile2llb, which images a build pulls.
//
// imglock's rule is that images.lock holds exactly what BuildKit would
// pull. Reading that off a Dockerfile means re-implementing dockerfile2llb's
// ARG expansion, stage matching and reachability; this package runs the real
// converter instead, offline, so tests can hold imglock's evaluator to it
// (a differential test) and pin BuildKit's behaviour in a golden file
// (testdata/dockerfiles/oracle.golden, over the corpus in
// testdata/dockerfiles). Generate makes random Dockerfiles for the
// differential tests.
//
// It imports dockerfile2llb, a heavy dependency: import it from _test.go
// files only, never from product code.
package oracle

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/solver/pb"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// DefaultPlatform is the platform Options.Platform defaults to: imglock's
// own default, so an answer never depends on the machine running the test.
const DefaultPlatform = "linux/amd64"

// Options is one build: docker build --target T --platform P --build-arg ...
type Options struct {
	Target    string            // --target; "" builds the last stage
	Platform  string            // --platform, e.g. "linux/arm64"; "" is DefaultPlatform
	BuildArgs map[string]string // --build-arg KEY=VALUE
}

// Source is one image source of the build's LLB.
type Source struct {
	// Ref is the canonical reference, as BuildKit pulls it:
	// docker.io/library/alpine:3.19, with the digest if the Dockerfile
	// wrote one.
	Ref string
	// Platform is the platform the image is pulled for, e.g. linux/amd64
	// for FROM --platform=linux/amd64 in an arm64 build.
	Platform string
}

// Pulls returns the canonical references of the images the build pulls,
// sorted and de-duplicated. Errors are BuildKit's own (see ErrorLine).
func Pulls(dockerfile []byte, opts Options) ([]string, error) {
	srcs, err := Sources(dockerfile, opts)
	if err != nil {
		return nil, err
	}
	var refs []string
	for _, s := range srcs {
		refs = append(refs, s.Ref)
	}
	return slices.Compact(refs), nil
}

// ErrPanic marks an error that is a panic in BuildKit's converter, so a
// fuzz test can tell a crash from an ordinary BuildKit error.
var ErrPanic = errors.New("dockerfile2llb panicked")

// Sources returns the image sources of the build's LLB with the platform
// each is pulled for, sorted by reference, then platform, de-duplicated.
func Sources(dockerfile []byte, opts Options) (srcs []Source, err error) {
	defer func() {
		if v := recover(); v != nil {
			srcs, err = nil, fmt.Errorf("%w: %v", ErrPanic, v)
		}
	}()
	plat := opts.Platform
	if plat == "" {
		plat = DefaultPlatform
	}
	p, err := platforms.Parse(plat)
	if err != nil {
		return nil, fmt.Errorf("platform %q: %w", plat, err)
	}
	p = platforms.Normalize(p)
	// The converter writes to its build args (SOURCE_DATE_EPOCH).
	args := maps.Clone(opts.BuildArgs)
	if args == nil {
		args = map[string]string{}
	}
	caps := pb.Caps.CapSet(pb.Caps.All())
	res, err := dockerfile2llb.Dockerfile2LLB(context.Background(), dockerfile, dockerfile2llb.ConvertOpt{
		Config: dockerui.Config{
			BuildArgs: args,
			Target:    opts.Target,
			// The build platform is the target platform, so BUILDPLATFORM
			// and FROM --platform=$BUILDPLATFORM never depend on the machine.
			BuildPlatforms: []ocispecs.Platform{p},
		},
		TargetPlatform: &p,
		MetaResolver:   offlineResolver{},
		LLBCaps:        &caps,
		// BuildKit's dockerfile frontend always reports lint warnings;
		// with "# check=error=true" they fail the build, as here.
		Warn: func(string, string, string, string, []parser.Range) {},
	})
	if err != nil {
		return nil, err
	}
	def, err := res.State.Marshal(context.Background())
	if err != nil {
		return nil, fmt.Errorf("marshalling LLB: %w", err)
	}
	for _, dt := range def.Def {
		var op pb.Op
		if err := op.UnmarshalVT(dt); err != nil {
			return nil, fmt.Errorf("reading LLB: %w", err)
		}
		src := op.GetSource()
		if src == nil {
			continue
		}
		ref, ok := strings.CutPrefix(src.Identifier, "docker-image://")
		if !ok {
			continue
		}
		s := Source{Ref: ref}
		if op.Platform != nil {
			s.Platform = platforms.Format(ocispecs.Platform{
				OS: op.Platform.OS, Architecture: op.Platform.Architecture, Variant: op.Platform.Variant,
			})
		}
		srcs = append(srcs, s)
	}
	slices.SortFunc(srcs, func(a, b Source) int {
		return cmp.Or(strings.Compare(a.Ref, b.Ref), strings.Compare(a.Platform, b.Platform))
	})
	return slices.Compact(srcs), nil
}

// Frontend reports the image BuildKit's dockerfile frontend forwards the
// build to, as its builder.Build decides (frontend/dockerfile/builder):
// the BUILDKIT_SYNTAX build arg when it is set, else the "# syntax="
// directive (parser.DetectSyntax), in both cases only the text before the
// first space (the rest is the frontend's command line). The reference is
// returned as written; the gateway normalises it (docker.io/..., :latest).
// A BUILDKIT_SYNTAX that is set but blank is forwarded as "", which the
// gateway then fails to parse: Frontend returns "", true.
func Frontend(dockerfile []byte, buildArgs map[string]string) (string, bool) {
	if v, ok := buildArgs["BUILDKIT_SYNTAX"]; ok {
		ref, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		return ref, true
	}
	if ref, _, _, ok := parser.DetectSyntax(dockerfile); ok {
		return ref, true
	}
	return "", false
}

// Stages returns what --target accepts, in file order: each stage name
// once, lower-cased as BuildKit stores it, and "" (no --target) when the
// last stage has no name. BuildKit finds a target by name only, so an
// unnamed stage other than the last is no target; "" builds the last stage
// whatever its name.
func Stages(dockerfile []byte) ([]string, error) {
	res, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return nil, err
	}
	// A linter, even a silent one: BuildKit dereferences it when a
	// "# check=" comment precedes an instruction.
	stages, _, err := instructions.Parse(res.AST, linter.New(&linter.Config{}))
	if err != nil {
		return nil, err
	}
	if len(stages) == 0 {
		return nil, errors.New("dockerfile contains no stages to build")
	}
	var names []string
	for _, st := range stages {
		if st.Name != "" && !slices.Contains(names, st.Name) {
			names = append(names, st.Name)
		}
	}
	if stages[len(stages)-1].Name == "" {
		names = append(names, "")
	}
	return names, nil
}

// ErrorLine is the first line of the Dockerfile an error from Pulls or
// Sources points at, and false when BuildKit gave it no location.
func ErrorLine(err error) (int, bool) {
	var le *parser.LocationError
	if !errors.As(err, &le) {
		return 0, false
	}
	for _, loc := range le.Locations {
		for _, r := range loc {
			if r.Start.Line > 0 {
				return r.Start.Line, true
			}
		}
	}
	return 0, false
}

// offlineResolver answers dockerfile2llb's image config lookups without a
// network: every image exists, for the platform asked, with one layer.
// A config without layers would read as scratch and drop the image source
// (resolveBaseImage); an empty digest keeps the reference as written.
type offlineResolver struct{}

var _ llb.ImageMetaResolver = offlineResolver{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	if _, err := reference.ParseNormalizedNamed(ref); err != nil {
		return "", "", nil, err
	}
	var p ocispecs.Platform
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		p = *opt.ImageOpt.Platform
	}
	img := ocispecs.Image{
		Platform: ocispecs.Platform{OS: p.OS, Architecture: p.Architecture, Variant: p.Variant},
		RootFS: ocispecs.RootFS{
			Type:    "layers",
			DiffIDs: []digest.Digest{digest.FromString("layer of " + ref)},
		},
	}
	dt, err := json.Marshal(img)
	if err != nil {
		return "", "", nil, err
	}
	return ref, "", dt, nil
}
