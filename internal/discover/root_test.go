package discover

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// outsideProjects skips the test when a directory above dir holds what
// FindRoot stops at, as a temporary directory inside a checkout would:
// the test expects the search to run off the top of the file system.
func outsideProjects(t *testing.T, dir string) {
	t.Helper()
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		for _, name := range append([]string{".git"}, rootMarkers...) {
			if _, err := os.Lstat(filepath.Join(d, name)); err == nil {
				t.Skipf("%s holds %s", d, name)
			}
		}
		if filepath.Dir(d) == d {
			return
		}
	}
}

func TestFindRoot(t *testing.T) {
	for _, tt := range []struct {
		desc  string
		files []string // as tree takes them
		start string   // slash-separated, relative to the tree
		root  string   // slash-separated, relative to the tree
		found bool
	}{
		{
			desc:  "lock in start",
			files: []string{"images.lock", "a/"},
			start: ".", root: ".", found: true,
		},
		{
			desc:  "config in start",
			files: []string{"imglock.toml"},
			start: ".", root: ".", found: true,
		},
		{
			desc:  "lock above",
			files: []string{"images.lock", "a/b/c/"},
			start: "a/b/c", root: ".", found: true,
		},
		{
			desc:  "config above",
			files: []string{"svc/imglock.toml", "svc/api/cmd/"},
			start: "svc/api/cmd", root: "svc", found: true,
		},
		{
			desc:  "the nearest wins",
			files: []string{"images.lock", "a/imglock.toml", "a/b/"},
			start: "a/b", root: "a", found: true,
		},
		{
			desc:  "the repository root is checked",
			files: []string{".git/", "images.lock", "a/"},
			start: "a", root: ".", found: true,
		},
		{
			desc:  "a marker below the repository root",
			files: []string{".git/", "images.lock", "svc/images.lock", "svc/api/"},
			start: "svc/api", root: "svc", found: true,
		},
		{
			desc:  "start is the repository root",
			files: []string{"repo/.git/", "images.lock"},
			start: "repo", root: "repo", found: false,
		},
		{
			desc:  "a .git directory is not crossed",
			files: []string{"images.lock", "repo/.git/", "repo/a/b/"},
			start: "repo/a/b", root: "repo", found: false,
		},
		{
			desc:  "a .git file (worktree, submodule) is not crossed",
			files: []string{".git/", "images.lock", "modules/sub/.git", "modules/sub/src/"},
			start: "modules/sub/src", root: "modules/sub", found: false,
		},
		{
			desc:  "a directory named like a marker is none",
			files: []string{".git/", "images.lock/", "a/imglock.toml/"},
			start: "a", root: ".", found: false,
		},
		{
			desc:  "start is a file",
			files: []string{"images.lock", "svc/Dockerfile"},
			start: "svc/Dockerfile", root: ".", found: true,
		},
		{
			desc:  "start is a file next to the lock",
			files: []string{"svc/images.lock", "svc/Dockerfile"},
			start: "svc/Dockerfile", root: "svc", found: true,
		},
		{
			desc:  "start is a file in a repository without a lock",
			files: []string{".git/", "svc/Dockerfile"},
			start: "svc/Dockerfile", root: ".", found: false,
		},
		{
			desc:  "start is a .git directory",
			files: []string{".git/", "images.lock"},
			start: ".git", root: ".", found: true,
		},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			top := tree(t, tt.files...)
			start := filepath.Join(top, filepath.FromSlash(tt.start))
			want := filepath.Join(top, filepath.FromSlash(tt.root))
			check := func(t *testing.T, start, want string) {
				t.Helper()
				root, found, err := FindRoot(start)
				if err != nil {
					t.Fatal(err)
				}
				if root != want || found != tt.found {
					t.Errorf("FindRoot(%q) = %q, %v; want %q, %v", start, root, found, want, tt.found)
				}
				if found && !hasMarker(t, root) {
					t.Errorf("FindRoot(%q) = %q, which holds no marker", start, root)
				}
			}
			t.Run("absolute", func(t *testing.T) {
				check(t, start, want)
			})
			t.Run("relative", func(t *testing.T) {
				t.Chdir(top)
				check(t, filepath.FromSlash(tt.start), filepath.FromSlash(tt.root))
				check(t, "./"+tt.start, filepath.FromSlash(tt.root))
			})
			t.Run("from start", func(t *testing.T) {
				dir, name := start, "."
				if fi, err := os.Stat(start); err != nil {
					t.Fatal(err)
				} else if !fi.IsDir() {
					dir, name = filepath.Dir(start), filepath.Base(start)
				}
				rel, err := filepath.Rel(dir, want)
				if err != nil {
					t.Fatal(err)
				}
				t.Chdir(dir)
				check(t, name, rel)
			})
		})
	}
}

// hasMarker reports whether dir holds a root marker that is a file.
func hasMarker(t *testing.T, dir string) bool {
	t.Helper()
	for _, name := range rootMarkers {
		if ok, err := isFile(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		} else if ok {
			return true
		}
	}
	return false
}

// With nothing to find and no repository, the search runs to the top of
// the file system and the root is start's directory.
func TestFindRootNotFound(t *testing.T) {
	top := tree(t, "a/b/Dockerfile")
	outsideProjects(t, top)
	for _, tt := range []struct {
		dir, start, want string
	}{
		{top, filepath.Join(top, "a", "b"), filepath.Join(top, "a", "b")},
		{top, filepath.Join(top, "a", "b", "Dockerfile"), filepath.Join(top, "a", "b")},
		{top, filepath.Join("a", "b"), filepath.Join("a", "b")},
		{top, filepath.Join("a", "b", "Dockerfile"), filepath.Join("a", "b")},
		{top, filepath.Join("a", "b", ".."), "a"},
		{filepath.Join(top, "a", "b"), ".", "."},
		{filepath.Join(top, "a", "b"), "", "."},
		{filepath.Join(top, "a", "b"), "Dockerfile", "."},
		{filepath.Join(top, "a", "b"), "..", ".."},
	} {
		t.Chdir(tt.dir)
		root, found, err := FindRoot(tt.start)
		if err != nil {
			t.Fatalf("FindRoot(%q) in %s: %v", tt.start, tt.dir, err)
		}
		if root != tt.want || found {
			t.Errorf("FindRoot(%q) in %s = %q, %v; want %q, false", tt.start, tt.dir, root, found, tt.want)
		}
	}
}

func TestFindRootSymlinks(t *testing.T) {
	top := tree(t,
		".git/",
		"lock-link/a/",
		"lock-dangling/a/",
		"lock-dir/a/",
		"git-link/repo/a/",
		"real/lock",
		"real/dir/",
		"real/repo/.git/",
	)
	for link, target := range map[string]string{
		"lock-link/images.lock":     filepath.Join(top, "real", "lock"),
		"lock-dangling/images.lock": filepath.Join(top, "real", "missing"),
		"lock-dir/imglock.toml":     filepath.Join(top, "real", "dir"),
		"git-link/repo/.git":        filepath.Join(top, "real", "repo", ".git"),
	} {
		if err := os.Symlink(target, filepath.Join(top, filepath.FromSlash(link))); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	for _, tt := range []struct {
		start, root string
		found       bool
	}{
		{"lock-link/a", "lock-link", true},
		{"lock-dangling/a", ".", false},
		{"lock-dir/a", ".", false},
		{"git-link/repo/a", "git-link/repo", false},
	} {
		start := filepath.Join(top, filepath.FromSlash(tt.start))
		want := filepath.Join(top, filepath.FromSlash(tt.root))
		root, found, err := FindRoot(start)
		if err != nil {
			t.Fatal(err)
		}
		if root != want || found != tt.found {
			t.Errorf("FindRoot(%q) = %q, %v; want %q, %v", start, root, found, want, tt.found)
		}
	}
}

// Through a symlinked directory, an absolute start is searched upward by
// its own elements, a relative one through the working directory's real
// parent; in both cases the root returned is the directory checked.
func TestFindRootSymlinkedDirectory(t *testing.T) {
	top := tree(t,
		".git/",
		"real/proj/images.lock",
		"real/proj/sub/Dockerfile",
		"links/imglock.toml",
	)
	link := filepath.Join(top, "links", "sub")
	if err := os.Symlink(filepath.Join(top, "real", "proj", "sub"), link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}

	root, found, err := FindRoot(link)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(top, "links"); root != want || !found {
		t.Errorf("FindRoot(%q) = %q, %v; want %q, true", link, root, found, want)
	}

	t.Chdir(link)
	for _, start := range []string{".", "Dockerfile"} {
		root, found, err = FindRoot(start)
		if err != nil {
			t.Fatal(err)
		}
		if root != ".." || !found {
			t.Errorf("FindRoot(%q) in %s = %q, %v; want \"..\", true", start, link, root, found)
		}
	}
	got, err := os.Stat(filepath.Join(root, "images.lock"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.Stat(filepath.Join(top, "real", "proj", "images.lock"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(got, want) {
		t.Errorf("%s is not real/proj/images.lock", filepath.Join(root, "images.lock"))
	}
}

func TestFindRootErrors(t *testing.T) {
	top := tree(t, "images.lock")
	for _, start := range []string{
		filepath.Join(top, "missing"),
		filepath.Join(top, "missing", "deeper"),
		filepath.Join(top, "images.lock", "x"),
	} {
		root, found, err := FindRoot(start)
		if err == nil {
			t.Errorf("FindRoot(%q) = %q, %v; want an error", start, root, found)
		}
	}
	if _, _, err := FindRoot(filepath.Join(top, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error = %v, want one wrapping fs.ErrNotExist", err)
	}
}
