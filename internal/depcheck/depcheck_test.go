package depcheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/imglock/imglock"

// testSupport is the fence around test support: only tests, and the
// packages mayUseTestSupport names, import what is inside.
const testSupport = module + "/internal/testing"

// mayUseTestSupport are the packages outside the fence that may import it:
// the demo walks through imglock against the in-process registry.
var mayUseTestSupport = map[string]bool{
	module + "/internal/demo": true,
}

// forbidden is what a package may not import, directly or through others,
// by package path prefix, each with the reason.
var forbidden = map[string]map[string]string{
	// The images.lock format alone (style.md): reading a lock stays cheap
	// for any caller.
	module + "/lock": {
		"github.com/google/go-containerregistry": "registry code",
		"github.com/moby/buildkit":               "Dockerfile code",
		module + "/internal/resolve":             "registry code",
		module + "/internal/dockerfile":          "Dockerfile code",
	},
}

// under reports whether pkg is prefix or a package below it.
func under(pkg, prefix string) bool {
	return pkg == prefix || strings.HasPrefix(pkg, prefix+"/")
}

func TestDependencies(t *testing.T) {
	// Deps is every package a package imports, transitively, leaving out
	// its tests' imports: what it links.
	out, err := exec.Command("go", "list", "-json=ImportPath,Deps", module+"/...").Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("go list: %v\n%s", err, exit.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	listed := map[string]bool{}
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		listed[p.ImportPath] = true
		for _, dep := range p.Deps {
			if under(dep, testSupport) && !under(p.ImportPath, testSupport) && !mayUseTestSupport[p.ImportPath] {
				t.Errorf("%s imports the test support %s; only tests and %s may", p.ImportPath, dep, testSupport)
			}
			for prefix, why := range forbidden[p.ImportPath] {
				if under(dep, prefix) {
					t.Errorf("%s imports %s: %s", p.ImportPath, dep, why)
				}
			}
		}
	}
	// A rule about a package go list did not report would pass unseen.
	for _, p := range []string{module + "/cmd/imglock", module + "/lock", module + "/internal/demo", testSupport + "/registry"} {
		if !listed[p] {
			t.Errorf("go list did not report %s", p)
		}
	}
}
