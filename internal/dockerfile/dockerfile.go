// Package dockerfile finds the images a Dockerfile build pulls by name: FROM
// bases, COPY --from and RUN --mount sources, and the # syntax= frontend.
// It reads Dockerfiles with BuildKit's own parser and resolves global ARGs,
// stage names and scratch the way BuildKit's dockerfile2llb does, so the
// list matches what a build would actually pull.
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
	"github.com/imglock/imglock/internal/imageref"
)

// Kind says where in the Dockerfile a reference comes from.
type Kind string

const (
	KindFrom   Kind = "from"       // FROM image
	KindCopy   Kind = "copy-from"  // COPY --from=image
	KindMount  Kind = "mount-from" // RUN --mount=...,from=image
	KindSyntax Kind = "syntax"     // # syntax=image parser directive
)

// Reference is one image the build pulls by name.
type Reference struct {
	File     string // file name as given to Parse
	Line     int    // 1-based line where the instruction (or directive) starts
	EndLine  int    // last line of the instruction, past continuations
	Kind     Kind
	Written  string // the reference as written, before ARG expansion
	Expanded string // after global-ARG expansion (== Written when no variable)
	// Args names the global ARGs the reference depends on, directly or
	// through other ARG defaults, sorted; nil if none.
	Args []string
	// Platform is the FROM --platform value, expanded with global ARGs when
	// all of them have values and raw otherwise (e.g. "$BUILDPLATFORM").
	Platform string
	Stage    string       // for FROM: the stage name it declares (lower-cased)
	Image    imageref.Ref // normalised
}

// scratch is BuildKit's empty base; it matches only in lower case
// (dockerfile2llb compares BaseName == "scratch").
const scratch = "scratch"

// Parse returns, in file order, the images that building data would pull by
// name. buildArgs are --build-arg values; like BuildKit, they only apply to
// ARGs the Dockerfile declares (and to the automatic platform ARGs).
// Errors are *diag.Diagnostic, of kind diag.Input.
func Parse(file string, data []byte, buildArgs map[string]string) ([]Reference, error) {
	p := &parse{file: file}
	var refs []Reference
	data = sanitize(data)

	if ref, _, loc, ok := parser.DetectSyntax(data); ok {
		r, err := p.syntaxRef(ref, firstLine(loc))
		if err != nil {
			return nil, err
		}
		refs = append(refs, r)
	}

	res, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, p.parseError(data, err)
	}
	// A non-nil linter: BuildKit dereferences it when a "# check=" comment
	// precedes an instruction.
	stages, metaArgs, err := instructions.Parse(res.AST, linter.New(&linter.Config{}))
	if err != nil {
		return nil, p.buildkitError(err)
	}
	if len(stages) == 0 {
		return nil, p.errorf(1, "no FROM instruction")
	}

	p.lex = shell.NewLex(res.EscapeToken)
	p.skipLex = shell.NewLex(res.EscapeToken)
	p.skipLex.SkipUnsetEnv = true
	if err := p.globalArgs(metaArgs, buildArgs); err != nil {
		return nil, err
	}

	// COPY --from and RUN --mount from= may name any stage of the file.
	allStages := make(map[string]bool, len(stages))
	for _, st := range stages {
		if st.Name != "" {
			allStages[st.Name] = true
		}
	}
	// FROM may name only stages declared above it.
	earlier := make(map[string]bool, len(stages))
	for _, st := range stages {
		r, isImage, err := p.fromRef(&st, earlier)
		if err != nil {
			return nil, err
		}
		if isImage {
			refs = append(refs, r)
		}
		if st.Name != "" {
			earlier[st.Name] = true
		}
		for _, cmd := range st.Commands {
			more, err := p.commandRefs(cmd, allStages, len(stages))
			if err != nil {
				return nil, err
			}
			refs = append(refs, more...)
		}
	}
	return refs, nil
}

type parse struct {
	file      string
	lex       *shell.Lex
	skipLex   *shell.Lex // leaves unset variables as written, to see how they are used
	args      argEnv
	buildArgs map[string]string
}

func (p *parse) errorf(line int, format string, a ...any) *diag.Diagnostic {
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
	return diag.New(diag.Input, p.file, line, format, args...)
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

func (p *parse) syntaxRef(ref string, line int) (Reference, error) {
	img, err := imageref.Parse(ref)
	if err != nil {
		return Reference{}, p.errorf(line, "# syntax=%s: %v", ref, err)
	}
	return Reference{File: p.file, Line: line, EndLine: line, Kind: KindSyntax, Written: ref, Expanded: ref, Image: img}, nil
}

// fromRef resolves a FROM base as dockerfile2llb's buildDispatchStates and
// addState do: expand with global ARGs, then an exact match against the
// (lower-cased) names of earlier stages, then scratch; otherwise an image.
func (p *parse) fromRef(st *instructions.Stage, earlier map[string]bool) (Reference, bool, error) {
	line := firstLine(st.Location)
	what := "FROM " + st.BaseName
	res, err := p.lex.ProcessWordWithMatches(st.BaseName, p.args)
	if err != nil {
		return Reference{}, false, p.errorf(line, "%s: %v", what, err)
	}
	deps := p.depends(res.Matched)
	if u := append(p.unresolved(st.BaseName, res), deps.missing...); len(u) > 0 {
		return Reference{}, false, p.unresolvedError(line, what, st.BaseName, u[0])
	}
	name := res.Result
	if name == "" {
		return Reference{}, false, p.errorf(line, "%s: expands to an empty image reference", what)
	}
	if earlier[name] || name == scratch {
		return Reference{}, false, nil
	}
	img, err := imageref.Parse(name)
	if err != nil {
		if lower := strings.ToLower(name); lower != name && (earlier[lower] || lower == scratch) {
			return Reference{}, false, p.errorf(line, "%s: %v (stage names and scratch must be written in lower case: FROM %s)", what, err, lower)
		}
		return Reference{}, false, p.errorf(line, "%s: %v", what, err)
	}
	return Reference{
		File:     p.file,
		Line:     line,
		EndLine:  lastLine(st.Location),
		Kind:     KindFrom,
		Written:  st.BaseName,
		Expanded: name,
		Args:     deps.names,
		Platform: p.platform(st.Platform),
		Stage:    st.Name,
		Image:    img,
	}, true, nil
}

// platform expands a --platform value when every variable in it has a
// value; BuildKit fills $BUILDPLATFORM and friends only at build time.
func (p *parse) platform(raw string) string {
	if raw == "" {
		return ""
	}
	res, err := p.lex.ProcessWordWithMatches(raw, p.args)
	if err != nil || res.Result == "" || len(p.unresolved(raw, res)) > 0 || len(p.depends(res.Matched).missing) > 0 {
		return raw
	}
	return res.Result
}

// commandRefs returns the images a COPY --from or RUN --mount names, with
// stage resolution as in dockerfile2llb's toCommand and detectRunMount.
func (p *parse) commandRefs(cmd instructions.Command, stages map[string]bool, nStages int) ([]Reference, error) {
	switch c := cmd.(type) {
	case *instructions.CopyCommand:
		if c.From == "" {
			return nil, nil
		}
		line := firstLine(c.Location())
		what := "COPY --from=" + c.From
		res, err := p.lex.ProcessWordWithMatches(c.From, argEnv{})
		if err != nil {
			return nil, p.errorf(line, "%s: %v", what, err)
		}
		if res.Result != c.From {
			return nil, p.errorf(line, "%s: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround", what)
		}
		if i, err := strconv.Atoi(c.From); err == nil {
			if i < 0 || i >= nStages {
				return nil, p.errorf(line, "%s: invalid stage index %d", what, i)
			}
			return nil, nil
		}
		if stages[strings.ToLower(c.From)] || c.From == scratch {
			return nil, nil
		}
		r, err := p.imageRef(c.Location(), KindCopy, what, c.From)
		if err != nil {
			return nil, err
		}
		return []Reference{r}, nil
	case *instructions.RunCommand:
		var refs []Reference
		for _, m := range instructions.GetMounts(c) {
			// Mount sources are stage names or images, never stage indexes.
			if m.From == "" || stages[strings.ToLower(m.From)] || m.From == scratch {
				continue
			}
			r, err := p.imageRef(c.Location(), KindMount, "RUN --mount from="+m.From, m.From)
			if err != nil {
				return nil, err
			}
			refs = append(refs, r)
		}
		return refs, nil
	}
	// ONBUILD triggers run in builds that use this image, not in this one.
	return nil, nil
}

func (p *parse) imageRef(loc []parser.Range, kind Kind, what, s string) (Reference, error) {
	line := firstLine(loc)
	img, err := imageref.Parse(s)
	if err != nil {
		return Reference{}, p.errorf(line, "%s: %v", what, err)
	}
	return Reference{File: p.file, Line: line, EndLine: lastLine(loc), Kind: kind, Written: s, Expanded: s, Image: img}, nil
}
