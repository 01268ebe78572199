package oracle

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Generate returns a random Dockerfile made of the corpus's building
// blocks: global ARGs (with and without defaults, chained, automatic
// platform ARGs), one to six stages whose FROM names an image, an earlier
// stage, or an ARG expression that selects one or the other, COPY --from
// and RUN --mount from= a stage, an index or an image, stage names in mixed
// case, --platform, and parser corners (directives, continuations,
// heredocs, comments, lower-case instructions). Most files build; some hit
// BuildKit's errors on purpose, as real Dockerfiles do. The same r state
// gives the same file.
func Generate(r *rand.Rand) []byte {
	g := &generator{r: r, esc: `\`}
	g.directives()
	g.globalArgs()
	n := 1 + r.IntN(6)
	for i := range n {
		g.stage(i, n)
	}
	return []byte(g.b.String())
}

type generator struct {
	r      *rand.Rand
	b      strings.Builder
	esc    string   // the line continuation character
	args   []genArg // global ARGs, in order
	stages []string // stage names as written; "" for unnamed stages
}

// genArg is a global ARG and what its value is for.
type genArg struct {
	name string
	kind argKind
}

type argKind int

const (
	argImage  argKind = iota // a whole image reference
	argTag                   // a tag, or part of one
	argFlavor                // a suffix that names a stage: base-${FLAVOR}
	argAuto                  // one of BuildKit's automatic ARGs
)

func (g *generator) pick(items ...string) string { return items[g.r.IntN(len(items))] }

// chance is true with probability p.
func (g *generator) chance(p float64) bool { return g.r.Float64() < p }

func (g *generator) line(format string, a ...any) {
	fmt.Fprintf(&g.b, format+"\n", a...)
}

// keyword writes an instruction or keyword in the case real files use:
// upper case mostly, sometimes lower or mixed.
func (g *generator) keyword(k string) string {
	switch g.r.IntN(10) {
	case 0:
		return strings.ToLower(k)
	case 1:
		return k[:1] + strings.ToLower(k[1:])
	}
	return k
}

func (g *generator) directives() {
	if g.chance(0.1) {
		g.line("# syntax=%s", g.pick("docker/dockerfile:1", "docker/dockerfile:1.7", "docker.io/docker/dockerfile-upstream:master", "ghcr.io/acme/frontend:2 --debug"))
	}
	if g.chance(0.05) {
		g.esc = "`"
		g.line("# escape=`")
	}
	if g.chance(0.3) {
		g.line("# A generated Dockerfile.")
	}
}

var (
	registries = []string{
		"", "", "", "docker.io/", "docker.io/library/", "index.docker.io/", "ghcr.io/acme/",
		"quay.io/team/", "localhost:5000/", "127.0.0.1:5000/", "registry.example.com:8443/platform/",
		"gcr.io/distroless/", "mcr.microsoft.com/",
	}
	repos = []string{
		"alpine", "busybox", "golang", "node", "debian", "python", "nginx", "ubuntu", "redis",
		"static-debian12", "tools/jq", "base-alpine", "helper-arm64",
	}
	tags = []string{
		"", ":latest", ":3.19", ":1.22-bookworm", ":20-slim", ":stable", ":v1.2.3", ":2024.06.01", ":12_rc",
	}
	// stageNames are stage names; some look like images, and some are
	// the stages that ARG and platform expressions select.
	stageNames = []string{
		"build", "base", "deps", "runtime", "final", "test", "tools", "builder", "assets",
		"node", "alpine", "golang",
		"base-alpine", "base-debian", "helper-amd64", "helper-arm64", "build-linux", "build-windows",
	}
)

// image returns a valid-looking image reference.
func (g *generator) image() string {
	s := g.pick(registries...) + g.pick(repos...) + g.pick(tags...)
	if g.chance(0.1) {
		var d [32]byte
		for i := range d {
			d[i] = byte(g.r.UintN(256))
		}
		s += fmt.Sprintf("@sha256:%x", d)
	}
	return s
}

func (g *generator) globalArgs() {
	for range g.r.IntN(5) {
		var pairs []string
		for range 1 + g.r.IntN(3) {
			pairs = append(pairs, g.argPair())
		}
		g.line("%s %s", g.keyword("ARG"), strings.Join(pairs, " "))
	}
}

// argPair returns one NAME[=VALUE] of a global ARG and records it.
func (g *generator) argPair() string {
	switch g.r.IntN(10) {
	case 0, 1: // an automatic ARG, redeclared; rarely with a default
		name := g.pick("TARGETARCH", "TARGETOS", "TARGETPLATFORM", "BUILDPLATFORM", "TARGETVARIANT", "BUILDARCH", "TARGETSTAGE")
		g.args = append(g.args, genArg{name, argAuto})
		if g.chance(0.15) {
			return name + "=" + g.pick("amd64", "arm64", "linux")
		}
		return name
	case 2, 3, 4: // an image
		name := g.pick("BASE_IMAGE", "IMAGE", "RUNTIME", "BUILDER")
		g.args = append(g.args, genArg{name, argImage})
		switch g.r.IntN(6) {
		case 0:
			return name // no value: expands to nothing
		case 1:
			if tag, ok := g.argOf(argTag); ok {
				return fmt.Sprintf("%s=%s%s:${%s}", name, g.pick(registries...), g.pick(repos...), tag)
			}
		}
		return fmt.Sprintf("%s=%s", name, g.quote(g.image()))
	case 5, 6, 7: // a tag, maybe built from another ARG
		name := g.pick("TAG", "VERSION", "VARIANT", "SUFFIX", "DISTRO")
		g.args = append(g.args, genArg{name, argTag})
		switch g.r.IntN(6) {
		case 0:
			return name
		case 1:
			return name + "="
		case 2:
			if prev, ok := g.argOf(argTag); ok && prev != name {
				return fmt.Sprintf("%s=${%s}%s", name, prev, g.pick("-slim", "", "-alpine"))
			}
		case 3:
			return fmt.Sprintf("%s=${%s:-%s}", name, name, g.pick("3.19", "bookworm"))
		}
		return fmt.Sprintf("%s=%s", name, g.quote(g.pick("3.19", "1.22-bookworm", "20", "stable", "latest")))
	default: // a stage suffix
		name := g.pick("FLAVOR", "DISTRO_FLAVOR")
		g.args = append(g.args, genArg{name, argFlavor})
		if g.chance(0.03) {
			return name
		}
		return fmt.Sprintf("%s=%s", name, g.pick("alpine", "debian", "ubi9"))
	}
}

// quote sometimes quotes an ARG default, as people do.
func (g *generator) quote(v string) string {
	switch g.r.IntN(8) {
	case 0:
		return `"` + v + `"`
	case 1:
		return "'" + v + "'"
	}
	return v
}

// argOf returns a random global ARG of a kind.
func (g *generator) argOf(kind argKind) (string, bool) {
	var names []string
	for _, a := range g.args {
		if a.kind == kind {
			names = append(names, a.name)
		}
	}
	if len(names) == 0 {
		return "", false
	}
	return g.pick(names...), true
}

// stageName returns a name for stage i, "" for none.
func (g *generator) stageName(i, n int) string {
	if i < n-1 && g.chance(0.15) || i == n-1 && g.chance(0.4) {
		return ""
	}
	for {
		name := g.pick(stageNames...)
		// A repeated name is rare but legal.
		if !slices.ContainsFunc(g.stages, func(s string) bool { return strings.EqualFold(s, name) }) || g.chance(0.05) {
			return g.casing(name)
		}
	}
}

// casing writes a name in lower case mostly, sometimes mixed or upper.
func (g *generator) casing(name string) string {
	switch g.r.IntN(10) {
	case 0:
		return strings.ToUpper(name)
	case 1:
		return strings.ToUpper(name[:1]) + name[1:]
	}
	return name
}

// earlierStage returns the name of a stage before stage i, as written.
func (g *generator) earlierStage(i int) (string, bool) {
	var names []string
	for _, s := range g.stages[:i] {
		if s != "" {
			names = append(names, s)
		}
	}
	if len(names) == 0 {
		return "", false
	}
	return g.pick(names...), true
}

func (g *generator) stage(i, n int) {
	name := g.stageName(i, n)
	from := g.keyword("FROM")
	if g.chance(0.2) {
		from += " --platform=" + g.pick("$BUILDPLATFORM", "${BUILDPLATFORM}", "$TARGETPLATFORM", "linux/amd64", "linux/arm64", "$BUILDOS/$BUILDARCH")
	}
	base := g.base(i)
	if g.chance(0.05) {
		// A continuation inside the FROM line.
		from += " " + g.esc + "\n   "
	}
	if name != "" {
		g.line("%s %s %s %s", from, base, g.pick("AS", "AS", "AS", "as"), name)
	} else {
		g.line("%s %s", from, base)
	}
	g.stages = append(g.stages, name)
	for range g.r.IntN(5) {
		g.command(i)
	}
}

// base returns what the FROM of stage i names.
func (g *generator) base(i int) string {
	switch k := g.r.IntN(100); {
	case k < 40:
		return g.image()
	case k < 60:
		if s, ok := g.earlierStage(i); ok {
			if g.chance(0.92) {
				return strings.ToLower(s) // FROM matches lower-case names only
			}
			return s
		}
		return g.image()
	case k < 75:
		return g.argBase()
	case k < 80:
		return "scratch"
	case k < 85:
		// A stage name, declared above (a stage) or not (an image).
		return g.pick(stageNames...)
	case k < 99:
		return g.pick("alpine:3.19-$TARGETARCH", "helper-${TARGETARCH}", "build-${TARGETOS}",
			"ghcr.io/acme/${TARGETOS}-base:${TARGETARCH}${TARGETVARIANT}", "busybox:${TARGETSTAGE}",
			"${UNSET:-busybox}", "alpine:3.19${UNSET}")
	default:
		// What BuildKit rejects: an upper-case repository, a blank name.
		return g.pick("Alpine:3.19", "registry.example.com/Team/app:1", "${UNSET}", "alpine:3.19:extra")
	}
}

// argBase returns a FROM built from global ARGs.
func (g *generator) argBase() string {
	switch g.r.IntN(4) {
	case 0:
		if a, ok := g.argOf(argImage); ok {
			return g.pick("$"+a, "${"+a+"}", "${"+a+":-alpine:3.19}")
		}
	case 1:
		if a, ok := g.argOf(argTag); ok {
			return g.pick(repos...) + g.pick(":${"+a+"}", ":3.19${"+a+"}", ":${"+a+":-latest}", ":${"+a+":-latest}", ":${"+a+":+"+a+"-set}")
		}
	case 2:
		if a, ok := g.argOf(argFlavor); ok {
			return "base-${" + a + "}"
		}
	}
	return "alpine:3.19-${" + g.pick("TARGETARCH", "TARGETOS", "BUILDARCH", "TARGETVARIANT", "TARGETSTAGE") + "}"
}

// from returns what COPY --from or RUN --mount from= names: an earlier
// stage in any case, an image, an index (for COPY only, where it means a
// stage; a mount takes it as an image name).
func (g *generator) from(i int, isCopy bool) string {
	switch k := g.r.IntN(100); {
	case k < 45:
		if s, ok := g.earlierStage(i); ok {
			return g.casing(s)
		}
	case k < 60:
		if isCopy && i > 0 {
			return fmt.Sprint(g.r.IntN(i))
		}
	case k < 62:
		return "scratch"
	case k < 63:
		// Maybe a stage further down (an error where reached), maybe an image.
		return g.pick(stageNames...)
	}
	return g.image()
}

func (g *generator) command(i int) {
	switch g.r.IntN(9) {
	case 0, 1:
		g.line("%s --from=%s /src /dst", g.keyword("COPY"), g.from(i, true))
	case 2, 3:
		g.line("%s %s true", g.keyword("RUN"), g.mount(i))
	case 4:
		g.line("%s echo %d %s\n    && echo done", g.keyword("RUN"), g.r.IntN(100), g.esc)
	case 5:
		g.line("%s <<EOT\necho FROM %s\nEOT", g.keyword("RUN"), g.image())
	case 6:
		g.line("# FROM %s", g.image())
	case 7:
		if g.chance(0.3) {
			g.line("%s COPY --from=%s /a /b", g.keyword("ONBUILD"), g.image())
		} else {
			g.line("%s TARGETARCH", g.keyword("ARG"))
		}
	default:
		g.line("%s echo plain", g.keyword("RUN"))
	}
}

// mount returns one or two --mount flags with from=, options in any order.
func (g *generator) mount(i int) string {
	var flags []string
	for range 1 + g.r.IntN(2) {
		var opts []string
		switch g.r.IntN(3) {
		case 0:
			opts = []string{"type=bind", "from=" + g.from(i, false), "target=/mnt/" + fmt.Sprint(len(flags))}
		case 1:
			opts = []string{"type=cache", "id=" + g.pick("node", "go", "apt"), "target=/root/.cache/" + fmt.Sprint(len(flags))}
			if g.chance(0.5) {
				opts = append(opts, "from="+g.from(i, false))
			}
		default:
			opts = []string{"from=" + g.from(i, false), "source=/", "target=/mnt/" + fmt.Sprint(len(flags))}
		}
		g.r.Shuffle(len(opts), func(a, b int) { opts[a], opts[b] = opts[b], opts[a] })
		flags = append(flags, "--mount="+strings.Join(opts, ","))
	}
	return strings.Join(flags, " ")
}
