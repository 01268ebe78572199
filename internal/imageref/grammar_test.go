package imageref

import (
	"strings"
	"testing"
)

func TestGrammars(t *testing.T) {
	for _, tc := range []struct {
		check func(string) error
		in    string
		ok    bool
	}{
		{CheckTag, "1.26-bookworm", true},
		{CheckTag, "_x", true},
		{CheckTag, "-x", false},
		{CheckTag, "", false},
		{CheckTag, strings.Repeat("a", 129), false},
		{CheckHost, "docker.io", true},
		{CheckHost, "localhost:5000", true},
		{CheckHost, "[::1]:5000", true},
		{CheckHost, "10.0.0.5:5000", true},
		{CheckHost, "https://x", false},
		{CheckHost, "x/y", false},
		{CheckHost, "my_registry.local", false},
		{CheckHost, "x:", false},
		{CheckHostPath, "harbor.example.com/dockerhub", true},
		{CheckHostPath, "gitlab.example.com/group/dependency_proxy/containers", true},
		{CheckHostPath, "mirror:5000", true},
		{CheckHostPath, "mirror:5000/UPPER", false},
		{CheckHostPath, "http://mirror", false},
		{CheckPlatform, "linux/amd64", true},
		{CheckPlatform, "linux/arm/v7", true},
		{CheckPlatform, "linux", false},
		{CheckPlatform, "Linux/amd64", false},
		{CheckPlatform, "linux//amd64", false},
		{CheckPlatform, "a/b/c/d", false},
	} {
		if err := tc.check(tc.in); (err == nil) != tc.ok {
			t.Errorf("check(%q) = %v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
