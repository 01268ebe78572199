package resolve

import (
	"github.com/containerd/platforms"
	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// PlatformString writes the platform of an index entry or an image config
// as images.lock and messages do: OS/ARCH[/VARIANT].
func PlatformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// SamePlatform reports whether two OS/ARCH[/VARIANT] name one platform
// once normalised as containerd and BuildKit normalise them (linux/arm64
// is linux/arm64/v8, linux/arm is linux/arm/v7); two it cannot parse are
// compared as written.
func SamePlatform(a, b string) bool {
	pa, errA := platforms.Parse(a)
	pb, errB := platforms.Parse(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return platforms.FormatAll(platforms.Normalize(pa)) == platforms.FormatAll(platforms.Normalize(pb))
}
