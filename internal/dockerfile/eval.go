package dockerfile

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/containerd/platforms"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/imageref"
)

// Reference is one image that builds of a Dockerfile pull by name, at one
// place in the file.
type Reference struct {
	File     string // file name as given to Parse
	Line     int    // 1-based line where the instruction (or directive) starts
	EndLine  int    // last line of the instruction, past continuations
	Kind     Kind
	Written  string // the reference as written, before ARG expansion
	Expanded string // after ARG expansion (== Written when no variable)
	// Args names the ARGs the reference depends on, directly or through
	// other ARG defaults, sorted; BuildArgs those of them a build arg set,
	// so the text came (in part) from outside the file.
	Args      []string
	BuildArgs []string
	Platform  string       // the FROM --platform value as written; "" when none
	Stage     string       // for FROM: the stage it declares (lower-cased)
	Image     imageref.Ref // normalised

	// Platforms are those the builds pull it for, sorted: the build's, or
	// the FROM --platform.
	Platforms []string
	// Targets are the targets whose builds pull it, in stage order ("" for
	// an unnamed last stage); Default is set when the default target (the
	// last stage) is one of them.
	Targets []string
	Default bool
	// SelectsStage is set on a FROM whose expression names a stage in
	// another of the builds (another platform or build args): in this one
	// it names an image that may well not exist (moby's FROM
	// containerutil-windows-${TARGETARCH} on arm64).
	SelectsStage bool
	// Near is a stage whose name is close to the image named (a different
	// case, an edit or two): what was meant, perhaps.
	Near string

	// pos tells apart two references at one place (two mounts of one RUN):
	// the stage, and the source within it.
	pos [2]int
	// ownPlatform is set when a FROM --platform, not the build, says what
	// the image is pulled for.
	ownPlatform bool
}

// Pulls evaluates the file for each build, as dockerfile2llb does, and
// returns the images that the builds of targets pull: one Reference per
// place and image, with the platforms and targets that pull it, in file
// order. With no targets given it covers every stage that can be a target
// (each named stage, and the last). The problems are those a build would
// stop at, each once.
func (f *File) Pulls(builds []Build, targets []string) ([]Reference, diag.List) {
	var errs diag.List
	if len(targets) == 0 {
		targets = f.targets()
	}
	byKey := map[pullKey]*Reference{}
	var order []pullKey
	selects := map[int]bool{} // FROM lines that name a stage in some build
	lex := shell.NewLex(f.escape)
	var evaluated []done // so far, for builds that differ only in platform
	for _, b := range builds {
		// TARGETSTAGE, for a build without --target, is the last stage's name.
		ev, reused := reuse(evaluated, b)
		if !reused {
			ev = f.evaluate(b, lex, f.stages[len(f.stages)-1].name)
			evaluated = append(evaluated, done{b, ev})
			errs = append(errs, ev.errs...)
		}
		buildPlatform := []string{formatPlatform(b.Platform)}
		for i, s := range ev.stages {
			if s.base >= 0 {
				selects[f.stages[i].line] = true
			}
		}
		for _, t := range targets {
			tev := ev
			if ev.usesTargetStage && t != f.stages[len(f.stages)-1].name {
				tev = f.evaluate(b, lex, t)
				errs = append(errs, tev.errs...)
			}
			idx, ok := f.targetIndex(t)
			if !ok {
				errs = append(errs, errorf(f.Name, 0, "target stage %q could not be found", t))
				continue
			}
			pulls, problems := tev.reachable(f, idx)
			for _, d := range problems {
				c := *d
				if idx != len(f.stages)-1 {
					// Only this target fails; the default build does not.
					c.Kind, c.Msg = diag.Warning, fmt.Sprintf("target %s cannot build: %s", t, d.Msg)
				}
				errs = append(errs, &c)
			}
			for _, r := range pulls {
				key := r.key()
				have := byKey[key]
				if have == nil {
					c := *r
					have = &c
					byKey[key] = have
					order = append(order, key)
				}
				if r.ownPlatform {
					have.Platforms = appendNew(have.Platforms, r.Platforms...)
				} else {
					have.Platforms = appendNew(have.Platforms, buildPlatform...)
				}
				have.Targets = appendNew(have.Targets, t)
				have.Default = have.Default || idx == len(f.stages)-1
				have.BuildArgs = appendNew(have.BuildArgs, r.BuildArgs...)
			}
		}
		if r, err := f.frontend(b); err != nil {
			errs = append(errs, err)
		} else if r != nil {
			key := r.key()
			if have := byKey[key]; have != nil {
				have.Platforms = appendNew(have.Platforms, formatPlatform(b.Platform))
			} else {
				byKey[key] = r
				order = append(order, key)
			}
		}
	}
	refs := make([]Reference, 0, len(order))
	for _, k := range order {
		r := byKey[k]
		slices.Sort(r.Platforms)
		slices.Sort(r.BuildArgs)
		r.SelectsStage = r.Kind == KindFrom && selects[r.Line]
		refs = append(refs, *r)
	}
	slices.SortStableFunc(refs, func(a, b Reference) int { return cmp.Compare(a.Line, b.Line) })
	errs = errs.Dedupe()
	errs.Sort()
	return refs, errs
}

// pullKey tells apart the images of Pulls' result: one per place and image.
// The place is the file, line and kind, and pos within the line (two
// mounts of one RUN); references that other code makes (a compose file's)
// have no pos.
type pullKey struct {
	file  string
	line  int
	kind  Kind
	pos   [2]int
	image string
}

func (r *Reference) key() pullKey {
	if r.Kind == KindSyntax { // one per file: line 1, or the build arg's
		return pullKey{file: r.File, kind: r.Kind, image: r.Image.String()}
	}
	return pullKey{r.File, r.Line, r.Kind, r.pos, r.Image.String()}
}

// MergeReferences adds to refs, the result of Pulls, the result of another
// Pulls of the same file (other build args or platforms, as bake targets
// and compose builds give), or references of other files: one Reference
// per place and image, with the platforms, targets and build args of both,
// in file and line order. SelectsStage
// is as each Pulls saw it: a FROM that names a stage only in builds of
// refs and an image only in builds of more is not marked.
func MergeReferences(refs, more []Reference) []Reference {
	at := map[pullKey]int{}
	for i := range refs {
		at[refs[i].key()] = i
	}
	for _, r := range more {
		i, ok := at[r.key()]
		if !ok {
			at[r.key()] = len(refs)
			refs = append(refs, r)
			continue
		}
		// Clipped: the lists may share arrays with the callers' references.
		have := &refs[i]
		have.Platforms = appendNew(slices.Clip(have.Platforms), r.Platforms...)
		slices.Sort(have.Platforms)
		have.Targets = appendNew(slices.Clip(have.Targets), r.Targets...)
		have.BuildArgs = appendNew(slices.Clip(have.BuildArgs), r.BuildArgs...)
		slices.Sort(have.BuildArgs)
		have.Default = have.Default || r.Default
		have.SelectsStage = have.SelectsStage || r.SelectsStage
	}
	slices.SortStableFunc(refs, func(a, b Reference) int { return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line)) })
	return refs
}

// done is a build already evaluated.
type done = struct {
	b  Build
	ev *evaluation
}

// reuse returns the evaluation of an earlier build with the same build
// args when nothing in it depends on the platform or the target (no
// automatic ARG in a FROM or its --platform): only where each image is
// pulled for differs, and Pulls puts the build's own platform there.
func reuse(builds []done, b Build) (*evaluation, bool) {
	for _, d := range builds {
		if !d.ev.usesPlatform && !d.ev.usesTargetStage && d.ev.errs == nil && maps.Equal(d.b.BuildArgs, b.BuildArgs) {
			return d.ev, true
		}
	}
	return nil, false
}

// targets are the stages a build can be asked for: each named stage, and
// the last (the default), named or not.
func (f *File) targets() []string {
	var out []string
	for _, s := range f.stages {
		if s.name != "" && !slices.Contains(out, s.name) {
			out = append(out, s.name)
		}
	}
	if last := f.stages[len(f.stages)-1]; last.name == "" {
		out = append(out, "")
	}
	return out
}

// targetIndex finds a target as BuildKit does: "" is the last stage, a name
// the last stage of that name, in any case.
func (f *File) targetIndex(t string) (int, bool) {
	if t == "" {
		return len(f.stages) - 1, true
	}
	for i := len(f.stages) - 1; i >= 0; i-- {
		if f.stages[i].name == strings.ToLower(t) {
			return i, true
		}
	}
	return 0, false
}

// evaluation is what one build makes of each stage.
type evaluation struct {
	stages          []resolvedStage
	errs            diag.List
	usesTargetStage bool // TARGETSTAGE was used: each target needs its own evaluation
	usesPlatform    bool // an automatic platform ARG was used: each platform needs its own
}

type resolvedStage struct {
	base    int        // index of the stage FROM names; -1 for an image or scratch
	image   *Reference // the image FROM names; nil for a stage or scratch
	sources []resolvedSource
	onbuild []resolvedSource
}

type resolvedSource struct {
	stage int        // the stage it names; -1 for an image or scratch
	image *Reference // the image it names; nil for a stage or scratch
}

// evaluate resolves every stage of f for build b and target (TARGETSTAGE),
// as dockerfile2llb's buildDispatchStates and toCommand do for all stages,
// built or not: FROM expanded with the global ARGs, then matched exactly
// against the names of earlier stages, then scratch, else an image; COPY
// --from and mount sources matched against every stage in any case.
func (f *File) evaluate(b Build, lex *shell.Lex, target string) *evaluation {
	ev := &evaluation{}
	e, err := f.newEnv(b, lex, target)
	if err != nil {
		var d *diag.Diagnostic
		if !errors.As(err, &d) {
			d = errorf(f.Name, 1, "platform %s: %v", b.Platform, err)
		}
		ev.errs = append(ev.errs, d)
		return ev
	}
	buildPlatform := formatPlatform(b.Platform)
	earlier := map[string]int{}
	all := map[string]int{}
	for i, s := range f.stages {
		if s.name != "" {
			all[s.name] = i
		}
	}
	names := f.Stages()
	for i, s := range f.stages {
		rs := resolvedStage{base: -1}
		platform := buildPlatform
		if s.platform != "" {
			res, err := expand(lex, s.platform, e, f.escape)
			ev.note(e, res.Matched)
			switch p, perr := platforms.Parse(res.Result); {
			case err != nil:
				ev.errs = append(ev.errs, errorf(f.Name, s.line, "FROM --platform=%s: %v", s.platform, err))
			case res.Result == "":
				ev.errs = append(ev.errs, errorf(f.Name, s.line, "FROM --platform=%s: empty platform value%s", s.platform, e.unsetHint(res, b.BuildArgs)))
			case perr != nil:
				ev.errs = append(ev.errs, errorf(f.Name, s.line, "FROM --platform=%s: failed to parse platform %s: %v%s", s.platform, res.Result, perr, e.unsetHint(res, b.BuildArgs)))
			default:
				platform = platforms.Format(platforms.Normalize(p))
			}
		}
		res, err := expand(lex, s.base, e, f.escape)
		ev.note(e, res.Matched)
		name := res.Result
		switch j, isStage := earlier[name]; {
		case err != nil:
			ev.errs = append(ev.errs, errorf(f.Name, s.line, "FROM %s: %v", s.base, err))
		case name == "":
			ev.errs = append(ev.errs, errorf(f.Name, s.line, "FROM %s: expands to an empty image reference%s", s.base, e.unsetHint(res, b.BuildArgs)))
		case isStage:
			rs.base = j
		case name == scratch:
		default:
			deps := e.depends(res.Matched)
			r, err := f.imageRef(KindFrom, s.line, s.endLine, s.base, name, names, e.unsetHint(res, b.BuildArgs))
			if err != nil {
				ev.errs = append(ev.errs, err)
				break
			}
			r.Args, r.BuildArgs = deps.names, deps.buildArgs
			r.Platform, r.Stage = s.platform, s.name
			r.Platforms = []string{platform}
			r.ownPlatform = s.platform != ""
			r.pos = [2]int{i, 0}
			rs.image = r
		}
		if s.name != "" {
			earlier[s.name] = i
		}
		for j, src := range s.sources {
			rs.sources = append(rs.sources, f.resolveSource(src, [2]int{i, 1 + j}, all, buildPlatform, names, &ev.errs))
		}
		for j, src := range s.onbuild {
			var ignored diag.List // a trigger only counts where a stage builds on it
			rs.onbuild = append(rs.onbuild, f.resolveSource(src, [2]int{i, -1 - j}, all, buildPlatform, names, &ignored))
		}
		ev.stages = append(ev.stages, rs)
	}
	if d := ev.cycle(f); d != nil {
		ev.errs = append(ev.errs, d)
	}
	return ev
}

// note records which automatic ARGs an expansion depended on.
func (ev *evaluation) note(e env, matched map[string]struct{}) {
	if len(matched) == 0 {
		return
	}
	for _, name := range e.depends(matched).names {
		switch {
		case name == "TARGETSTAGE":
			ev.usesTargetStage = true
		case IsAutomaticArg(name):
			ev.usesPlatform = true
		}
	}
}

// cycle reports a stage that depends on itself through COPY --from and
// mounts, as validateCircularDependency does for every stage, built or not.
func (ev *evaluation) cycle(f *File) *diag.Diagnostic {
	visited := make([]bool, len(ev.stages))
	onPath := make([]bool, len(ev.stages))
	var visit func(int) *source
	visit = func(i int) *source {
		if visited[i] {
			return nil
		}
		visited[i], onPath[i] = true, true
		for j, src := range ev.stages[i].sources {
			if src.stage < 0 || src.stage >= len(ev.stages) {
				continue
			}
			if onPath[src.stage] {
				return &f.stages[i].sources[j]
			}
			if s := visit(src.stage); s != nil {
				return s
			}
		}
		onPath[i] = false
		return nil
	}
	for i := range ev.stages {
		if s := visit(i); s != nil {
			return errorf(f.Name, s.line, "circular dependency detected on stage: %s", f.stageName(i))
		}
	}
	return nil
}

// resolveSource resolves a COPY --from or mount from= value as toCommand and
// detectRunMount do: a stage by name in any case (COPY also by index), then
// scratch, else an image, pulled for the build's platform.
func (f *File) resolveSource(src source, pos [2]int, all map[string]int, platform string, names []string, errs *diag.List) resolvedSource {
	if src.kind == KindCopy {
		if i, err := strconv.Atoi(src.from); err == nil {
			return resolvedSource{stage: i}
		}
	}
	if i, ok := all[strings.ToLower(src.from)]; ok {
		return resolvedSource{stage: i}
	}
	if src.from == scratch {
		return resolvedSource{stage: -1}
	}
	r, err := f.imageRef(src.kind, src.line, src.endLine, src.from, src.from, names, "")
	if err != nil {
		*errs = append(*errs, err)
		return resolvedSource{stage: -1}
	}
	r.Platforms = []string{platform}
	r.pos = pos
	return resolvedSource{stage: -1, image: r}
}

// imageRef is a reference to name, written as written; an invalid one is
// an error that says why (unset, the expansion's variables without a
// value) and names the stage it may have meant.
func (f *File) imageRef(kind Kind, line, endLine int, written, name string, stages []string, unset string) (*Reference, *diag.Diagnostic) {
	near := ""
	if !strings.ContainsAny(name, "/:@") { // only a bare name may have meant a stage
		near = diag.Closest(name, append(nonEmpty(stages), scratch), 2)
	}
	img, err := f.parseImage(name)
	if err != nil {
		hint := unset
		switch {
		case near == scratch && strings.EqualFold(name, scratch):
			hint += "; did you mean scratch? (it is written in lower case)"
		case strings.EqualFold(name, near):
			hint += fmt.Sprintf("; did you mean stage %s? (FROM names a stage in lower case only)", near)
		case near != "" && near != scratch:
			hint += fmt.Sprintf("; did you mean stage %s?", near)
		}
		return nil, errorf(f.Name, line, "%s: %v%s", kind.instruction()+written, err, hint)
	}
	if near == scratch {
		near = ""
	}
	return &Reference{File: f.Name, Line: line, EndLine: endLine, Kind: kind, Written: written, Expanded: name, Image: img, Near: near}, nil
}

// parseImage is imageref.Parse through the file's cache.
func (f *File) parseImage(name string) (imageref.Ref, error) {
	if f.Images == nil {
		f.Images = &ImageCache{}
	}
	return f.Images.parse(name)
}

// ImageCache remembers parsed image references: every build of a file, and
// the Dockerfiles of one repository, name mostly the same images. Its zero
// value is ready; it is safe for concurrent use.
type ImageCache struct {
	mu     sync.Mutex
	parsed map[string]parsedImage
}

type parsedImage struct {
	ref imageref.Ref
	err error
}

func (c *ImageCache) parse(name string) (imageref.Ref, error) {
	c.mu.Lock()
	r, ok := c.parsed[name]
	c.mu.Unlock()
	if ok {
		return r.ref, r.err
	}
	ref, err := imageref.Parse(name)
	c.mu.Lock()
	if c.parsed == nil {
		c.parsed = map[string]parsedImage{}
	}
	c.parsed[name] = parsedImage{ref, err}
	c.mu.Unlock()
	return ref, err
}

// reachable returns the images the build of the target stage pulls: those
// of the stages it reaches through FROM, COPY --from, mounts and the
// ONBUILD triggers of the stages it builds on (allReachableStages). A
// stage that copies or mounts from a stage defined after it cannot build
// (dispatchCopy, dispatchRunMounts): that is a problem of this target.
func (ev *evaluation) reachable(f *File, target int) ([]*Reference, diag.List) {
	var out []*Reference
	var problems diag.List
	seen := make([]bool, len(ev.stages))
	var visit func(int)
	add := func(from int, src resolvedSource, s source) {
		switch {
		case src.image != nil:
			out = append(out, src.image)
		case src.stage >= 0 && src.stage < len(ev.stages):
			if src.stage >= from && s.line > 0 {
				problems = append(problems, laterStage(f, from, src.stage, s))
			}
			visit(src.stage)
		}
	}
	visit = func(i int) {
		if seen[i] {
			return
		}
		seen[i] = true
		problems = append(problems, f.stages[i].broken...)
		s := ev.stages[i]
		switch {
		case s.image != nil:
			out = append(out, s.image)
		case s.base >= 0:
			visit(s.base)
			for _, src := range ev.stages[s.base].onbuild {
				add(i, src, source{})
			}
		}
		for j, src := range s.sources {
			add(i, src, f.stages[i].sources[j])
		}
	}
	if target < len(ev.stages) {
		visit(target)
	}
	return out, problems
}

// laterStage is the problem of stage i using stage j, which is not built
// before it, in source s; BuildKit's own words.
func laterStage(f *File, i, j int, s source) *diag.Diagnostic {
	from := s.from
	if s.kind == KindMount {
		return errorf(f.Name, s.line, "cannot mount from stage %q to %q, stage needs to be defined before current command", from, s.target)
	}
	return errorf(f.Name, s.line, "cannot copy from stage %q, it needs to be defined before current stage %q", from, f.stageName(i))
}

// stageName is how BuildKit names stage i: its name, or stage-N.
func (f *File) stageName(i int) string {
	if n := f.stages[i].name; n != "" {
		return n
	}
	return "stage-" + strconv.Itoa(i)
}

// frontend is the # syntax= image a build with b's args runs the
// Dockerfile with: the BUILDKIT_SYNTAX build arg, else the directive.
func (f *File) frontend(b Build) (*Reference, *diag.Diagnostic) {
	written, line := f.syntax, f.synLine
	if v := b.BuildArgs["BUILDKIT_SYNTAX"]; v != "" {
		written, line = v, max(f.synLine, 1)
	}
	if written == "" {
		return nil, nil
	}
	img, err := imageref.Parse(written)
	if err != nil {
		return nil, errorf(f.Name, line, "# syntax=%s: %v", written, err)
	}
	r := &Reference{File: f.Name, Line: line, EndLine: line, Kind: KindSyntax, Written: written, Expanded: written, Image: img,
		Platforms: []string{formatPlatform(b.Platform)}, Default: true}
	if written != f.syntax {
		r.BuildArgs = []string{"BUILDKIT_SYNTAX"}
	}
	return r, nil
}

// instruction is how messages introduce a reference of kind k.
func (k Kind) instruction() string {
	switch k {
	case KindCopy:
		return "COPY --from="
	case KindMount:
		return "RUN --mount from="
	case KindSyntax:
		return "# syntax="
	}
	return "FROM "
}

// formatPlatform is a platform as BuildKit formats it once normalised
// (linux/arm becomes linux/arm/v7); one it cannot parse is kept as given
// (newEnv reports it).
func formatPlatform(s string) string {
	p, err := platforms.Parse(s)
	if err != nil {
		return s
	}
	return platforms.Format(platforms.Normalize(p))
}

func appendNew(list []string, items ...string) []string {
	for _, it := range items {
		if !slices.Contains(list, it) {
			list = append(list, it)
		}
	}
	return list
}

func nonEmpty(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}
