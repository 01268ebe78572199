// Package lock reads, validates and writes images.lock, imglock's
// go.sum-style lockfile that pins container base images (and optionally
// their per-platform manifests) to content digests.
//
// Each line is "REPOSITORY TAG[/OS/ARCH[/VARIANT]] DIGEST", with the
// repository in canonical fully-qualified form. The file is sorted and
// written only by the tool; Parse accepts harmless deviations (blank lines,
// extra whitespace, unsorted or duplicate lines, familiar repository names)
// and Format always produces the canonical bytes.
//
// The package is the format alone: parse, format, look up, set, prune, and
// write safely (Update replaces the file atomically, under a lock on its
// directory). It imports no registry or Dockerfile code, which
// internal/depcheck checks, so reading a lock stays cheap for any caller.
package lock

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/distribution/reference"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/imageref"
)

// Entry is one line of images.lock.
type Entry struct {
	Repo     string // canonical repository, e.g. docker.io/library/golang
	Tag      string // e.g. 1.26-bookworm
	Platform string // "" for the tag's own line; "linux/amd64" or "linux/arm/v7" for a per-platform line
	Digest   string // "sha256:..." or "sha512:..."
}

// Key returns the second field as written: Tag or Tag+"/"+Platform.
func (e Entry) Key() string {
	if e.Platform == "" {
		return e.Tag
	}
	return e.Tag + "/" + e.Platform
}

func compareEntries(a, b Entry) int {
	if c := cmp.Compare(a.Repo, b.Repo); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Tag, b.Tag); c != 0 {
		return c
	}
	return cmp.Compare(a.Platform, b.Platform)
}

// File is a parsed images.lock. Its entries are kept sorted and unique by
// (Repo, Tag, Platform), and every platform line has its tag line, so
// Format always produces a file that Parse accepts.
type File struct {
	entries []Entry
	lines   map[string]int // line of each entry in the parsed file, for messages
}

// New returns an empty File.
func New() *File { return &File{} }

// Parse parses the contents of an images.lock. filename is used only in
// error messages. On failure the error is a diag.List holding every
// problem found, ordered by line.
func Parse(filename string, data []byte) (*File, error) {
	p := parser{
		filename: filename,
		repos:    make(map[string]repoResult),
		seen:     make(map[string]seenLine),
	}
	return p.parse(data)
}

type seenLine struct {
	line   int
	digest string
}

type repoResult struct {
	name string
	err  string
}

type parsedEntry struct {
	Entry
	line int
}

type parser struct {
	filename string
	errs     diag.List
	repos    map[string]repoResult // cache: lines share few repositories
	seen     map[string]seenLine
	entries  []parsedEntry
	fields   []string // reused across lines
}

func (p *parser) errorf(line int, format string, args ...any) {
	p.errs.Add(diag.Input, p.filename, line, format, args...)
}

var utf8BOM = []byte("\xef\xbb\xbf")

func (p *parser) parse(data []byte) (*File, error) {
	if bytes.HasPrefix(data, utf8BOM) {
		p.errorf(1, "file starts with a UTF-8 byte order mark (BOM); %s must be plain UTF-8 without one", p.baseName())
		data = data[len(utf8BOM):]
	}
	for lineno := 1; len(data) > 0; lineno++ {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		p.parseLine(lineno, line)
	}

	// Checked after all lines because the file may be unsorted.
	for _, e := range p.entries {
		if e.Platform == "" {
			continue
		}
		if _, ok := p.seen[e.Repo+" "+e.Tag]; !ok {
			p.errorf(e.line, "%s %s has no tag line %s %s", e.Repo, e.Key(), e.Repo, e.Tag)
		}
	}

	if len(p.errs) > 0 {
		p.errs.Sort()
		return nil, p.errs
	}
	f := &File{entries: make([]Entry, len(p.entries)), lines: make(map[string]int, len(p.entries))}
	for i, e := range p.entries {
		f.entries[i] = e.Entry
		if _, ok := f.lines[e.lineKey()]; !ok {
			f.lines[e.lineKey()] = e.line
		}
	}
	slices.SortFunc(f.entries, compareEntries)
	return f, nil
}

func (p *parser) baseName() string {
	b := filepath.Base(p.filename)
	if p.filename == "" || b == "." || b == string(filepath.Separator) {
		return "images.lock"
	}
	return b
}

func (p *parser) parseLine(lineno int, line []byte) {
	if i := bytes.IndexByte(line, 0); i >= 0 {
		p.errorf(lineno, "NUL byte at column %d", i+1)
		return
	}
	if !utf8.Valid(line) {
		i := invalidUTF8Index(line)
		p.errorf(lineno, "invalid UTF-8 (byte 0x%02x at column %d)", line[i], i+1)
		return
	}
	if i := bytes.IndexByte(line, '\r'); i >= 0 {
		if i != len(line)-1 {
			p.errorf(lineno, "carriage return (\\r) at column %d", i+1)
			return
		}
		p.errorf(lineno, "CRLF line ending; %s must use LF line endings (set \"%s -text\" in .gitattributes)", p.baseName(), p.baseName())
		line = line[:i]
	}

	p.fields = splitFields(p.fields[:0], string(line))
	fields := p.fields
	if len(fields) == 0 {
		return
	}
	if len(fields) != 3 {
		p.errorf(lineno, "wrong number of fields %d; want REPOSITORY TAG DIGEST", len(fields))
		return
	}

	r, ok := p.repos[fields[0]]
	if !ok {
		name, err := NormalizeRepo(fields[0])
		r = repoResult{name: name}
		if err != nil {
			r.err = err.Error()
		}
		p.repos[fields[0]] = r
	}
	repo := r.name
	if r.err != "" {
		p.errorf(lineno, "%s", r.err)
	}
	tag, platform, msg := parseKey(fields[1])
	if msg != "" {
		p.errorf(lineno, "%s", msg)
	}
	if msg := checkDigest(fields[2]); msg != "" {
		p.errorf(lineno, "%s", msg)
		return
	}
	if repo == "" || msg != "" {
		return
	}

	e := Entry{Repo: repo, Tag: tag, Platform: platform, Digest: fields[2]}
	key := repo + " " + fields[1]
	if prev, ok := p.seen[key]; ok {
		if prev.digest != e.Digest {
			p.errorf(lineno, "conflicting digests for %s %s: first at line %d", repo, fields[1], prev.line)
		}
		return
	}
	p.seen[key] = seenLine{line: lineno, digest: e.Digest}
	p.entries = append(p.entries, parsedEntry{Entry: e, line: lineno})
}

func invalidUTF8Index(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return 0
}

// splitFields splits on spaces and tabs only, so that other control or
// Unicode space characters are rejected by field validation instead of
// silently acting as separators.
func splitFields(fields []string, s string) []string {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return fields
		}
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return append(fields, s)
		}
		fields = append(fields, s[:i])
		s = s[i:]
	}
}

// NormalizeRepo returns the canonical fully-qualified form of a repository
// name such as "python" (docker.io/library/python). The name must not
// carry a tag or digest.
func NormalizeRepo(name string) (string, error) {
	named, err := imageref.ParseNamed(name)
	if err != nil {
		return "", fmt.Errorf("invalid repository %s: %w", diag.Quote(name), err)
	}
	_, tagged := named.(reference.Tagged)
	_, digested := named.(reference.Digested)
	switch {
	case tagged && digested:
		return "", fmt.Errorf("repository %s must not include a tag or digest", diag.Quote(name))
	case tagged:
		return "", fmt.Errorf("repository %s must not include a tag", diag.Quote(name))
	case digested:
		return "", fmt.Errorf("repository %s must not include a digest", diag.Quote(name))
	}
	return named.Name(), nil
}

// parseKey splits field 2 into tag and platform; msg is non-empty when
// the field is invalid.
func parseKey(key string) (tag, platform, msg string) {
	tag, platform, hasPlatform := strings.Cut(key, "/")
	if msg := checkTag(tag); msg != "" {
		return "", "", msg
	}
	if hasPlatform {
		if msg := checkPlatform(platform); msg != "" {
			return "", "", msg
		}
	}
	return tag, platform, ""
}

func checkTag(tag string) string {
	if err := imageref.CheckTag(tag); err != nil {
		return err.Error()
	}
	return ""
}

func checkPlatform(platform string) string {
	if err := imageref.CheckPlatform(platform); err != nil {
		return err.Error()
	}
	return ""
}

func checkDigest(d string) string {
	if err := imageref.CheckDigest(d); err != nil {
		return fmt.Sprintf("invalid digest %s: %v", diag.Quote(d), err)
	}
	return ""
}

func validate(e Entry) error {
	repo, err := NormalizeRepo(e.Repo)
	if err != nil {
		return err
	}
	if repo != e.Repo {
		return fmt.Errorf("repository %s is not canonical; want %s", diag.Quote(e.Repo), diag.Quote(repo))
	}
	if msg := checkTag(e.Tag); msg != "" {
		return errors.New(msg)
	}
	if e.Platform != "" {
		if msg := checkPlatform(e.Platform); msg != "" {
			return errors.New(msg)
		}
	}
	if msg := checkDigest(e.Digest); msg != "" {
		return errors.New(msg)
	}
	return nil
}

// Format returns the canonical bytes of the file. An empty file formats
// as zero bytes.
func (f *File) Format() []byte {
	n := 0
	for _, e := range f.entries {
		n += len(e.Repo) + len(e.Key()) + len(e.Digest) + 3
	}
	buf := make([]byte, 0, n)
	for _, e := range f.entries {
		buf = append(buf, e.Repo...)
		buf = append(buf, ' ')
		buf = append(buf, e.Tag...)
		if e.Platform != "" {
			buf = append(buf, '/')
			buf = append(buf, e.Platform...)
		}
		buf = append(buf, ' ')
		buf = append(buf, e.Digest...)
		buf = append(buf, '\n')
	}
	return buf
}

// Canonical reports whether data is exactly what Format would write.
func (f *File) Canonical(data []byte) bool {
	return bytes.Equal(f.Format(), data)
}

// Entries returns a sorted copy of the entries.
func (f *File) Entries() []Entry {
	return slices.Clone(f.entries)
}

func (f *File) search(repo, tag, platform string) (int, bool) {
	return slices.BinarySearchFunc(f.entries, Entry{Repo: repo, Tag: tag, Platform: platform}, compareEntries)
}

// groupEnd returns the index just past the (repo, tag) group starting at i.
func (f *File) groupEnd(i int) int {
	j := i + 1
	for j < len(f.entries) && f.entries[j].Repo == f.entries[i].Repo && f.entries[j].Tag == f.entries[i].Tag {
		j++
	}
	return j
}

// Lookup returns the digest on the tag line of repo and tag. repo must be
// canonical.
func (f *File) Lookup(repo, tag string) (digest string, ok bool) {
	i, ok := f.search(repo, tag, "")
	if !ok {
		return "", false
	}
	return f.entries[i].Digest, true
}

// Platforms returns the per-platform lines of repo and tag, sorted by
// platform.
func (f *File) Platforms(repo, tag string) []Entry {
	i, ok := f.search(repo, tag, "")
	if !ok {
		return nil
	}
	j := f.groupEnd(i)
	if j == i+1 {
		return nil
	}
	return slices.Clone(f.entries[i+1 : j])
}

// Set validates e and inserts it, or replaces the digest of the existing
// entry with the same Repo, Tag and Platform. e.Repo must be canonical,
// and a per-platform entry needs its tag line to be set first. Replacing a
// tag line's digest keeps its platform lines; Delete the tag first if they
// no longer apply.
func (f *File) Set(e Entry) error {
	if err := validate(e); err != nil {
		return err
	}
	i, found := f.search(e.Repo, e.Tag, e.Platform)
	if found {
		f.entries[i].Digest = e.Digest
		return nil
	}
	if e.Platform != "" {
		if _, ok := f.search(e.Repo, e.Tag, ""); !ok {
			return fmt.Errorf("%s %s has no tag line %s %s; set the tag line first", e.Repo, e.Key(), e.Repo, e.Tag)
		}
	}
	f.entries = slices.Insert(f.entries, i, e)
	return nil
}

// Delete removes the tag line of repo and tag and all its platform lines.
func (f *File) Delete(repo, tag string) {
	i, _ := f.search(repo, tag, "")
	j := i
	for j < len(f.entries) && f.entries[j].Repo == repo && f.entries[j].Tag == tag {
		j++
	}
	f.entries = slices.Delete(f.entries, i, j)
}

// Prune removes every (repo, tag) group for which keep returns false and
// returns the removed entries, sorted. keep is called once per group.
func (f *File) Prune(keep func(repo, tag string) bool) []Entry {
	var removed []Entry
	kept := f.entries[:0]
	for i := 0; i < len(f.entries); {
		j := f.groupEnd(i)
		if keep(f.entries[i].Repo, f.entries[i].Tag) {
			kept = append(kept, f.entries[i:j]...)
		} else {
			removed = append(removed, f.entries[i:j]...)
		}
		i = j
	}
	clear(f.entries[len(kept):])
	f.entries = kept
	return removed
}

// Line is the line e stood on in the parsed file, or 0 when e was not
// parsed from a file.
func (f *File) Line(e Entry) int {
	return f.lines[e.lineKey()]
}

func (e Entry) lineKey() string { return e.Repo + " " + e.Key() }

// Clone returns an independent copy of f.
func (f *File) Clone() *File {
	return &File{entries: slices.Clone(f.entries)}
}
