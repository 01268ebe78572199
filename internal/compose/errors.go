package compose

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/imglock/imglock/internal/diag"
)

// The loader's messages name a place in the model, or in a file, in words:
// these find it so that the error can be put at its line.
var (
	// failed to parse /abs/compose.yaml: yaml: line 3: mapping values are not allowed in this context
	yamlError = regexp.MustCompile(`^failed to parse (.+?): yaml: (?:line (\d+): )?(.*)$`)
	// yaml: unmarshal errors:\n  line 4: cannot unmarshal ...
	yamlLine = regexp.MustCompile(`(?m)^\s*line (\d+): (.*)$`)
	// validating /abs/compose.yaml: services.web additional properties 'foo' not allowed
	schemaError = regexp.MustCompile(`^validating (.+?): (.*)$`)
	// a dotted path of the model at the start of a message, or after "for"
	modelPath = regexp.MustCompile(`(?:^|for |at )((?:services|networks|volumes|secrets|configs|include|models|name|version|x-[^.\s]+)(?:\.[^\s:,'"]+)*)`)
	// additional properties 'foo' not allowed; (root) Additional property foo is not allowed
	additional = regexp.MustCompile(`[Aa]dditional propert(?:y|ies) '?([^' ]+)'? (?:is )?not allowed`)
	// required variable NAME is missing a value
	requiredVar = regexp.MustCompile(`required variable ([A-Za-z_][A-Za-z0-9_]*) is missing a value`)
	// service "web" ...
	serviceName = regexp.MustCompile(`service "([^"]+)"|services\.([^.\s:]+)`)
	// a dotenv parse error: line 3: unexpected character ...
	envErrorLine = regexp.MustCompile(`^failed to read (.+?): line (\d+): (.*)$`)
)

// loadError puts an error of the loader at the place in the files it is
// about: a YAML error at its line, a schema error at the key it names, an
// interpolation error where the variable is written, an error about a
// service at the service. What the loader says is kept.
func (ix *index) loadError(top *scope, err error) error {
	msg := err.Error()
	main := top.files[0]
	if m := yamlError.FindStringSubmatch(msg); m != nil {
		file, rest := m[1], m[3]
		if m[2] != "" {
			line, _ := strconv.Atoi(m[2])
			return diag.List{diag.New(diag.Input, ix.name(file), line, "yaml: %s", rest)}
		}
		if lm := yamlLine.FindStringSubmatch(rest); lm != nil {
			line, _ := strconv.Atoi(lm[1])
			return diag.List{diag.New(diag.Input, ix.name(file), line, "yaml: %s", strings.TrimSpace(lm[2]))}
		}
		return diag.List{diag.New(diag.Input, ix.name(file), 0, "yaml: %s", rest)}
	}
	if m := schemaError.FindStringSubmatch(msg); m != nil {
		file, rest := m[1], strings.TrimSpace(m[2])
		return diag.List{ix.schemaError(top, file, rest)}
	}
	if m := requiredVar.FindStringSubmatch(msg); m != nil {
		file, line := ix.written(top, "${"+m[1]+":?", "${"+m[1]+"?")
		return diag.List{diag.New(diag.Input, ix.name(file), line, "%s", msg)}
	}
	if m := modelPath.FindStringSubmatch(msg); m != nil {
		if at, _ := ix.path(top, strings.TrimSuffix(m[1], ".")); at.found() {
			return diag.List{diag.New(diag.Input, ix.name(at.file), keyLine(at), "%s", msg)}
		}
	}
	if m := serviceName.FindStringSubmatch(msg); m != nil {
		name := m[1] + m[2]
		if at, _ := ix.path(top, "services."+name); at.found() {
			return diag.List{diag.New(diag.Input, ix.name(at.file), keyLine(at), "%s", msg)}
		}
	}
	var pathErr *os.PathError
	if errors.As(err, &pathErr) {
		return diag.List{diag.New(diag.Input, ix.name(main), 0, "%v", err)}
	}
	return diag.List{diag.New(diag.Input, ix.name(main), 0, "%s", strings.ReplaceAll(msg, main, ix.name(main)))}
}

// schemaError positions a schema error about file: at the key it says is
// not allowed, else at the path it names.
func (ix *index) schemaError(top *scope, file, msg string) *diag.Diagnostic {
	only := &scope{files: []string{file}, dir: top.dir}
	path := ""
	if m := modelPath.FindStringSubmatch(msg); m != nil {
		path = m[1]
	}
	if m := additional.FindStringSubmatch(msg); m != nil {
		key := m[1]
		full := key
		if path != "" {
			full = path + "." + key
		}
		if at, ok := ix.path(only, full); ok {
			return diag.New(diag.Input, ix.name(file), keyLine(at), "%s", msg)
		}
	}
	if path != "" {
		if at, _ := ix.path(only, path); at.found() {
			return diag.New(diag.Input, ix.name(file), keyLine(at), "%s", msg)
		}
	}
	return diag.New(diag.Input, ix.name(file), 0, "%s", msg)
}

// keyLine is the line of the key of a place, else of its value.
func keyLine(at place) int {
	if at.key != nil {
		return at.key.Line
	}
	return at.line()
}

// written finds the first line of the project's files that holds one of
// texts, and the file; the main file and 0 when none does.
func (ix *index) written(top *scope, texts ...string) (string, int) {
	for _, f := range ix.allFiles(top) {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for i, line := range strings.Split(string(data), "\n") {
			for _, t := range texts {
				if strings.Contains(line, t) {
					return f, i + 1
				}
			}
		}
	}
	return top.files[0], 0
}

// envError positions an error reading the .env files.
func (ix *index) envError(files []string, err error) error {
	msg := err.Error()
	if m := envErrorLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[2])
		return diag.List{diag.New(diag.Input, ix.name(m[1]), line, "%s", m[3])}
	}
	for _, f := range files {
		if strings.Contains(msg, f) {
			return diag.List{diag.New(diag.Input, ix.name(f), 0, "%s", strings.ReplaceAll(msg, f, ix.name(f)))}
		}
	}
	return fmt.Errorf("reading .env files: %w", err)
}
