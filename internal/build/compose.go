package build

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/imglock/imglock/internal/compose"
	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/lock"
)

// ComposeMode is how pins reach the builds docker compose runs. Service
// images and image volumes are pinned the same way in every mode: the
// override file sets them to REPO:TAG@DIGEST.
type ComposeMode string

const (
	// ComposePolicy gives the builds a source policy
	// (EXPERIMENTAL_BUILDKIT_SOURCE_POLICY, which bake reads) that converts
	// each locked image to its digest and denies every other image:
	// BuildKit 0.12 and later, through bake. BuildKit 0.8 ignores it
	// without a word.
	ComposePolicy ComposeMode = "policy"
	// ComposeContexts sets build.additional_contexts, a named context per
	// image: BuildKit 0.10 and later (0.8 refuses them, and so does the
	// classic builder).
	ComposeContexts ComposeMode = "contexts"
	// ComposeInline sets build.dockerfile_inline to the Dockerfile with its
	// references pinned: any BuildKit, Docker 20.10's 0.8 included.
	ComposeInline ComposeMode = "inline"
	// ComposeFile sets build.dockerfile to a pinned copy of the Dockerfile
	// outside the context: the classic builder, which ignores
	// dockerfile_inline without a word. (Bake refuses a Dockerfile outside
	// the context unless given --allow=fs.read.)
	ComposeFile ComposeMode = "file"
)

// DetectCompose picks the mode the builder of the builds docker compose
// runs supports, as Detect does for the buildx builder the builds name
// (the build's --builder, or BUILDX_BUILDER, or the current one): the
// classic builder when DOCKER_BUILDKIT says so. A source policy reaches
// the builds only through bake, which docker compose uses unless
// COMPOSE_BAKE is false.
func DetectCompose(ctx context.Context, env []string, inv *ComposeInvocation) ComposeMode {
	if classicBuilder(env) {
		return ComposeFile
	}
	switch DetectBuildx(ctx, env, inv.builder()) {
	case ModePolicy:
		if bake, err := strconv.ParseBool(lookupEnv(env, "COMPOSE_BAKE")); err == nil && !bake {
			return ComposeContexts
		}
		return ComposePolicy
	case ModeContexts:
		return ComposeContexts
	}
	return ComposeInline
}

// ComposePlan is the exact docker compose command, with the files it
// reads that imglock writes: the override file, the source policy, and
// pinned Dockerfiles.
type ComposePlan struct {
	Argv  []string
	Env   []string          // added to the environment of docker compose
	Files map[string][]byte // written before it runs, by path
	// OverridePath is the override file among Files.
	OverridePath string
	Notes        diag.List // references left as they are, and why
}

// ComposeBuild is a build section with what it pulls.
type ComposeBuild struct {
	compose.Build
	Dockerfile []byte // its content, as read from Build.Dockerfile or inline
	Name       string // the Dockerfile as messages name it
	Refs       []dockerfile.Reference
	Stages     []string
}

// NewComposePlan builds the docker compose command that runs inv with
// every image of the project p pinned from the lock f (named lockName in
// messages): files are the compose files, in the order docker compose
// reads them, images what p pulls by name and builds what its builds pull.
// The files imglock writes go in dir; env is the environment compose runs
// with (a source policy of the user's own there is kept). A reference the
// lock does not have stops the run before it starts (Lookup).
func NewComposePlan(inv *ComposeInvocation, files []string, images []compose.Image, builds []ComposeBuild, f *lock.File, lockName string, mode ComposeMode, dir string, env []string) (ComposePlan, error) {
	plan := ComposePlan{Files: map[string][]byte{}, OverridePath: filepath.Join(dir, "compose.imglock.yaml")}
	// Every reference is looked up first, so that all that are missing
	// are reported.
	var missing diag.List
	lookup := func(refs []dockerfile.Reference) []Pin {
		pins, err := Lookup(refs, f, lockName)
		if err != nil {
			list, _ := diag.Collect(err)
			missing = append(missing, list...)
		}
		return pins
	}
	var imageRefs []dockerfile.Reference
	for _, img := range images {
		imageRefs = append(imageRefs, img.Reference)
	}
	imagePins := lookup(imageRefs)
	buildPinsOf := make([][]Pin, len(builds))
	for i, b := range builds {
		buildPinsOf[i] = lookup(b.Refs)
	}
	if len(missing) > 0 {
		missing.Sort()
		return ComposePlan{}, missing
	}

	services := map[string]*serviceOverride{}
	service := func(name string) *serviceOverride {
		if services[name] == nil {
			services[name] = &serviceOverride{}
		}
		return services[name]
	}
	building := map[string]bool{}
	for _, b := range builds {
		building[b.Service] = true
	}
	for i, img := range images {
		if img.Image.Digest != "" {
			continue
		}
		switch {
		case img.Kind == compose.KindVolume:
			service(img.Service).volumes = append(service(img.Service).volumes, volumeOverride{source: imagePins[i].Pinned(), target: img.Target})
		case building[img.Service]:
			// The image names what the build is tagged as, too.
			plan.Notes.Add(diag.Note, img.File, img.Line, "%s is not pinned: service %s also builds it, and a digest cannot name what it builds", img.Expanded, img.Service)
		default:
			service(img.Service).image = imagePins[i].Pinned()
		}
	}

	var policyPins []Pin
	for i, b := range builds {
		pins := buildPinsOf[i]
		if mode == ComposePolicy {
			policyPins = append(policyPins, pins...)
			continue
		}
		bo, err := buildPins(b, pins, mode)
		if err != nil {
			return ComposePlan{}, err
		}
		if bo.rewritten != nil && mode == ComposeFile {
			path := filepath.Join(dir, b.Service+".Dockerfile")
			plan.Files[path] = bo.rewritten
			bo.file = path
		}
		if !bo.empty() {
			service(b.Service).build = bo
		}
	}

	override, err := marshalOverride(services)
	if err != nil {
		return ComposePlan{}, err
	}
	plan.Files[plan.OverridePath] = override
	if mode == ComposePolicy {
		policy := NewPolicy(policyPins)
		if err := policy.AddUserPolicy(env); err != nil {
			return ComposePlan{}, err
		}
		path := filepath.Join(dir, PolicyFile)
		plan.Files[path] = policy.JSON()
		plan.Env = append(plan.Env, PolicyEnv+"="+path)
	}

	plan.Argv = append([]string{"docker", "compose"}, inv.Global...)
	if len(inv.Files) == 0 {
		// Another -f turns discovery off: name what it found.
		for _, f := range files {
			plan.Argv = append(plan.Argv, "-f", f)
		}
	}
	plan.Argv = append(plan.Argv, "-f", plan.OverridePath, inv.Command)
	plan.Argv = append(plan.Argv, inv.CommandArgs...)
	return plan, nil
}

// serviceOverride is what the override file sets for one service.
type serviceOverride struct {
	image   string
	volumes []volumeOverride
	build   *buildOverride
}

type volumeOverride struct{ source, target string }

// buildOverride is what the override file sets in a build section.
type buildOverride struct {
	args      map[string]string
	contexts  map[string]string
	rewritten []byte // the Dockerfile with references pinned, when some are
	file      string // where it is written, in ComposeFile mode
	inline    bool   // the build wrote its Dockerfile inline
}

func (b *buildOverride) empty() bool {
	return len(b.args) == 0 && len(b.contexts) == 0 && b.rewritten == nil
}

// buildPins decides how each reference of a build is pinned, as route
// does for docker build, an image context of the compose file by its own
// entry; what route would rewrite is rewritten in the Dockerfile.
func buildPins(b ComposeBuild, pins []Pin, mode ComposeMode) (*buildOverride, error) {
	bo := &buildOverride{contexts: map[string]string{}, inline: b.Inline != ""}
	var rest []Pin
	for _, p := range pins {
		if p.Ref.Kind == compose.KindContext {
			if p.Ref.Image.Digest == "" {
				bo.contexts[contextName(b.Build, p.Ref)] = imageScheme + p.Pinned()
			}
			continue
		}
		rest = append(rest, p)
	}
	rt := route(rest, b.Stages, mode == ComposeContexts)
	bo.args = rt.buildArgs
	maps.Copy(bo.contexts, rt.contexts)
	if len(rt.rewrites) == 0 {
		return bo, nil
	}
	if err := rt.rewritable(); err != nil {
		return nil, err
	}
	for i, rep := range rt.rewrites {
		r := rep.Ref
		if b.Inline != "" {
			// Its lines are the compose file's; the text's own start at 1.
			shift := b.InlineShift()
			rt.rewrites[i].Ref.Line, rt.rewrites[i].Ref.EndLine = r.Line-shift, r.EndLine-shift
		}
	}
	out, err := dockerfile.Rewrite(b.Name, b.Dockerfile, rt.rewrites)
	if err != nil {
		return nil, err
	}
	bo.rewritten = out
	return bo, nil
}

// contextName is the additional context that gives reference r.
func contextName(b compose.Build, r dockerfile.Reference) string {
	for _, name := range slices.Sorted(maps.Keys(b.Contexts)) {
		if c := b.Contexts[name]; c.Line == r.Line && strings.TrimPrefix(c.Value, compose.ImagePrefix) == r.Expanded {
			return name
		}
	}
	return r.Image.Familiar()
}

// marshalOverride writes the override file. docker compose interpolates
// it like any compose file: every $ is doubled.
func marshalOverride(services map[string]*serviceOverride) ([]byte, error) {
	str := func(s string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.ReplaceAll(s, "$", "$$")}
	}
	mapping := func(pairs ...*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Content: pairs} }
	stringMap := func(m map[string]string) *yaml.Node {
		n := mapping()
		for _, k := range slices.Sorted(maps.Keys(m)) {
			n.Content = append(n.Content, str(k), str(m[k]))
		}
		return n
	}
	svcs := mapping()
	for _, name := range slices.Sorted(maps.Keys(services)) {
		s := services[name]
		n := mapping()
		if s.image != "" {
			n.Content = append(n.Content, str("image"), str(s.image))
		}
		if len(s.volumes) > 0 {
			vols := &yaml.Node{Kind: yaml.SequenceNode}
			for _, v := range s.volumes {
				vols.Content = append(vols.Content, mapping(str("type"), str("image"), str("source"), str(v.source), str("target"), str(v.target)))
			}
			n.Content = append(n.Content, str("volumes"), vols)
		}
		if b := s.build; b != nil {
			bn := mapping()
			if len(b.args) > 0 {
				bn.Content = append(bn.Content, str("args"), stringMap(b.args))
			}
			if len(b.contexts) > 0 {
				bn.Content = append(bn.Content, str("additional_contexts"), stringMap(b.contexts))
			}
			reset := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!reset", Value: "null"}
			switch {
			case b.file != "":
				bn.Content = append(bn.Content, str("dockerfile"), str(b.file))
				if b.inline {
					bn.Content = append(bn.Content, str("dockerfile_inline"), reset)
				}
			case b.rewritten != nil:
				inline := str(string(b.rewritten))
				inline.Style = yaml.LiteralStyle
				if !b.inline {
					bn.Content = append(bn.Content, str("dockerfile"), reset)
				}
				bn.Content = append(bn.Content, str("dockerfile_inline"), inline)
			}
			n.Content = append(n.Content, str("build"), bn)
		}
		svcs.Content = append(svcs.Content, str(name), n)
	}
	var out bytes.Buffer
	out.WriteString("# Written by imglock compose: every image pinned from images.lock.\n")
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(mapping(str("services"), svcs)); err != nil {
		return nil, fmt.Errorf("writing the override file: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing the override file: %w", err)
	}
	return out.Bytes(), nil
}

// WriteFiles writes the plan's files; the caller removes their directory.
func (p ComposePlan) WriteFiles() error {
	for _, path := range slices.Sorted(maps.Keys(p.Files)) {
		if err := os.WriteFile(path, p.Files[path], 0o600); err != nil {
			return err
		}
	}
	return nil
}
