package compose

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/imageref"
)

// collect finds the images and builds of the loaded model, each at its
// place. A blank or invalid reference is an error at its line.
func (p *Project) collect(ix *index, top *scope, unset *sync.Map) diag.List {
	var problems diag.List
	services := p.Model.Services // those the profiles enable
	for _, name := range slices.Sorted(maps.Keys(services)) {
		s := services[name]
		// A blank image is reported: the loader says only that the
		// service has neither an image nor a build.
		if at := ix.service(top, name, "image"); (s.Image != "" || at.found()) && pulls(s) {
			img, err := ix.reference(KindImage, at, s.Image, p.Files[0], name, unset)
			if err != nil {
				problems = append(problems, err)
			} else {
				img.Service = name
				if s.Platform != "" {
					img.Platforms = []string{s.Platform}
				}
				p.Images = append(p.Images, img)
			}
		}
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeImage {
				continue
			}
			at := ix.volume(top, name, v.Target)
			img, err := ix.reference(KindVolume, at, v.Source, p.Files[0], name, unset)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			img.Service, img.Target = name, v.Target
			if s.Platform != "" {
				img.Platforms = []string{s.Platform}
			}
			p.Images = append(p.Images, img)
		}
		if s.Build != nil {
			b, notes := ix.build(top, s, p.Model.Environment)
			problems = append(problems, notes...)
			p.Builds = append(p.Builds, b)
		}
	}
	return problems
}

// pulls reports whether docker compose pulls a service's image: one that
// does not build unless its pull_policy says never or build, and one that
// builds only when its pull_policy asks for a pull.
func pulls(s types.ServiceConfig) bool {
	if s.Provider != nil {
		return false
	}
	switch s.PullPolicy {
	case types.PullPolicyNever, types.PullPolicyBuild:
		return false
	case "":
		return s.Build == nil
	}
	return true
}

// reference is the reference at a place, whose value the loader gave as
// expanded. A value that is one variable alone, supplied by a .env file,
// is reported at that line. service and fallback (the main file) place it
// when the YAML has no trace of it.
func (ix *index) reference(kind dockerfile.Kind, at place, expanded, fallback, service string, unset *sync.Map) (Image, *diag.Diagnostic) {
	file, line, written := fallback, 0, expanded
	if at.found() {
		file, line, written = at.file, at.line(), at.value.Value
	}
	what := map[dockerfile.Kind]string{KindImage: "image", KindVolume: "volume source", KindContext: "additional context"}[kind]
	var missing []string
	for _, v := range vars(written) {
		if _, ok := unset.Load(v); ok {
			missing = append(missing, v)
		}
	}
	unsetHint := ""
	switch len(missing) {
	case 0:
	case 1:
		unsetHint = missing[0] + " is not set"
	default:
		unsetHint = strings.Join(missing, ", ") + " are not set"
	}
	if expanded == "" {
		if unsetHint != "" {
			unsetHint = " (" + unsetHint + ")"
		}
		return Image{}, diag.New(diag.Input, ix.name(file), line, "%s of service %s: %s expands to an empty image reference%s", what, service, diag.Printable(written, diag.MaxEcho), unsetHint)
	}
	ref, err := imageref.Parse(expanded)
	if err != nil {
		var details []string
		if written != expanded {
			details = append(details, "written "+diag.Printable(written, diag.MaxEcho))
		}
		if unsetHint != "" {
			details = append(details, unsetHint)
		}
		hint := ""
		if len(details) > 0 {
			hint = " (" + strings.Join(details, "; ") + ")"
		}
		return Image{}, diag.New(diag.Input, ix.name(file), line, "%s of service %s: %v%s", what, service, err, hint)
	}
	img := Image{Reference: dockerfile.Reference{
		File: ix.name(file), Line: line, EndLine: line, Kind: kind,
		Written: written, Expanded: expanded, Image: ref, Default: true,
	}}
	img.Pinnable = written == expanded && at.found() && at.value.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0
	if v := singleVar(written); v != "" && at.found() {
		img.Var = v
		if src := ix.source(at.scope, v); src.file != "" {
			img.File, img.Line, img.EndLine = ix.name(src.file), src.line.line, src.line.line
			img.Written = src.line.value
			img.Pinnable = src.line.exact && src.line.value == expanded
		}
	}
	return img, nil
}

// volume finds the volume of a service that mounts at target: a long-form
// entry of the last file that has one there.
func (ix *index) volume(s *scope, service, target string) place {
	// The lists of the files merge by target: look in each, last first.
	for _, sc := range append([]*scope{s}, ix.allIncludes(s)...) {
		for i := len(sc.files) - 1; i >= 0; i-- {
			p, _ := ix.inFile(sc, sc.files[i], service, []string{"volumes"}, 0)
			if !p.found() || p.value.Kind != yaml.SequenceNode {
				continue
			}
			for _, e := range p.value.Content {
				_, t := get(e, "target")
				if scalar(t) == target {
					k, src := get(e, "source")
					if src != nil {
						return place{file: p.file, key: k, value: deref(src), scope: p.scope}
					}
				}
			}
		}
	}
	return place{}
}

// build reads the build section of service s, with where its parts are.
func (ix *index) build(top *scope, s types.ServiceConfig, env types.Mapping) (Build, diag.List) {
	var notes diag.List
	b := Build{Service: s.Name, Target: s.Build.Target, Image: s.Image, Args: map[string]string{}, Contexts: map[string]Context{}}
	at := ix.service(top, s.Name, "build")
	if at.found() {
		b.File, b.Line = ix.name(at.file), at.line()
		if at.key != nil {
			b.Line = at.key.Line
		}
	}
	ctx := s.Build.Context
	if filepath.IsAbs(ctx) {
		b.Context = ctx
	} else {
		b.Remote = ctx
		notes.Add(diag.Warning, b.File, b.Line, "build of service %s: the context %s is not a local directory; the images its Dockerfile pulls are not locked", s.Name, diag.Printable(ctx, diag.MaxEcho))
	}
	switch {
	case s.Build.DockerfileInline != "":
		b.Inline = s.Build.DockerfileInline
		in := ix.service(top, s.Name, "build", "dockerfile_inline")
		b.InlineFile, b.InlineLine = b.File, b.Line
		if in.found() {
			b.InlineFile, b.InlineLine = ix.name(in.file), in.line()
			if in.value.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				b.InlineLine++ // the text starts on the line after | or >
			}
		}
	case b.Context != "":
		b.Dockerfile = s.Build.Dockerfile
		if b.Dockerfile == "" {
			b.Dockerfile = "Dockerfile"
		}
		if !filepath.IsAbs(b.Dockerfile) {
			b.Dockerfile = filepath.Join(b.Context, b.Dockerfile)
		}
	}
	// An arg without a value takes it from the environment, as docker
	// compose resolves them; one without either is not passed.
	for k, v := range s.Build.Args {
		if v != nil {
			b.Args[k] = *v
		} else if ev, ok := env[k]; ok {
			b.Args[k] = ev
		}
	}
	b.Platforms = s.Build.Platforms
	if len(b.Platforms) == 0 && s.Platform != "" {
		b.Platforms = []string{s.Platform}
	}
	for name, value := range s.Build.AdditionalContexts {
		c := Context{Value: value, File: b.File, Line: b.Line, Written: value}
		if p := ix.service(top, s.Name, "build", "additional_contexts", name); p.found() {
			c.File, c.Line, c.Written = ix.name(p.file), p.line(), p.value.Value
		} else if p := ix.service(top, s.Name, "build", "additional_contexts"); p.found() && p.value.Kind == yaml.SequenceNode {
			for _, e := range p.value.Content {
				if k, v, ok := strings.Cut(scalar(e), "="); ok && k == name {
					c.File, c.Line, c.Written = ix.name(p.file), e.Line, v
				}
			}
		}
		b.Contexts[name] = c
	}
	return b, notes
}
