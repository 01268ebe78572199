package compose

import (
	"slices"
	"strings"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
)

// InlineShift is what turns a line of the inline Dockerfile into a line of
// the compose file that holds it.
func (b Build) InlineShift() int { return max(b.InlineLine, 1) - 1 }

// ParseInline reads the Dockerfile written in the build section, named
// as the compose file that holds it; Pulls puts its references at the
// lines of that file.
func (b Build) ParseInline() (*dockerfile.File, error) {
	f, err := dockerfile.Parse(b.InlineFile, []byte(b.Inline))
	if err != nil {
		problems, _ := diag.Collect(err)
		shift := b.InlineShift()
		for _, d := range problems {
			if d.Line > 0 {
				d.Line += shift
			}
			d.Msg = "dockerfile_inline of service " + b.Service + ": " + d.Msg
		}
	}
	return f, err
}

// ImagePrefix marks an additional context that is an image.
const ImagePrefix = "docker-image://"

// Pulls returns what building b pulls: its Dockerfile f evaluated as
// BuildKit does, for each of b's platforms (platforms when b names none),
// with b's build args, for b's target; an image that an additional
// context of the same name replaces is the context's image (a reference
// at the context's line), or nothing when the context is not an image (a
// directory, another service's build). A context that replaces a stage
// by its name is not followed: what that stage pulls is kept.
func (b Build) Pulls(f *dockerfile.File, platforms []string) ([]dockerfile.Reference, diag.List) {
	if len(b.Platforms) > 0 {
		platforms = b.Platforms
	}
	var builds []dockerfile.Build
	for _, pl := range platforms {
		builds = append(builds, dockerfile.Build{Platform: pl, BuildArgs: b.Args})
	}
	refs, problems := f.Pulls(builds, []string{b.Target})
	if len(b.Platforms) > 0 {
		// The frontend, and a FROM --platform=$BUILDPLATFORM, run on the
		// machine that builds, whatever the platforms built for (a
		// wasi/wasm build compiles on linux/amd64): those are not the
		// platforms the image is pulled for.
		for i, r := range refs {
			if r.Kind == dockerfile.KindSyntax || strings.Contains(r.Platform, "$BUILD") || strings.Contains(r.Platform, "${BUILD") {
				refs[i].Platforms = nil
			}
		}
	}
	if b.Inline != "" {
		// Lines of the inline Dockerfile are lines of the compose file.
		shift := b.InlineShift()
		for i := range refs {
			refs[i].Line += shift
			refs[i].EndLine += shift
		}
		for _, d := range problems {
			if d.File == b.InlineFile && d.Line > 0 {
				d.Line += shift
			}
		}
	}
	if len(b.Contexts) == 0 {
		return refs, problems
	}
	var out []dockerfile.Reference
	byContext := map[string]int{} // index in out of each context's reference
	for _, r := range refs {
		c, ok := b.Contexts[r.Image.Familiar()]
		if !ok || r.Kind == dockerfile.KindSyntax {
			out = append(out, r)
			continue
		}
		image, isImage := strings.CutPrefix(c.Value, ImagePrefix)
		if !isImage {
			continue // a directory, a URL, another service: nothing pulled by name
		}
		if i, ok := byContext[r.Image.Familiar()]; ok {
			out[i].Platforms = union(out[i].Platforms, r.Platforms)
			out[i].Targets = union(out[i].Targets, r.Targets)
			out[i].Default = out[i].Default || r.Default
			continue
		}
		ref, err := imageref.Parse(image)
		if err != nil {
			problems.Add(diag.Input, c.File, c.Line, "additional context %s of service %s: %v", r.Image.Familiar(), b.Service, err)
			continue
		}
		written, _ := strings.CutPrefix(c.Written, ImagePrefix)
		byContext[r.Image.Familiar()] = len(out)
		out = append(out, dockerfile.Reference{
			File: c.File, Line: c.Line, EndLine: c.Line, Kind: KindContext,
			Written: written, Expanded: image, Image: ref,
			Platforms: r.Platforms, Targets: r.Targets, Default: r.Default,
		})
	}
	return out, problems
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
