package project

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/imglock/imglock/internal/compose"
	"github.com/imglock/imglock/internal/config"
	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/discover"
	"github.com/imglock/imglock/internal/dockerfile"
)

// composeScan is what the compose files of a repository give the scan:
// the images they pull, and the builds each Dockerfile has in them.
type composeScan struct {
	refs     []dockerfile.Reference
	problems diag.List
	builds   map[string][]compose.Build // by Dockerfile, relative to the root
}

// scanCompose loads each compose project (a compose file and its
// override, as docker compose finds them in their directory) with its
// settings from imglock.toml, and collects the images they pull; each
// build section goes to the Dockerfile it builds, or is evaluated here
// when it writes its Dockerfile inline.
func (p *Project) scanCompose(found []string) composeScan {
	out := composeScan{builds: map[string][]compose.Build{}}
	projects, warnings := compose.Group(p.Root, found)
	out.problems = append(out.problems, warnings...)
	absRoot, err := filepath.Abs(p.Root)
	if err != nil {
		out.problems.Add(diag.Input, p.Root, 0, "%v", err)
		return out
	}
	name := func(abs string) string {
		rel, err := filepath.Rel(absRoot, abs)
		if err != nil {
			return filepath.ToSlash(abs)
		}
		return filepath.ToSlash(joinRoot(p.Root, rel))
	}
	environ := os.Environ()
	type load struct {
		files    []string // absolute
		settings config.ComposeSettings
		stack    bool // the files of a [[compose]] on top of a project
	}
	var loads []load
	stacked := map[string]bool{} // files a stack reads
	for _, files := range projects {
		settings := p.Config.ForCompose(files[0])
		var abs []string
		for _, f := range files {
			abs = append(abs, filepath.Join(absRoot, filepath.FromSlash(f)))
		}
		loads = append(loads, load{abs, settings, false})
		// The files [[compose]] names go on top of the project docker
		// compose finds, read as well as it.
		if len(settings.Files) == 0 || !discover.IsComposeFile(files[len(files)-1]) {
			continue
		}
		layered := slices.Clone(abs)
		for _, f := range settings.Files {
			if !filepath.IsAbs(f) {
				f = filepath.Join(filepath.Dir(abs[0]), filepath.FromSlash(f))
			}
			if _, err := os.Stat(f); err != nil {
				out.problems.Add(diag.Input, p.configName(), settings.Line, "files of [[compose]] for %s: %v", files[0], err)
				layered = nil
				break
			}
			layered = append(layered, f)
		}
		if layered != nil {
			loads = append(loads, load{layered, settings, true})
			for _, f := range layered[len(abs):] {
				stacked[f] = true
			}
		}
	}
	// A layer a stack reads is read there only: alone on its project it
	// may lack what other layers of the stack define.
	loads = slices.DeleteFunc(loads, func(l load) bool { return !l.stack && stacked[l.files[len(l.files)-1]] })
	// Loaded in parallel, kept in order.
	type loaded struct {
		p   *compose.Project
		err error
	}
	results := make([]loaded, len(loads))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, l := range loads {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			cp, err := compose.Load(context.Background(), compose.Options{
				Files:    l.files,
				EnvFiles: l.settings.EnvFiles,
				Profiles: l.settings.Profiles,
				Environ:  environ,
				Name:     name,
			})
			results[i] = loaded{cp, err}
		}()
	}
	wg.Wait()
	for i, l := range loads {
		abs, cp, err := l.files, results[i].p, results[i].err
		if err != nil {
			list, rest := diag.Collect(err)
			out.problems = append(out.problems, list...)
			for _, e := range rest {
				out.problems.Add(diag.Input, name(abs[0]), 0, "%v", e)
			}
			continue
		}
		out.problems = append(out.problems, cp.Problems...)
		for _, img := range cp.Images {
			r := img.Reference
			if len(r.Platforms) == 0 {
				r.Platforms = p.Config.Platforms
			}
			out.refs = append(out.refs, r)
		}
		for _, b := range cp.Builds {
			switch {
			case b.Inline != "":
				refs, problems := p.inlineBuild(b)
				out.refs = append(out.refs, refs...)
				out.problems = append(out.problems, problems...)
			case b.Dockerfile != "":
				rel, err := filepath.Rel(absRoot, b.Dockerfile)
				if err != nil {
					rel = b.Dockerfile
				}
				rel = path.Clean(filepath.ToSlash(rel))
				out.builds[rel] = append(out.builds[rel], b)
			}
		}
	}
	// A compose file that another includes is loaded with both.
	out.refs = dockerfile.MergeReferences(nil, out.refs)
	return out
}

// configName is imglock.toml as messages name it.
func (p *Project) configName() string {
	if p.Config.File != "" {
		return p.Config.File
	}
	return config.FileName
}

// inlineBuild evaluates a build whose Dockerfile is written in the compose
// file: its references are at that file's lines.
func (p *Project) inlineBuild(b compose.Build) ([]dockerfile.Reference, diag.List) {
	f, err := b.ParseInline()
	if err != nil {
		list, _ := diag.Collect(err)
		return nil, list
	}
	refs, problems := b.Pulls(f, p.platforms(config.Settings{Platforms: p.Config.Platforms}))
	if len(b.Platforms) == 0 {
		recordedPlatforms(refs, p.Config.Platforms)
	}
	return refs, problems
}

// composeBuilds evaluates the Dockerfile f (rel, relative to the root)
// for each build of it the compose files have, and merges what they pull
// into refs, those of its plain builds.
func (p *Project) composeBuilds(f *dockerfile.File, settings config.Settings, refs []dockerfile.Reference, problems diag.List, builds []compose.Build) ([]dockerfile.Reference, diag.List) {
	for _, b := range builds {
		more, pr := b.Pulls(f, p.platforms(settings))
		if len(b.Platforms) == 0 {
			recordedPlatforms(more, settings.Platforms)
		}
		refs = dockerfile.MergeReferences(refs, more)
		problems = append(problems, pr...)
	}
	return refs, problems.Dedupe()
}

// platforms are those a Dockerfile's builds are evaluated for.
func (p *Project) platforms(s config.Settings) []string {
	if len(s.Platforms) == 0 {
		return []string{dockerfile.DefaultPlatform}
	}
	return s.Platforms
}

// composeNote is why pin leaves a compose reference alone.
func composeNote(r dockerfile.Reference) *diag.Diagnostic {
	if !compose.IsKind(r.Kind) {
		return diag.New(diag.Note, r.File, r.Line, "%s is in a dockerfile_inline; 'imglock compose' pins it when it builds", r.Written)
	}
	return diag.New(diag.Note, r.File, r.Line, "%s is %s, not written out here; pin it where its value is set, or run docker compose through 'imglock compose'", r.Expanded, fmt.Sprintf("interpolated from %s", r.Written))
}
