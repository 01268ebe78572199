// Package dockerfile finds the images a Dockerfile build pulls by name: FROM
// bases, COPY --from and RUN --mount sources, and the # syntax= frontend.
// It reads a Dockerfile once with BuildKit's own parser (Parse) and then
// evaluates it as BuildKit's dockerfile2llb does, for each platform, set of
// build args and target a build may use (File.Pulls): BuildKit's automatic
// platform ARGs, global ARG defaults, stage names and scratch, and only the
// stages reachable from the target. A differential test holds it to
// dockerfile2llb itself.
//
// It works on one Dockerfile at a time, and each reference it returns
// carries its file and line.
package dockerfile

import (
	"bufio"
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/imglock/imglock/internal/diag"
)

// Kind says where in the Dockerfile a reference comes from.
type Kind string

const (
	KindFrom   Kind = "from"       // FROM image
	KindCopy   Kind = "copy-from"  // COPY --from=image
	KindMount  Kind = "mount-from" // RUN --mount=...,from=image
	KindSyntax Kind = "syntax"     // # syntax=image parser directive, or the BUILDKIT_SYNTAX build arg
)

// scratch is BuildKit's empty base; it matches only in lower case
// (dockerfile2llb compares BaseName == "scratch").
const scratch = "scratch"

// File is a Dockerfile read once, to evaluate for every platform, set of
// build args and target a build may use.
type File struct {
	Name     string
	syntax   string // the # syntax= directive's value, "" when none
	synLine  int
	escape   rune
	metaArgs []instructions.ArgCommand
	stages   []stage

	// Images caches the image references the builds name; several files
	// may share one.
	Images *ImageCache
}

// stage is one FROM and what its instructions take from other stages or
// images.
type stage struct {
	name     string // lower-cased, as BuildKit keeps it; "" when unnamed
	base     string // FROM's argument, as written
	platform string // FROM --platform, as written
	line     int
	endLine  int
	sources  []source // COPY --from and RUN --mount from=, in order
	onbuild  []source // those of ONBUILD triggers: sources of the stages built FROM this one
	// broken are problems a build finds only when it runs the stage (a
	// mount it cannot read): those of each target that builds the stage.
	broken diag.List
}

// source is the value of a COPY --from or a RUN --mount from=.
type source struct {
	kind    Kind
	from    string // as written
	target  string // a mount's target, for messages
	line    int
	endLine int
}

// Parse reads a Dockerfile with BuildKit's parser. The errors are those a
// build would stop at whatever its platform, build args and target, as a
// diag.List of diag.Input at their lines.
func Parse(name string, data []byte) (*File, error) {
	p := &parse{file: name}
	f := &File{Name: name}
	data = sanitize(data)
	if ref, _, loc, ok := detectSyntax(data); ok {
		f.syntax, f.synLine = ref, firstLine(loc)
	}
	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, diag.List{p.parseError(data, err)}
	}
	f.escape = res.EscapeToken
	p.lex = shell.NewLex(res.EscapeToken)
	// A non-nil linter: BuildKit dereferences it when a "# check=" comment
	// precedes an instruction.
	stages, metaArgs, err := instructions.Parse(res.AST, linter.New(&linter.Config{}))
	if err != nil {
		return nil, diag.List{p.buildkitError(err)}
	}
	if len(stages) == 0 {
		return nil, diag.List{p.errorf(1, "no FROM instruction")}
	}
	f.metaArgs = metaArgs
	var errs diag.List
	for _, st := range stages {
		s := stage{name: st.Name, base: st.BaseName, platform: st.Platform, line: firstLine(st.Location), endLine: lastLine(st.Location)}
		for _, cmd := range st.Commands {
			srcs, err := p.commandSources(cmd, len(stages))
			if err != nil {
				errs = append(errs, err)
			}
			if err := p.mountProblem(cmd); err != nil {
				s.broken = append(s.broken, err)
			}
			s.sources = append(s.sources, srcs...)
			if ob, ok := cmd.(*instructions.OnbuildCommand); ok {
				s.onbuild = append(s.onbuild, p.onbuildSources(ob, len(stages))...)
			}
		}
		f.stages = append(f.stages, s)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return f, nil
}

// commandSources returns what a COPY --from or RUN --mount names, checked
// as dockerfile2llb's toCommand does for every stage, built or not.
func (p *parse) commandSources(cmd instructions.Command, nStages int) ([]source, *diag.Diagnostic) {
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		if c.From == "" {
			return nil, nil
		}
		line := firstLine(c.Location())
		res, err := p.lex.ProcessWordWithMatches(c.From, noEnv{})
		if err != nil {
			return nil, p.errorf(line, "COPY --from=%s: %v", c.From, err)
		}
		if res.Result != c.From {
			return nil, p.errorf(line, "COPY --from=%s: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround", c.From)
		}
		if i, err := strconv.Atoi(c.From); err == nil && (i < 0 || i >= nStages) {
			return nil, p.errorf(line, "COPY --from=%s: invalid stage index %d", c.From, i)
		}
		return []source{{kind: KindCopy, from: c.From, line: line, endLine: lastLine(c.Location())}}, nil
	case *instructions.RunCommand:
		// Parsing leaves every option but from= for the build to expand;
		// read them as written to know each mount's type (mountProblem
		// reports a mount that cannot be read).
		_ = c.Expand(asWritten)
		var out []source
		for _, m := range instructions.GetMounts(c) {
			from := m.From
			if from == "" && m.Type == instructions.MountTypeCache {
				// A cache mount starts from scratch, or from a stage that
				// takes that name (dispatchRunMounts).
				from = scratch
			}
			if from != "" {
				out = append(out, source{kind: KindMount, from: from, target: m.Target, line: firstLine(c.Location()), endLine: lastLine(c.Location())})
			}
		}
		return out, nil
	}
	return nil, nil
}

// asWritten expands a word to itself.
func asWritten(word string) (string, error) { return word, nil }

// mountProblem is the problem of a RUN whose mounts the build cannot read
// (an unknown option or type), which BuildKit reports when it runs it.
func (p *parse) mountProblem(cmd instructions.Command) *diag.Diagnostic {
	c, ok := cmd.(*instructions.RunCommand)
	if !ok {
		return nil
	}
	if err := c.Expand(asWritten); err != nil {
		return p.errorf(firstLine(c.Location()), "RUN --mount: %v", err)
	}
	return nil
}

// onbuildSources returns what an ONBUILD trigger's COPY --from or RUN
// --mount names: dockerfile2llb adds those to each stage built FROM this
// one. A trigger it cannot read is left to the build to report.
func (p *parse) onbuildSources(ob *instructions.OnbuildCommand, nStages int) []source {
	res, err := parser.Parse(strings.NewReader(ob.Expression))
	if err != nil || len(res.AST.Children) != 1 {
		return nil
	}
	cmd, err := instructions.ParseCommand(res.AST.Children[0])
	if err != nil {
		return nil
	}
	srcs, derr := p.commandSources(cmd, nStages)
	if derr != nil {
		return nil
	}
	line, end := firstLine(ob.Location()), lastLine(ob.Location())
	for i := range srcs {
		srcs[i].line, srcs[i].endLine = line, end
	}
	return srcs
}

// Stages returns the names of the file's stages, in order ("" for an
// unnamed one).
func (f *File) Stages() []string {
	out := make([]string, len(f.stages))
	for i, s := range f.stages {
		out[i] = s.name
	}
	return out
}

type parse struct {
	file string
	lex  *shell.Lex
}

func (p *parse) errorf(line int, format string, a ...any) *diag.Diagnostic {
	return errorf(p.file, line, format, a...)
}

// errorf is bad input at a line of file.
func errorf(file string, line int, format string, a ...any) *diag.Diagnostic {
	// The arguments repeat the file's text, which may hold control
	// characters and be a line long: escape them and cut them short.
	args := make([]any, len(a))
	for i, v := range a {
		switch v := v.(type) {
		case string:
			args[i] = diag.Printable(v, maxArg)
		case error:
			args[i] = diag.Printable(v.Error(), 4*maxArg)
		default:
			args[i] = v
		}
	}
	return diag.New(diag.Input, file, line, format, args...)
}

// maxArg keeps any realistic image reference whole: only garbage is cut.
// Errors (from imageref, or the shell lexer repeating a word) get more
// room for their explanation.
const maxArg = diag.MaxEcho

// buildkitError positions an error from BuildKit's parser or instructions
// package, keeping BuildKit's message.
func (p *parse) buildkitError(err error) *diag.Diagnostic {
	var le *parser.LocationError
	if !errors.As(err, &le) {
		return p.errorf(0, "%v", err)
	}
	line := 0
	if len(le.Locations) > 0 {
		line = firstLine(le.Locations[0])
	}
	msg := le.Error()
	if msg == "file with no instructions" {
		return p.errorf(1, "no FROM instruction")
	}
	return p.errorf(line, "%s", msg)
}

// parseError positions an error from parser.Parse. BuildKit gives bad
// directives a 0-based line, and a line too long for its scanner the line
// before it (or "file with no instructions" when nothing came before).
func (p *parse) parseError(data []byte, err error) *diag.Diagnostic {
	e := p.buildkitError(err)
	if n := directiveErrorLine(data); n > 0 {
		e.Line = n
		return e
	}
	if n := longLine(data); n > 0 && (strings.HasPrefix(e.Msg, "dockerfile line greater than max allowed size") || e.Msg == "no FROM instruction") {
		return p.errorf(n, "dockerfile line greater than max allowed size of %d", maxLine)
	}
	return e
}

// maxLine is the longest line BuildKit's parser reads (bufio.Scanner's
// default token size, less the newline).
const maxLine = bufio.MaxScanTokenSize - 1

// longLine is the 1-based number of the first line longer than maxLine, 0
// if none.
func longLine(data []byte) int {
	for n := 1; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		if i > maxLine {
			return n
		}
		data = data[min(i+1, len(data)):]
	}
	return 0
}

// directiveErrorLine is the 1-based line of the first bad parser directive
// (a repeated one or an invalid escape token), 0 if none. BuildKit's parser
// rejects these with a 0-based line.
func directiveErrorLine(data []byte) int {
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	var dp parser.DirectiveParser
	for n := 1; len(data) > 0; n++ {
		var line []byte
		line, data, _ = bytes.Cut(data, []byte("\n"))
		line = bytes.TrimLeftFunc(bytes.TrimRight(line, "\r\n"), unicode.IsSpace)
		d, err := dp.ParseLine(line)
		if err != nil {
			return n
		}
		if d == nil {
			return 0
		}
		if d.Name == "escape" && d.Value != "`" && d.Value != `\` {
			return n
		}
	}
	return 0
}

// firstLine is the first line of a location; BuildKit lines are 1-based,
// but some directive and end-of-file errors carry 0.
func firstLine(loc []parser.Range) int {
	line := 0
	for _, r := range loc {
		if line == 0 || (r.Start.Line > 0 && r.Start.Line < line) {
			line = r.Start.Line
		}
	}
	return max(line, 1)
}

// lastLine is the last line of a location.
func lastLine(loc []parser.Range) int {
	line := firstLine(loc)
	for _, r := range loc {
		line = max(line, r.End.Line)
	}
	return line
}

// sanitize replaces each NUL byte, invalid UTF-8 byte and byte-order mark
// after the start with 0x01. BuildKit's shell lexer (text/scanner) reports
// those on stderr, and it lexes heredoc lines while parsing. 0x01 keeps
// lengths and lines as they were, and a reference holding either byte is
// invalid all the same.
func sanitize(data []byte) []byte {
	bom := []byte{0xEF, 0xBB, 0xBF}
	start := 0
	if bytes.HasPrefix(data, bom) {
		start = len(bom)
	}
	rest := data[start:]
	if utf8.Valid(rest) && bytes.IndexByte(rest, 0) < 0 && !bytes.Contains(rest, bom) {
		return data
	}
	out := slices.Clone(data)
	for i := start; i < len(out); {
		r, size := utf8.DecodeRune(out[i:])
		if r == 0 || r == 0xFEFF || (r == utf8.RuneError && size == 1) {
			for j := range size {
				out[i+j] = 0x01
			}
		}
		i += size
	}
	return out
}

// detectSyntax is BuildKit's DetectSyntax, given only the part of data in
// which it can find a directive (directiveHeader), and not at all when
// that part cannot name one: the same answer without scanning, and
// allocating for, the rest of the file.
func detectSyntax(data []byte) (string, string, []parser.Range, bool) {
	h := directiveHeader(data)
	if len(h) < len(data) && !bytes.Contains(bytes.ToLower(h), []byte("syntax")) {
		return "", "", nil, false
	}
	return parser.DetectSyntax(h)
}

// directiveHeader is the part of data in which BuildKit's DetectSyntax can
// find a directive: the leading lines that start with # or //, where its
// line parsers stop, unless data is JSON, which it reads whole.
func directiveHeader(data []byte) []byte {
	body := bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		return data
	}
	end := len(data) - len(body)
	for end < len(data) {
		line := data[end:]
		if !bytes.HasPrefix(line, []byte("#")) && !bytes.HasPrefix(line, []byte("//")) {
			break
		}
		i := bytes.IndexByte(line, '\n')
		if i < 0 {
			return data
		}
		end += i + 1
	}
	return data[:end]
}
