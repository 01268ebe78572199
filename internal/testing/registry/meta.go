package registry

import (
	"crypto/sha256"
	"maps"
	"math/rand/v2"
	"time"

	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Meta is what a test image says about itself, the way published images
// do: Docker Official Images put OCI annotations on each platform manifest
// and on its entry in the index, and labels, *_VERSION variables and a
// created time in the config.
type Meta struct {
	Created          time.Time         // the config's created time; zero leaves it unset
	Annotations      map[string]string // on each platform manifest and its index entry
	IndexAnnotations map[string]string // on the index itself
	Labels           map[string]string // config labels
	Env              []string          // config Env, KEY=VALUE
	// Content replaces, for a platform, the text its /base.txt holds.
	Content map[string]string
	// Attestation, when set, adds to an index an attestation manifest
	// holding it, as BuildKit attaches provenance (platform unknown/unknown).
	Attestation string
	// Pad adds a layer of that many incompressible bytes (the same for the
	// same content), so that sizes differ as real images' do.
	Pad int
}

// ImageWithMeta is an OCI image of a layer holding /base.txt with content,
// for platform, described by m.
func ImageWithMeta(content, platform string, m Meta) (v1.Image, error) {
	plat, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, err
	}
	files := map[string]string{"base.txt": content + "\n"}
	if m.Pad > 0 {
		files["pad.bin"] = string(pad(content, m.Pad))
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	for _, name := range []string{"base.txt", "pad.bin"} {
		if files[name] == "" {
			continue
		}
		layer, err := crane.Layer(map[string][]byte{name: []byte(files[name])})
		if err != nil {
			return nil, err
		}
		if img, err = mutate.Append(img, mutate.Addendum{Layer: layer, MediaType: types.OCILayer}); err != nil {
			return nil, err
		}
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = plat.OS, plat.Architecture, plat.Variant
	cfg.Created = v1.Time{Time: m.Created}
	cfg.Config.Labels = maps.Clone(m.Labels)
	cfg.Config.Env = append([]string(nil), m.Env...)
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	if len(m.Annotations) > 0 {
		img = mutate.Annotations(img, m.Annotations).(v1.Image)
	}
	return img, nil
}

// IndexWithMeta is an OCI index of one ImageWithMeta per platform, each
// holding content and its platform (or m.Content's text for it), with m's
// annotations on the index, on each manifest and on its entry. It returns
// each platform's manifest digest too.
func IndexWithMeta(content string, m Meta, platforms ...string) (v1.ImageIndex, map[string]string, error) {
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	digests := map[string]string{}
	for _, p := range platforms {
		plat, err := v1.ParsePlatform(p)
		if err != nil {
			return nil, nil, err
		}
		text, ok := m.Content[p]
		if !ok {
			text = content + " " + p
		}
		img, err := ImageWithMeta(text, p, m)
		if err != nil {
			return nil, nil, err
		}
		d, err := img.Digest()
		if err != nil {
			return nil, nil, err
		}
		digests[p] = d.String()
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: plat, Annotations: maps.Clone(m.Annotations)}})
	}
	if m.Attestation != "" && len(platforms) > 0 {
		att, err := ImageWithMeta(m.Attestation, "unknown/unknown", Meta{})
		if err != nil {
			return nil, nil, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{
				"vnd.docker.reference.type":   "attestation-manifest",
				"vnd.docker.reference.digest": digests[platforms[0]],
			},
		}})
	}
	if len(m.IndexAnnotations) > 0 {
		idx = mutate.Annotations(idx, m.IndexAnnotations).(v1.ImageIndex)
	}
	return idx, digests, nil
}

// pad is n bytes that do not compress, the same for the same seed.
func pad(seed string, n int) []byte {
	r := rand.NewChaCha8(sha256.Sum256([]byte(seed)))
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

// PushImage pushes img, an image or an index, to ref (REPO:TAG on this
// registry, without the host) and returns its digest. Its requests are not
// counted.
func (r *Registry) PushImage(ref string, img remote.Taggable) (string, error) {
	return r.push(ref, img)
}
