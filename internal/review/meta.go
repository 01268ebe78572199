package review

import (
	"maps"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/imglock/imglock/internal/diag"
)

// The OCI annotations (image-spec annotations.md) an image describes
// itself with; Docker Official Images set them on each platform manifest
// and its index entry, many images set them as config labels.
const (
	annCreated    = "org.opencontainers.image.created"
	annVersion    = "org.opencontainers.image.version"
	annRevision   = "org.opencontainers.image.revision"
	annSource     = "org.opencontainers.image.source"
	annBaseName   = "org.opencontainers.image.base.name"
	annBaseDigest = "org.opencontainers.image.base.digest"
)

// maxValue bounds what is kept of a value the registry sends: more than
// any real version or URL, little enough not to flood a PR body.
const maxValue = 200

// describe is what this side's annotations, labels and config say.
func (sd *side) describe() Image {
	img := sd.img
	if !sd.read {
		return img
	}
	var labels map[string]string
	if sd.cfg != nil {
		labels = sd.cfg.Config.Labels
	}
	pick := func(keys ...string) (string, string) {
		for _, from := range []struct {
			m    map[string]string
			name string
		}{{sd.annotations, "annotation"}, {labels, "label"}} {
			for _, k := range keys {
				if v := strings.TrimSpace(from.m[k]); v != "" {
					return diag.Cut(v, maxValue), from.name
				}
			}
		}
		return "", ""
	}
	img.Version, img.VersionFrom = pick(annVersion, "org.label-schema.version")
	img.Revision, _ = pick(annRevision, "org.label-schema.vcs-ref")
	img.Source, _ = pick(annSource, "org.label-schema.vcs-url")
	img.BaseName, _ = pick(annBaseName)
	img.BaseDigest, _ = pick(annBaseDigest)
	created, from := pick(annCreated, "org.label-schema.build-date")
	switch {
	case from != "":
		img.Created = parseCreated(created)
	case sd.cfg != nil:
		img.Created = usableTime(sd.cfg.Created.Time)
	}
	return img
}

// parseCreated reads an RFC 3339 time; the zero time when it is not one
// or is no usable time.
func parseCreated(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return usableTime(t)
}

// usableTime is t in UTC, or the zero time for a time that says nothing:
// unset, or the epoch (or before), which reproducible builds write
// (SOURCE_DATE_EPOCH=0).
func usableTime(t time.Time) time.Time {
	if t.IsZero() || t.Unix() <= 0 {
		return time.Time{}
	}
	return t.UTC()
}

// envChanges are the *_VERSION variables (PYTHON_VERSION, GOLANG_VERSION)
// whose values differ between two configs, sorted by name; none unless
// both were read.
func envChanges(old, new *v1.ConfigFile) []EnvChange {
	if old == nil || new == nil {
		return nil
	}
	o, n := versionEnv(old), versionEnv(new)
	names := map[string]bool{}
	for k := range o {
		names[k] = true
	}
	for k := range n {
		names[k] = true
	}
	var out []EnvChange
	for _, k := range slices.Sorted(maps.Keys(names)) {
		if o[k] != n[k] {
			out = append(out, EnvChange{Name: k, Old: o[k], New: n[k]})
		}
	}
	return out
}

func versionEnv(cfg *v1.ConfigFile) map[string]string {
	out := map[string]string{}
	for _, kv := range cfg.Config.Env {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasSuffix(k, "_VERSION") && len(k) > len("_VERSION") {
			out[diag.Cut(k, maxValue)] = diag.Cut(v, maxValue)
		}
	}
	return out
}
