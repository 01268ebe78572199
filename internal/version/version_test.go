package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	const rev = "85e6bb6a1b2c3d4e5f60718293a4b5c6d7e8f901"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-11-30T10:00:00Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	for _, tc := range []struct {
		desc     string
		version  string
		settings []debug.BuildSetting
		want, ua string
	}{
		{"release", "v1.2.3", nil, "v1.2.3", "imglock/v1.2.3"},
		{"installed at a commit", "v0.0.0-20261130100000-85e6bb6a1b2c", nil,
			"v0.0.0-20261130100000-85e6bb6a1b2c", "imglock/v0.0.0-20261130100000-85e6bb6a1b2c"},
		{"checkout, dirty", "v0.0.0-20261130100000-85e6bb6a1b2c+dirty", vcs("true"),
			"(devel) 85e6bb6a1b2c 2026-11-30T10:00:00Z+dirty", "imglock/devel (85e6bb6a1b2c 2026-11-30T10:00:00Z+dirty)"},
		{"checkout, clean", "v0.0.0-20261130100000-85e6bb6a1b2c", vcs("false"),
			"(devel) 85e6bb6a1b2c 2026-11-30T10:00:00Z", "imglock/devel (85e6bb6a1b2c 2026-11-30T10:00:00Z)"},
		{"checkout, before versions were stamped", "(devel)", vcs("true"),
			"(devel) 85e6bb6a1b2c 2026-11-30T10:00:00Z+dirty", "imglock/devel (85e6bb6a1b2c 2026-11-30T10:00:00Z+dirty)"},
		{"checkout at a release tag", "v1.2.3", vcs("false"), "v1.2.3", "imglock/v1.2.3"},
		{"checkout at a release tag, dirty", "v1.2.3+dirty", vcs("true"),
			"(devel) 85e6bb6a1b2c 2026-11-30T10:00:00Z+dirty", "imglock/devel (85e6bb6a1b2c 2026-11-30T10:00:00Z+dirty)"},
		{"checkout, no commit time", "(devel)", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "true"}},
			"(devel) abc+dirty", "imglock/devel (abc+dirty)"},
		{"no version, no VCS", "(devel)", nil, "(devel)", "imglock/devel"},
		{"nothing at all", "", nil, "(devel)", "imglock/devel"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			b := fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Path: "github.com/imglock/imglock", Version: tc.version}, Settings: tc.settings})
			if got := b.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if got := b.userAgent(); got != tc.ua {
				t.Errorf("userAgent() = %q, want %q", got, tc.ua)
			}
		})
	}
}

func TestThisBinary(t *testing.T) {
	if String() == "" || UserAgent() == "" {
		t.Errorf("String() = %q, UserAgent() = %q", String(), UserAgent())
	}
}
