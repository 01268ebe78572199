// Package project is one repository as imglock sees it: its settings
// (imglock.toml), its lock (images.lock) and the base-image references of
// its Dockerfiles, with the operations the commands run on them (Verify,
// Tidy, Upgrade, CheckRemote, Pin, Unpin).
//
// A Project reads the lock once when it is opened and plans from that
// copy; an operation that writes re-reads the lock under its file lock and
// applies its changes there, as cmd/go does with go.sum, so a run parses
// images.lock at most twice and two concurrent runs never mix their writes.
package project

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strconv"

	"github.com/imglock/imglock/internal/config"
	"github.com/imglock/imglock/internal/discover"
	"github.com/imglock/imglock/internal/dockerfile"
	"github.com/imglock/imglock/internal/resolve"
	"github.com/imglock/imglock/lock"
)

// Options say where a project is and what a run covers.
type Options struct {
	Root       string            // repository root
	LockFile   string            // the lock, relative to Root unless absolute (default images.lock)
	ConfigFile string            // the configuration, relative to Root unless absolute (default imglock.toml)
	NeedConfig bool              // the configuration file must exist (it was named)
	Files      []string          // Dockerfiles to cover, relative to Root; none means discovery
	BuildArgs  map[string]string // --build-arg values, over the global ARG defaults
	// Resolver makes the registry resolver from the settings; called only
	// when a run must ask a registry something.
	Resolver func(*config.Config) (resolve.Resolver, error)
}

// Project is one repository and one run's view of it.
type Project struct {
	Root     string
	Config   *config.Config
	LockName string                 // the lock's path, as messages name it
	Refs     []dockerfile.Reference // every reference of the Dockerfiles covered

	store       lockStore
	lock        *lock.File // as read when the project was opened
	lockData    []byte     // its bytes; nil when there is no file
	newResolver func() (resolve.Resolver, error)
}

// lockStore reads and rewrites the lock file; tests wrap it to count what
// the operations parse.
type lockStore interface {
	Read() (*lock.File, []byte, error)
	Update(edit func(*lock.File) error) (changed bool, err error)
}

// lockOnDisk is images.lock on disk.
type lockOnDisk string

func (p lockOnDisk) Read() (*lock.File, []byte, error) { return lock.ReadFile(string(p)) }
func (p lockOnDisk) Update(edit func(*lock.File) error) (bool, error) {
	return lock.Update(string(p), edit)
}

// Open reads the configuration and the lock, and finds and reads the
// Dockerfiles. A Dockerfile that does not parse is an error, with every
// file's problems joined.
func Open(o Options) (*Project, error) {
	return open(o, func(path string) lockStore { return lockOnDisk(path) })
}

// open is Open with the lock read and written through the store that
// storeAt gives for its path.
func open(o Options, storeAt func(string) lockStore) (*Project, error) {
	cfgPath := joinRoot(o.Root, defaultString(o.ConfigFile, config.FileName))
	if o.NeedConfig {
		if _, err := os.Stat(cfgPath); err != nil {
			return nil, err
		}
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, err
	}
	p := &Project{Root: o.Root, Config: cfg, LockName: joinRoot(o.Root, defaultString(o.LockFile, "images.lock"))}
	p.store = storeAt(p.LockName)
	if o.Resolver != nil {
		p.newResolver = func() (resolve.Resolver, error) { return o.Resolver(cfg) }
	}
	if err := p.readLock(); err != nil {
		return nil, err
	}
	p.Refs, err = scan(o, cfg)
	if err != nil {
		if len(cfg.Warnings) > 0 {
			err = errors.Join(cfg.Warnings, err) // they still reach the user
		}
		return nil, err
	}
	return p, nil
}

// readLock reads the lock the operations plan from.
func (p *Project) readLock() error {
	var err error
	p.lock, p.lockData, err = p.store.Read()
	return err
}

// Lock is the lock as read when the project was opened.
func (p *Project) Lock() *lock.File { return p.lock }

// resolver returns the registry resolver, for the operations that need one.
func (p *Project) resolver() (resolve.Resolver, error) {
	if p.newResolver == nil {
		return nil, errors.New("no registry resolver configured")
	}
	return p.newResolver()
}

// scan returns every base-image reference of the Dockerfiles o covers,
// file by file; within a file, those of the plain build come first, then
// those only a variant's build args bring. Files are named by their path
// joined to the root, so that messages point at them from where the
// command runs. Every file is read; the error joins the problems of all of
// them.
func scan(o Options, cfg *config.Config) ([]dockerfile.Reference, error) {
	files := o.Files
	if len(files) == 0 {
		found, err := discover.Find(o.Root, discover.Options{Include: cfg.Include, Exclude: cfg.Exclude})
		if err != nil {
			return nil, err
		}
		files = found
	}
	settings := cfg.ForDockerfile("")
	base := maps.Clone(settings.BuildArgs)
	if base == nil {
		base = map[string]string{}
	}
	maps.Copy(base, o.BuildArgs)
	argSets := []map[string]string{base}
	for _, v := range settings.Variants {
		args := maps.Clone(base)
		maps.Copy(args, v)
		maps.Copy(args, o.BuildArgs)
		argSets = append(argSets, args)
	}
	var (
		refs []dockerfile.Reference
		errs []error
		seen = map[string]bool{}
	)
	for _, name := range files {
		path := joinRoot(o.Root, name)
		data, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, args := range argSets {
			found, err := dockerfile.Parse(filepath.ToSlash(path), data, args)
			if err != nil {
				errs = append(errs, err)
				break
			}
			for _, r := range found {
				key := r.File + "\x00" + r.Image.String() + "\x00" + string(r.Kind) + "\x00" + strconv.Itoa(r.Line)
				if !seen[key] {
					seen[key] = true
					refs = append(refs, r)
				}
			}
		}
	}
	return refs, errors.Join(errs...)
}

// joinRoot is name (slash-separated, relative to root, or absolute) as a
// path from the working directory.
func joinRoot(root, name string) string {
	name = filepath.FromSlash(name)
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(root, name)
}

func defaultString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
