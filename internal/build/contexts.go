package build

import (
	"maps"
	"slices"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/dockerfile"
)

// NamedContexts are the pins of a build as named build contexts alone
// (KEY -> docker-image://REPO:TAG@DIGEST), the form of docker/build-push-
// action's build-contexts input: each keyed as BuildKit looks it up,
// expanded ARGs and all. What a named context cannot pin is a warning
// each: the # syntax= frontend (BUILDKIT_SYNTAX pins that), and an image
// whose key is also a stage's name, which the context would replace.
func NamedContexts(pins []Pin, stages []string) (map[string]string, diag.List) {
	contexts := map[string]string{}
	var unpinned diag.List
	for _, p := range pins {
		r := p.Ref
		if r.Image.Digest != "" {
			continue // written with its digest: already exact
		}
		key := r.Image.Familiar()
		switch {
		case r.Kind == dockerfile.KindSyntax:
			unpinned.Add(diag.Warning, r.File, r.Line, "%s is not pinned: named contexts cannot pin the frontend; pass the build arg BUILDKIT_SYNTAX=%s", r.Expanded, p.Pinned())
		case isStage(key, stages):
			unpinned.Add(diag.Warning, r.File, r.Line, "%s is not pinned: %s is also a stage's name, and a named context would replace the stage", r.Expanded, key)
		default:
			contexts[key] = imageScheme + p.Pinned()
		}
	}
	return contexts, unpinned
}

// BakeSet are the pins of a build as docker buildx bake --set values for
// the targets that pattern names (TARGET.args.NAME=REF@DIGEST,
// TARGET.contexts.KEY=docker-image://REF@DIGEST), routed as in
// ModeContexts. What neither a build arg nor a named context can pin (an
// image whose key is also a stage's name) is a problem each, of kind.
func BakeSet(pattern string, pins []Pin, stages []string, kind diag.Kind) ([]string, diag.List) {
	rt := route(pins, stages, true)
	var set []string
	for _, k := range slices.Sorted(maps.Keys(rt.buildArgs)) {
		set = append(set, pattern+".args."+k+"="+rt.buildArgs[k])
	}
	for _, k := range slices.Sorted(maps.Keys(rt.contexts)) {
		set = append(set, pattern+".contexts."+k+"="+rt.contexts[k])
	}
	var unpinned diag.List
	for _, rep := range rt.rewrites {
		r := rep.Ref
		unpinned.Add(kind, r.File, r.Line, "%s is not pinned: %s is also a stage's name, and a named context would replace the stage", r.Expanded, r.Image.Familiar())
	}
	return set, unpinned
}

// PinJSON is one pin as imglock contexts --format json prints it: where
// the build pulls the image, its pinned form, and how a named context or
// a build arg carries it (each omitted when none can).
type PinJSON struct {
	File     string `json:"file"`
	Line     int    `json:"line"`
	Kind     string `json:"kind"`
	Written  string `json:"written"`
	Image    string `json:"image"`
	Digest   string `json:"digest"`
	Pinned   string `json:"pinned"`
	Context  string `json:"context,omitempty"`   // named context key
	BuildArg string `json:"build_arg,omitempty"` // build arg name
}

// PinsJSON describes each pin, in file order, with the named context and
// the build arg route would give it.
func PinsJSON(pins []Pin, stages []string) []PinJSON {
	argOf := pinningArgs(pins)
	out := make([]PinJSON, 0, len(pins))
	for _, p := range pins {
		r := p.Ref
		j := PinJSON{File: r.File, Line: r.Line, Kind: string(r.Kind), Written: r.Written, Image: r.Image.String(), Digest: p.Digest, Pinned: p.Pinned()}
		if r.Image.Digest == "" {
			j.BuildArg = argOf(r)
			if key := r.Image.Familiar(); r.Kind != dockerfile.KindSyntax && !isStage(key, stages) {
				j.Context = key
			}
		}
		out = append(out, j)
	}
	return out
}
