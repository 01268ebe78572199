package registry

import (
	"fmt"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push pushes img, a v1.Image or v1.ImageIndex, to ref, a full reference on
// any registry, and returns its digest; opts say how to reach the registry
// (transport, credentials).
func Push(ref string, img remote.Taggable, opts ...remote.Option) (string, error) {
	tag, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	if err := remote.Push(tag, img, opts...); err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	d, err := partial.Digest(img)
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

// Image is a one-layer image holding /base.txt with content, for platform
// ("linux/amd64", "linux/arm/v7").
func Image(content, platform string) (v1.Image, error) {
	layer, err := crane.Layer(map[string][]byte{"base.txt": []byte(content + "\n")})
	if err != nil {
		return nil, err
	}
	return NewImage(layer, platform, v1.Config{})
}

// NewImage is an image of layer with config (entrypoint, labels) whose
// config file names platform, as engines require.
func NewImage(layer v1.Layer, platform string, config v1.Config) (v1.Image, error) {
	plat, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = plat.OS, plat.Architecture, plat.Variant
	cfg.Config = config
	return mutate.ConfigFile(img, cfg)
}

// Index is a multi-platform index of one Image per platform ("linux/arm64",
// "linux/arm/v7"), each holding content and its platform. It returns each
// platform's manifest digest too.
func Index(content string, platforms ...string) (v1.ImageIndex, map[string]string, error) {
	var idx v1.ImageIndex = empty.Index
	digests := map[string]string{}
	for _, p := range platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			return nil, nil, err
		}
		img, err := Image(content+" "+p, p)
		if err != nil {
			return nil, nil, err
		}
		d, err := img.Digest()
		if err != nil {
			return nil, nil, err
		}
		digests[p] = d.String()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: plat}})
	}
	return idx, digests, nil
}
