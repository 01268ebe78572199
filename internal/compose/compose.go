// Package compose reads Docker Compose files as docker compose does, with
// the loader docker compose itself links (compose-spec/compose-go): the
// files it finds in a directory and their override, .env and environment
// interpolation, profiles, include and extends. It returns what docker
// compose pulls: the images of services and of image volumes, and each
// build section (its Dockerfile, args, target, platforms and additional
// contexts), to be evaluated as BuildKit does. The loader keeps no
// positions, so each reference is found again in the YAML, or at the line
// of the .env file that supplied it.
//
// Pin and unpin in compose files go through it too: Rewrite puts new text
// in place of a reference, in the YAML or in the .env line that supplied
// it, and keeps every other byte.
package compose

import (
	"context"
	"errors"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/template"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/discover"
	"github.com/imglock/imglock/internal/dockerfile"
)

// The kinds of the references compose files make.
const (
	KindImage   dockerfile.Kind = "compose-image"   // a service's image:
	KindVolume  dockerfile.Kind = "compose-volume"  // the source of a volume of type: image
	KindContext dockerfile.Kind = "compose-context" // a build's additional_contexts entry docker-image://
)

// IsKind reports whether k is the kind of a reference written in a compose
// file (or the .env file that supplies it) rather than in a Dockerfile.
func IsKind(k dockerfile.Kind) bool { return k == KindImage || k == KindVolume || k == KindContext }

// Options say which compose project to load and how.
type Options struct {
	// Files are the compose files, in the order docker compose merges
	// them (-f ... -f ...); absolute, or relative to the working directory.
	Files []string
	// ProjectDir is the project directory (--project-directory); default:
	// the first file's directory.
	ProjectDir string
	// EnvFiles are the .env files (--env-file), relative to ProjectDir
	// unless absolute; default: ProjectDir/.env when it exists.
	EnvFiles []string
	// Profiles are the profiles enabled; none means every profile: a lock
	// covers what any profile pulls.
	Profiles []string
	// Environ is the environment, as os.Environ gives it; it wins over the
	// .env files, as in docker compose.
	Environ []string
	// Name says how messages name a file given by its absolute path;
	// default: the path itself.
	Name func(abs string) string
}

// Project is one loaded compose project and what it pulls.
type Project struct {
	Model    *types.Project
	Files    []string // the compose files, absolute, in merge order
	EnvFiles []string // the .env files read, absolute
	// Images are what docker compose pull and up pull by name: the image
	// of each service that does not build (or pulls anyway, by its
	// pull_policy) and the source of each image volume, in service order.
	Images []Image
	// Builds are the build sections, in service order.
	Builds []Build
	// Problems are warnings: a remote build context, a Dockerfile that
	// cannot be read. Errors in the files make Load fail instead.
	Problems diag.List
}

// Image is an image a service pulls.
type Image struct {
	dockerfile.Reference
	Service string
	Target  string // for KindVolume: the volume's target path
	// Pinnable is set when the reference is written out where it is
	// reported (in the compose file or the .env line), so that pin can
	// write its digest there.
	Pinnable bool
	// Var is the variable the whole reference comes from, if any.
	Var string
}

// Build is the build section of a service.
type Build struct {
	Service string
	File    string // where build: is written (named), and its line
	Line    int
	// Context is the build context, an absolute directory; Remote the
	// context when it is not a local directory (a Git or HTTP URL).
	Context, Remote string
	// Dockerfile is the Dockerfile, absolute; "" when Inline holds it.
	Dockerfile string
	Inline     string
	// InlineFile and InlineLine are where the inline Dockerfile's first
	// line is written.
	InlineFile string
	InlineLine int
	Args       map[string]string // build args with a value
	Target     string            // "" for the last stage
	// Platforms are build.platforms, else the service's platform; none
	// means the default.
	Platforms []string
	Contexts  map[string]Context // additional_contexts, by name
	Image     string             // the image the build is tagged as, if the service names one
}

// Context is one additional_contexts entry.
type Context struct {
	Value string // as loaded: a directory, docker-image://REF, service:NAME, a URL
	File  string // where it is written (named), and its line
	Line  int
	// Written is the value as written there, before interpolation.
	Written string
}

// loadMu serialises the loads that validate as compose-go does: it records
// obsolete `version` keys in a package variable without a lock.
var loadMu sync.Mutex

// Load loads the compose project o names, as docker compose would. Errors
// in the files (YAML, schema, interpolation, a reference that comes out
// blank or invalid) are a diag.List of diag.Input at their positions.
func Load(ctx context.Context, o Options) (*Project, error) {
	if len(o.Files) == 0 {
		return nil, errors.New("no compose file")
	}
	if o.Name == nil {
		o.Name = func(abs string) string { return abs }
	}
	var files []string
	for _, f := range o.Files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return nil, err
		}
		files = append(files, abs)
	}
	dir := o.ProjectDir
	if dir == "" {
		dir = filepath.Dir(files[0])
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	ix := newIndex(o.Name)
	environ := envMap(o.Environ)
	envFiles, err := envFilesOf(dir, o.EnvFiles)
	if err != nil {
		return nil, err
	}
	fromFiles, err := dotenv.GetEnvFromFile(environ, envFiles)
	if err != nil {
		return nil, ix.envError(envFiles, err)
	}
	env := maps.Clone(environ)
	for k, v := range fromFiles {
		if _, set := env[k]; !set {
			env[k] = v
		}
	}
	top := &scope{files: files, dir: dir, envFiles: envFiles, environ: environ}

	profiles := o.Profiles
	if len(profiles) == 0 {
		profiles = []string{"*"}
	}
	var unset sync.Map // variables interpolation found without a value
	details := func() types.ConfigDetails {
		d := types.ConfigDetails{WorkingDir: dir, Environment: maps.Clone(env)}
		for _, f := range files {
			d.ConfigFiles = append(d.ConfigFiles, types.ConfigFile{Filename: f})
		}
		return d
	}
	options := func(validate, normalize, consistency bool) func(*loader.Options) {
		return func(opts *loader.Options) {
			opts.SetProjectName(loader.NormalizeProjectName(filepath.Base(dir)), false)
			opts.Profiles = profiles
			// The environment of the containers is not what is pulled, and
			// an env_file left out of the repository must not fail a run.
			opts.SkipResolveEnvironment = true
			opts.SkipValidation = !validate
			opts.SkipNormalization = !normalize
			opts.SkipConsistencyCheck = !consistency
			opts.Interpolate.Substitute = func(tmpl string, m template.Mapping) (string, error) {
				return template.SubstituteWithOptions(tmpl, func(k string) (string, bool) {
					v, ok := m(k)
					if !ok {
						unset.Store(k, true)
					}
					return v, ok
				}, template.WithoutLogging)
			}
		}
	}
	// load is the loader as docker compose runs it. It compiles the
	// compose schema for each file it validates, which costs more than the
	// rest of the load, so a project is first loaded without validation
	// and its merged model validated against the schema compiled once;
	// only a project that fails that is loaded again as compose does, whose
	// answer stands, with its words.
	load := func(consistency bool) (*types.Project, error) {
		project, err := loader.LoadWithContext(ctx, details(), options(false, true, consistency))
		if err == nil {
			var raw map[string]any
			raw, err = loader.LoadModelWithContext(ctx, details(), options(false, false, false))
			if err == nil {
				err = validate(raw)
			}
		}
		if err == nil {
			return project, nil
		}
		loadMu.Lock()
		defer loadMu.Unlock()
		return loader.LoadWithContext(ctx, details(), options(true, true, consistency))
	}
	model, err := load(true)
	if err != nil {
		// A blank or invalid image is reported at its line, before what
		// the loader says of it ("has neither an image nor a build").
		if loose, lerr := load(false); lerr == nil {
			p := &Project{Model: loose, Files: files, EnvFiles: envFiles}
			if problems := p.collect(ix, top, &unset); len(problems.Failures()) > 0 {
				return nil, problems.Failures()
			}
		}
		return nil, ix.loadError(top, err)
	}
	p := &Project{Model: model, Files: files, EnvFiles: envFiles}
	if problems := p.collect(ix, top, &unset); len(problems.Failures()) > 0 {
		return nil, problems.Failures()
	} else {
		p.Problems = problems
	}
	return p, nil
}

// envFilesOf are the .env files of a project in dir: those given (relative
// to dir), else dir/.env when it is a file.
func envFilesOf(dir string, given []string) ([]string, error) {
	if len(given) > 0 {
		var out []string
		for _, f := range given {
			if !filepath.IsAbs(f) {
				f = filepath.Join(dir, f)
			}
			out = append(out, f)
		}
		return out, nil
	}
	f := filepath.Join(dir, ".env")
	if fi, err := os.Stat(f); err == nil && !fi.IsDir() {
		return []string{f}, nil
	}
	return nil, nil
}

func envMap(environ []string) map[string]string {
	m := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// Group makes compose projects of the files discovery found (slash paths
// relative to root), as docker compose finds them in each directory: the
// first of discover.ComposeFileNames there, then the first override file.
// Any other file (one an include pattern named) is a layer that docker
// compose reads with -f: on top of the project of its directory, as in
// docker compose -f compose.yaml -f compose.full.yaml, or alone where the
// directory has none. A second candidate is a warning: docker compose
// reads only the first.
func Group(root string, found []string) ([][]string, diag.List) {
	byDir := map[string][]string{}
	var dirs, layers []string
	for _, f := range found {
		if !discover.IsComposeFile(f) {
			layers = append(layers, f)
			continue
		}
		d := path.Dir(f)
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], f)
	}
	var warnings diag.List
	var projects [][]string
	base := map[string][]string{} // the project of each directory
	for _, d := range dirs {
		first := func(names []string) (string, []string) {
			var have []string
			for _, n := range names {
				if p := path.Join(d, n); slices.Contains(byDir[d], p) {
					have = append(have, p)
				}
			}
			if len(have) == 0 {
				return "", nil
			}
			return have[0], have[1:]
		}
		main, others := first(discover.ComposeFileNames)
		override, moreOverrides := first(discover.ComposeOverrideFileNames)
		name := func(rel string) string { return filepath.ToSlash(filepath.Join(root, rel)) }
		for _, o := range others {
			warnings.Add(diag.Warning, name(o), 0, "not read: docker compose reads %s in this directory, not this file", path.Base(main))
		}
		for _, o := range moreOverrides {
			warnings.Add(diag.Warning, name(o), 0, "not read: docker compose reads %s in this directory, not this file", path.Base(override))
		}
		if main == "" {
			continue // an override alone is no project
		}
		files := []string{main}
		if override != "" {
			files = append(files, override)
		}
		base[d] = files
		projects = append(projects, files)
	}
	for _, l := range layers {
		projects = append(projects, append(slices.Clone(base[path.Dir(l)]), l))
	}
	return projects, warnings
}
