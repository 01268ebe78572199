package dockerfile

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/imglock/imglock/internal/diag"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

const (
	sha256Hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	sha512Hex = sha256Hex + sha256Hex
)

// refsOf parses a Dockerfile and evaluates it, as a build for the default
// platform with args, for every target.
func refsOf(name string, data []byte, args map[string]string) ([]Reference, error) {
	f, err := Parse(name, data)
	if err != nil {
		return nil, err
	}
	refs, problems := f.Pulls([]Build{{Platform: DefaultPlatform, BuildArgs: args}}, nil)
	if err := problems.Err(); err != nil {
		return nil, err
	}
	return refs, nil
}

type parseTest struct {
	desc    string
	in      string
	args    map[string]string
	want    []string // compact references, see compact
	wantErr string
}

// compact renders a reference as
// "LINE KIND WRITTEN [=> EXPANDED] -> CANONICAL [args=A,B] [platform=P] [stage=S]".
func compact(r Reference) string {
	s := fmt.Sprintf("%d %s %s", r.Line, r.Kind, r.Written)
	if r.Expanded != r.Written {
		s += " => " + r.Expanded
	}
	s += " -> " + r.Image.String()
	if r.Args != nil {
		s += " args=" + strings.Join(r.Args, ",")
	}
	if r.Platform != "" {
		s += " platform=" + strings.Join(r.Platforms, ",")
	}
	if r.Stage != "" {
		s += " stage=" + r.Stage
	}
	return s
}

var parseTests = []parseTest{
	// FROM
	{
		desc: "plain FROM",
		in:   "FROM python:3.12\n",
		want: []string{"1 from python:3.12 -> docker.io/library/python:3.12"},
	},
	{
		desc: "no tag means latest",
		in:   "FROM ghcr.io/o/r\n",
		want: []string{"1 from ghcr.io/o/r -> ghcr.io/o/r:latest"},
	},
	{
		desc: "platform flag kept apart",
		in:   "FROM --platform=linux/arm64 alpine:3.20 AS base\n",
		want: []string{"1 from alpine:3.20 -> docker.io/library/alpine:3.20 platform=linux/arm64 stage=base"},
	},
	{
		desc: "automatic platform ARGs take the build's platform",
		in:   "FROM --platform=$BUILDPLATFORM golang:1.22 AS build\nFROM --platform=${TARGETPLATFORM} alpine\nCOPY --from=build / /\n",
		want: []string{
			"1 from golang:1.22 -> docker.io/library/golang:1.22 platform=linux/amd64 stage=build",
			"2 from alpine -> docker.io/library/alpine:latest platform=linux/amd64",
		},
	},
	{
		desc: "automatic platform ARG given as build arg",
		in:   "FROM --platform=$BUILDPLATFORM golang:1.22\n",
		args: map[string]string{"BUILDPLATFORM": "linux/amd64"},
		want: []string{"1 from golang:1.22 -> docker.io/library/golang:1.22 platform=linux/amd64"},
	},
	{
		desc: "platform from global ARG",
		in:   "ARG PLAT=linux/arm64/v8\nFROM --platform=$PLAT alpine\n",
		want: []string{"2 from alpine -> docker.io/library/alpine:latest platform=linux/arm64"},
	},
	{
		desc:    "platform ARG without value",
		in:      "ARG PLAT\nFROM --platform=$PLAT alpine\n",
		wantErr: "Dockerfile:2: FROM --platform=$PLAT: empty platform value (ARG PLAT (line 1) has no value; give it a default, or set it with --build-arg PLAT=VALUE or build-args in imglock.toml)",
	},
	{
		desc: "lower-case instructions and as",
		in:   "from golang:1.22 as build\nrun go build\nfrom alpine\ncopy --from=build /x /x\n",
		want: []string{
			"1 from golang:1.22 -> docker.io/library/golang:1.22 stage=build",
			"3 from alpine -> docker.io/library/alpine:latest",
		},
	},

	// Global ARGs
	{
		desc: "global ARG default",
		in:   "ARG BASE=python:3.12\nFROM ${BASE}\n",
		want: []string{"2 from ${BASE} => python:3.12 -> docker.io/library/python:3.12 args=BASE"},
	},
	{
		desc: "several k=v on one ARG line",
		in:   "ARG REPO=python TAG=3.12-slim\nFROM $REPO:$TAG\n",
		want: []string{"2 from $REPO:$TAG => python:3.12-slim -> docker.io/library/python:3.12-slim args=REPO,TAG"},
	},
	{
		desc: "build arg overrides default",
		in:   "ARG TAG=3.11\nFROM python:${TAG}\n",
		args: map[string]string{"TAG": "3.13"},
		want: []string{"2 from python:${TAG} => python:3.13 -> docker.io/library/python:3.13 args=TAG"},
	},
	{
		desc: "ARG referencing an earlier ARG",
		in:   "ARG TAG=3.12\nARG IMAGE=python:${TAG}-slim\nFROM $IMAGE\n",
		want: []string{"3 from $IMAGE => python:3.12-slim -> docker.io/library/python:3.12-slim args=IMAGE,TAG"},
	},
	{
		desc: "build arg for the earlier ARG flows into the later default",
		in:   "ARG TAG=3.12\nARG IMAGE=python:${TAG}\nFROM $IMAGE\n",
		args: map[string]string{"TAG": "3.9"},
		want: []string{"3 from $IMAGE => python:3.9 -> docker.io/library/python:3.9 args=IMAGE,TAG"},
	},
	{
		desc: "quoted ARG values",
		in:   "ARG BASE=\"python:3.12\" OTHER='alpine:3.20'\nFROM $BASE AS base\nFROM $OTHER\nCOPY --from=base / /\n",
		want: []string{
			"2 from $BASE => python:3.12 -> docker.io/library/python:3.12 args=BASE stage=base",
			"3 from $OTHER => alpine:3.20 -> docker.io/library/alpine:3.20 args=OTHER",
		},
	},
	{
		desc: "fallback for an ARG without value",
		in:   "ARG BASE\nFROM ${BASE:-alpine:3.20}\n",
		want: []string{"2 from ${BASE:-alpine:3.20} => alpine:3.20 -> docker.io/library/alpine:3.20"},
	},
	{
		desc: "fallback not used when the build arg is given",
		in:   "ARG BASE\nFROM ${BASE:-alpine}\n",
		args: map[string]string{"BASE": "debian:12"},
		want: []string{"2 from ${BASE:-alpine} => debian:12 -> docker.io/library/debian:12 args=BASE"},
	},
	{
		desc: "redeclared ARG without value keeps the earlier value",
		in:   "ARG BASE=alpine\nARG BASE\nFROM $BASE\n",
		want: []string{"3 from $BASE => alpine -> docker.io/library/alpine:latest args=BASE"},
	},
	{
		desc: "ARG without default",
		in:   "ARG BASE\n\n# the base\nFROM ${BASE}\n",
		wantErr: "Dockerfile:4: FROM ${BASE}: expands to an empty image reference (ARG BASE (line 1) has no value; " +
			"give it a default, or set it with --build-arg BASE=VALUE or build-args in imglock.toml)",
	},
	{
		desc: "ARG without default inside a reference",
		in:   "ARG TAG\nFROM python:$TAG\n",
		wantErr: `Dockerfile:2: FROM python:$TAG: invalid image reference "python:": invalid reference format (ARG TAG (line 1) has no value; ` +
			"give it a default, or set it with --build-arg TAG=VALUE or build-args in imglock.toml)",
	},
	{
		desc:    "ARG without default behind another ARG",
		in:      "ARG TAG\nARG IMAGE=python:$TAG\nFROM $IMAGE\n",
		wantErr: `Dockerfile:3: FROM $IMAGE: invalid image reference "python:": invalid reference format (TAG has no value where ARG IMAGE (line 2) uses it)`,
	},
	{
		desc:    "ARG used by a default before it is declared",
		in:      "ARG IMAGE=python:$TAG\nARG TAG=3.12\nFROM $IMAGE\n",
		wantErr: `Dockerfile:3: FROM $IMAGE: invalid image reference "python:": invalid reference format (TAG has no value where ARG IMAGE (line 1) uses it)`,
	},
	{
		desc:    "undeclared ARG",
		in:      "FROM $BASE\n",
		wantErr: "Dockerfile:1: FROM $BASE: expands to an empty image reference (BASE is not declared by an ARG before the first FROM)",
	},
	{
		desc:    "build arg does not apply to an undeclared ARG",
		in:      "FROM alpine:$TAG\n",
		args:    map[string]string{"TAG": "3.20"},
		wantErr: `Dockerfile:1: FROM alpine:$TAG: invalid image reference "alpine:": invalid reference format (TAG is not declared by an ARG before the first FROM, and a build arg sets only a declared ARG)`,
	},
	{
		desc:    "ARG after the first FROM is not global",
		in:      "FROM alpine\nARG BASE=debian\nFROM $BASE\n",
		wantErr: "Dockerfile:3: FROM $BASE: expands to an empty image reference (BASE is not declared by an ARG before the first FROM)",
	},
	{
		desc: "automatic platform ARG in the image takes the build's value",
		in:   "FROM alpine:$TARGETARCH\n",
		want: []string{"1 from alpine:$TARGETARCH => alpine:amd64 -> docker.io/library/alpine:amd64 args=TARGETARCH"},
	},
	{
		desc: "automatic platform ARG given",
		in:   "FROM alpine:$TARGETARCH\n",
		args: map[string]string{"TARGETARCH": "arm64"},
		want: []string{"1 from alpine:$TARGETARCH => alpine:arm64 -> docker.io/library/alpine:arm64 args=TARGETARCH"},
	},
	{
		desc:    "expansion to nothing",
		in:      "ARG BASE=\"\"\nFROM $BASE\n",
		wantErr: "Dockerfile:2: FROM $BASE: expands to an empty image reference",
	},
	{
		desc:    "expansion to an invalid reference",
		in:      "ARG REPO=Python\nFROM $REPO:3\n",
		wantErr: `Dockerfile:2: FROM $REPO:3: invalid image reference "Python:3": invalid reference format: repository name (library/Python) must be lowercase`,
	},
	{
		desc:    "bad substitution",
		in:      "ARG A=x\nFROM ${:A}\n",
		wantErr: `Dockerfile:2: FROM ${:A}: failed to process "${:A}": syntax error: bad substitution`,
	},

	// Stages and scratch
	{
		desc: "stage names are case-insensitive",
		in:   "FROM golang:1.22 AS Build\nRUN go build\nFROM build\nCOPY --from=BUILD /x /x\n",
		want: []string{"1 from golang:1.22 -> docker.io/library/golang:1.22 stage=build"},
	},
	{
		// dockerfile2llb's addState looks FROM up among stages added so far.
		desc: "FROM naming a later stage is an image",
		in:   "FROM build AS first\nFROM golang AS build\n",
		want: []string{
			"1 from build -> docker.io/library/build:latest stage=first",
			"2 from golang -> docker.io/library/golang:latest stage=build",
		},
	},
	{
		desc: "FROM stage through an ARG",
		in:   "ARG FROMSTAGE=base\nFROM alpine AS base\nFROM $FROMSTAGE\n",
		want: []string{"2 from alpine -> docker.io/library/alpine:latest stage=base"},
	},
	{
		desc: "stage name with a tag is an image",
		in:   "FROM alpine AS b\nFROM b:1\n",
		want: []string{
			"1 from alpine -> docker.io/library/alpine:latest stage=b",
			"2 from b:1 -> docker.io/library/b:1",
		},
	},
	{
		// BuildKit looks FROM up with the exact (lower-cased) stage name.
		desc:    "FROM with upper-case stage name",
		in:      "FROM alpine AS base\nFROM BASE\n",
		wantErr: `Dockerfile:2: FROM BASE: invalid image reference "BASE": invalid reference format: repository name (library/BASE) must be lowercase; did you mean stage base? (FROM names a stage in lower case only)`,
	},
	{
		desc: "scratch",
		in:   "FROM golang AS build\nFROM scratch\nCOPY --from=build /app /app\n",
		want: []string{"1 from golang -> docker.io/library/golang:latest stage=build"},
	},
	{
		desc:    "upper-case scratch",
		in:      "FROM SCRATCH\n",
		wantErr: `Dockerfile:1: FROM SCRATCH: invalid image reference "SCRATCH": invalid reference format: repository name (library/SCRATCH) must be lowercase; did you mean scratch? (it is written in lower case)`,
	},

	// COPY --from
	{
		desc: "COPY --from image, stage and index",
		in: "FROM golang:1.22 AS build\nFROM alpine\n" +
			"COPY --from=build /a /a\n" +
			"COPY --from=0 /b /b\n" +
			"COPY --from=nginx:1.27 /etc/nginx /etc/nginx\n" +
			"COPY --from=scratch /c /c\n" +
			"COPY --chown=1:1 --from=ghcr.io/o/tool@sha256:" + sha256Hex + " /t /t\n",
		want: []string{
			"1 from golang:1.22 -> docker.io/library/golang:1.22 stage=build",
			"2 from alpine -> docker.io/library/alpine:latest",
			"5 copy-from nginx:1.27 -> docker.io/library/nginx:1.27",
			"7 copy-from ghcr.io/o/tool@sha256:" + sha256Hex + " -> ghcr.io/o/tool@sha256:" + sha256Hex,
		},
	},
	{
		desc: "COPY --from may name a later stage",
		in:   "FROM alpine AS a\nCOPY --from=later /x /x\nFROM busybox AS later\n",
		want: []string{
			"1 from alpine -> docker.io/library/alpine:latest stage=a",
			"3 from busybox -> docker.io/library/busybox:latest stage=later",
		},
	},
	{
		desc:    "COPY --from stage index out of range",
		in:      "FROM alpine\nCOPY --from=1 /x /x\n",
		wantErr: "Dockerfile:2: COPY --from=1: invalid stage index 1",
	},
	{
		desc:    "COPY --from with a variable",
		in:      "ARG IMG=alpine\nFROM alpine\nCOPY --from=$IMG /x /x\n",
		wantErr: "Dockerfile:3: COPY --from=$IMG: variable expansion is not supported for --from, define a new stage with FROM using ARG from global scope as a workaround",
	},
	{
		desc:    "COPY --from invalid image",
		in:      "FROM alpine\nCOPY --from=Nginx /x /x\n",
		wantErr: `Dockerfile:2: COPY --from=Nginx: invalid image reference "Nginx": invalid reference format: repository name (library/Nginx) must be lowercase`,
	},

	// RUN --mount
	{
		desc: "RUN --mount from image and stage",
		in: "FROM golang:1.22 AS deps\nFROM golang:1.22\n" +
			"RUN --mount=type=bind,from=deps,target=/deps \\\n" +
			"    --mount=type=cache,from=busybox:1.36,target=/cache \\\n" +
			"    --mount=type=bind,from=DEPS,source=/x,target=/y \\\n" +
			"    --mount=target=/z,from=ghcr.io/o/src:v1 \\\n" +
			"    go build\n" +
			"RUN --mount=type=cache,target=/root/.cache go test\n",
		want: []string{
			"1 from golang:1.22 -> docker.io/library/golang:1.22 stage=deps",
			"2 from golang:1.22 -> docker.io/library/golang:1.22",
			"3 mount-from busybox:1.36 -> docker.io/library/busybox:1.36",
			"3 mount-from ghcr.io/o/src:v1 -> ghcr.io/o/src:v1",
		},
	},
	{
		// detectRunMount looks from= up by name only; "0" is an image.
		desc: "RUN --mount from a number is an image",
		in:   "FROM alpine\nRUN --mount=from=0,target=/x true\n",
		want: []string{
			"1 from alpine -> docker.io/library/alpine:latest",
			"2 mount-from 0 -> docker.io/library/0:latest",
		},
	},
	{
		desc:    "RUN --mount from with a variable",
		in:      "FROM alpine\nRUN --mount=from=$IMG,target=/x true\n",
		wantErr: "Dockerfile:2: 'from' doesn't support variable expansion, define alias stage instead",
	},

	// Syntax directive
	{
		desc: "syntax directive",
		in:   "# syntax=docker/dockerfile:1.7\nFROM alpine\n",
		want: []string{
			"1 syntax docker/dockerfile:1.7 -> docker.io/docker/dockerfile:1.7",
			"2 from alpine -> docker.io/library/alpine:latest",
		},
	},
	{
		desc: "syntax directive after escape directive and shebang",
		in:   "#!/usr/bin/env buildctl\n# escape=`\n#   syntax = docker/dockerfile:1@sha256:" + sha256Hex + "\nFROM alpine\n",
		want: []string{
			"3 syntax docker/dockerfile:1@sha256:" + sha256Hex + " -> docker.io/docker/dockerfile:1@sha256:" + sha256Hex,
			"4 from alpine -> docker.io/library/alpine:latest",
		},
	},
	{
		desc: "syntax after an instruction is a comment",
		in:   "FROM alpine\n# syntax=docker/dockerfile:1\n",
		want: []string{"1 from alpine -> docker.io/library/alpine:latest"},
	},
	{
		desc:    "invalid syntax reference",
		in:      "# syntax=docker/dockerfile@md5:0123456789abcdef0123456789abcdef\nFROM alpine\n",
		wantErr: `Dockerfile:1: # syntax=docker/dockerfile@md5:0123456789abcdef0123456789abcdef: invalid image reference "docker/dockerfile@md5:0123456789abcdef0123456789abcdef": unsupported digest algorithm`,
	},

	// Layout that must not confuse the parser
	{
		desc: "heredoc text is not an instruction",
		in: "FROM alpine\n" +
			"RUN <<EOF\nFROM evil\nCOPY --from=evil2 / /\nEOF\n" +
			"COPY <<-EOT /etc/x\n\tFROM evil3\n\tEOT\n" +
			"RUN <<'A' bash && <<B cat\nFROM evil4\nA\nFROM evil5\nB\n" +
			"FROM busybox\n",
		want: []string{
			"14 from busybox -> docker.io/library/busybox:latest",
		},
	},
	{
		desc: "continuation lines, comments and blank lines inside",
		in: "FROM \\\n  --platform=linux/amd64 \\\n# a comment\n\n  python:3.12 \\\n  AS app\n" +
			"COPY \\\n  --from=nginx \\\n  /a /b\n",
		want: []string{
			"1 from python:3.12 -> docker.io/library/python:3.12 platform=linux/amd64 stage=app",
			"7 copy-from nginx -> docker.io/library/nginx:latest",
		},
	},
	{
		desc: "escape directive with backtick",
		in: "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022 `\n  AS base\n" +
			"RUN dir C:\\ \nFROM `\n  base\nCOPY --from=mcr.microsoft.com/powershell:lts `\n  C:\\ps C:\\ps\n",
		want: []string{
			"2 from mcr.microsoft.com/windows/servercore:ltsc2022 -> mcr.microsoft.com/windows/servercore:ltsc2022 stage=base",
			"7 copy-from mcr.microsoft.com/powershell:lts -> mcr.microsoft.com/powershell:lts",
		},
	},
	{
		desc: "ONBUILD is for downstream builds",
		in:   "FROM alpine\nONBUILD COPY --from=nginx /x /x\nONBUILD RUN --mount=from=busybox,target=/b true\n",
		want: []string{"1 from alpine -> docker.io/library/alpine:latest"},
	},
	{
		desc: "CRLF line endings",
		in:   "# syntax=docker/dockerfile:1\r\nARG TAG=3.12\r\nFROM python:$TAG AS app\r\nRUN pip install \\\r\n  x\r\nCOPY --from=nginx:1 /a /b\r\n",
		want: []string{
			"1 syntax docker/dockerfile:1 -> docker.io/docker/dockerfile:1",
			"3 from python:$TAG => python:3.12 -> docker.io/library/python:3.12 args=TAG stage=app",
			"6 copy-from nginx:1 -> docker.io/library/nginx:1",
		},
	},
	{
		desc: "byte-order mark",
		in:   "\xef\xbb\xbf# syntax=docker/dockerfile:1\nFROM alpine\n",
		want: []string{
			"1 syntax docker/dockerfile:1 -> docker.io/docker/dockerfile:1",
			"2 from alpine -> docker.io/library/alpine:latest",
		},
	},
	{
		// BuildKit dereferences a nil linter for a "# check=" comment.
		desc: "check directive comment before an instruction",
		in:   "FROM alpine\n# check=skip=all\nRUN true\n",
		want: []string{"1 from alpine -> docker.io/library/alpine:latest"},
	},

	// Digests
	{
		desc: "digest in the file",
		in:   "FROM python:3.12@sha256:" + sha256Hex + " AS py\nFROM alpine@sha512:" + sha512Hex + "\nCOPY --from=py / /\n",
		want: []string{
			"1 from python:3.12@sha256:" + sha256Hex + " -> docker.io/library/python:3.12@sha256:" + sha256Hex + " stage=py",
			"2 from alpine@sha512:" + sha512Hex + " -> docker.io/library/alpine@sha512:" + sha512Hex,
		},
	},
	{
		desc:    "md5 digest",
		in:      "FROM alpine\nFROM python@md5:0123456789abcdef0123456789abcdef\n",
		wantErr: `Dockerfile:2: FROM python@md5:0123456789abcdef0123456789abcdef: invalid image reference "python@md5:0123456789abcdef0123456789abcdef": unsupported digest algorithm`,
	},
	{
		desc:    "sha256 digest of the wrong length",
		in:      "FROM alpine\n\nFROM python:3@sha256:" + sha256Hex[:40] + "\n",
		wantErr: `Dockerfile:3: FROM python:3@sha256:` + sha256Hex[:40] + `: invalid image reference "python:3@sha256:` + sha256Hex[:40] + `": invalid checksum digest length`,
	},

	// Files BuildKit rejects
	{
		desc:    "empty file",
		in:      "",
		wantErr: "Dockerfile:1: no FROM instruction",
	},
	{
		desc:    "only comments",
		in:      "# syntax=docker/dockerfile:1\n# nothing here\n",
		wantErr: "Dockerfile:1: no FROM instruction",
	},
	{
		desc:    "only ARGs",
		in:      "ARG A=1\n",
		wantErr: "Dockerfile:1: no FROM instruction",
	},
	{
		desc:    "instruction before FROM",
		in:      "ARG A=1\nRUN true\nFROM alpine\n",
		wantErr: "Dockerfile:2: no build stage in current context",
	},
	{
		desc:    "unknown instruction",
		in:      "FROM alpine\n\nFORM debian\n",
		wantErr: "Dockerfile:3: unknown instruction: FORM (did you mean FROM?)",
	},
	{
		desc:    "FROM with two words",
		in:      "FROM alpine\nFROM a b\n",
		wantErr: "Dockerfile:2: FROM requires either one or three arguments",
	},
	{
		desc:    "invalid stage name",
		in:      "FROM alpine AS 1st\n",
		wantErr: `Dockerfile:1: invalid name for build stage: "1st", name can't start with a number or contain symbols`,
	},
	{
		desc:    "repeated directive",
		in:      "# escape=`\n# escape=\\\nFROM alpine\n",
		wantErr: "Dockerfile:2: only one escape parser directive can be used",
	},
	{
		desc:    "unterminated heredoc",
		in:      "FROM alpine\nRUN <<EOF\necho hi\n",
		wantErr: "Dockerfile:2: unterminated heredoc",
	},
	{
		desc:    "line too long",
		in:      "FROM alpine\nRUN echo " + strings.Repeat("x", 70000) + "\n",
		wantErr: "Dockerfile:2: dockerfile line greater than max allowed size of 65535",
	},
	{
		desc:    "first line too long",
		in:      "# " + strings.Repeat("x", 70000) + "\nFROM alpine\n",
		wantErr: "Dockerfile:1: dockerfile line greater than max allowed size of 65535",
	},
	{
		desc:    "NUL byte in a reference",
		in:      "FROM alp\x00ine\n",
		wantErr: `Dockerfile:1: FROM alp\x01ine: invalid image reference "alp\x01ine": invalid reference format`,
	},
	{
		desc:    "terminal escape in an unknown instruction",
		in:      "FROM alpine\nFR\x1b]0;title\x07OM x\n",
		wantErr: `Dockerfile:2: unknown instruction: FR\x1b]0;title\aOM`,
	},
	{
		desc:    "control characters in COPY --from",
		in:      "FROM alpine\nCOPY --from=\x1b[2J /a /b\n",
		wantErr: `Dockerfile:2: COPY --from=\x1b[2J: invalid image reference "\x1b[2J": invalid reference format: repository name (library/\x1b[2J) must be lowercase`,
	},
	{
		desc: "huge reference",
		in:   "FROM " + strings.Repeat("A", 60000) + "\n",
		wantErr: "Dockerfile:1: " + ("FROM " + strings.Repeat("A", 60000))[:maxArg] + `...: invalid image reference "` + strings.Repeat("A", 256) +
			`"...: invalid reference format: repository name (library/` + strings.Repeat("A", 256-len("invalid reference format: repository name (library/")) + `...`,
	},
	{
		desc:    "huge unknown instruction",
		in:      strings.Repeat("X", 60000) + "\nFROM alpine\n",
		wantErr: "Dockerfile:1: " + ("unknown instruction: " + strings.Repeat("X", 60000))[:maxArg] + "...",
	},
	{
		desc: "binary bytes outside references",
		in:   "# caf\xe9\nARG NOTE=\xff\xfe\nFROM alpine\nRUN <<EOF cat \x00\xff\nFROM evil\xef\xbb\xbf\nEOF\n",
		want: []string{"3 from alpine -> docker.io/library/alpine:latest"},
	},

	// A realistic file
	{
		desc: "multi-stage",
		in:   realistic,
		args: map[string]string{"GO_VERSION": "1.23"},
		want: []string{
			"1 syntax docker/dockerfile:1.7 -> docker.io/docker/dockerfile:1.7",
			"6 from golang:${GO_VERSION}-${DEBIAN} => golang:1.23-bookworm -> docker.io/library/golang:1.23-bookworm args=DEBIAN,GO_VERSION platform=linux/amd64 stage=build",
			"7 copy-from tonistiigi/xx:1.5.0 -> docker.io/tonistiigi/xx:1.5.0",
			"14 mount-from golang:1.23 -> docker.io/library/golang:1.23",
			"29 from ${RUNTIME} => gcr.io/distroless/static-debian12:nonroot -> gcr.io/distroless/static-debian12:nonroot args=RUNTIME stage=runtime",
			"32 copy-from ghcr.io/example/ca-certs@sha256:" + sha256Hex + " -> ghcr.io/example/ca-certs@sha256:" + sha256Hex,
		},
	},
}

const realistic = `# syntax=docker/dockerfile:1.7
ARG GO_VERSION=1.22
ARG DEBIAN=bookworm
ARG RUNTIME=gcr.io/distroless/static-debian12:nonroot

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-${DEBIAN} AS build
COPY --from=tonistiigi/xx:1.5.0 / /
ARG TARGETPLATFORM
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
RUN --mount=type=cache,target=/root/.cache/go-build,from=golang:1.23 \
    --mount=type=bind,source=/src,target=/work \
    xx-go build -o /out/app ./cmd/app

FROM build AS test
RUN <<EOF
set -e
go vet ./...
# FROM not-an-image
go test ./...
EOF

FROM scratch AS artifacts
COPY --from=build /out/app /app

FROM ${RUNTIME} AS runtime
COPY --from=artifacts /app /usr/local/bin/app
COPY --from=0 /etc/passwd /etc/passwd
COPY --from=ghcr.io/example/ca-certs@sha256:` + sha256Hex + ` /certs /etc/ssl/certs
USER nonroot
EXPOSE 8080
HEALTHCHECK --interval=30s CMD ["/usr/local/bin/app", "health"]
LABEL org.opencontainers.image.source="https://github.com/example/app"
ENTRYPOINT ["/usr/local/bin/app"]
CMD ["serve"]
`

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		t.Run(tt.desc, func(t *testing.T) {
			refs, err := refsOf("Dockerfile", []byte(tt.in), tt.args)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("got no error, want %q; refs %q", tt.wantErr, compactAll(refs))
				}
				var e *diag.Diagnostic
				if !errors.As(err, &e) {
					t.Fatalf("error %v is %T, want a *diag.Diagnostic", err, err)
				}
				if err.Error() != tt.wantErr {
					t.Fatalf("error\n got %q\nwant %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			got := compactAll(refs)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("references\n got %q\nwant %q", got, tt.want)
			}
			for _, r := range refs {
				if r.File != "Dockerfile" {
					t.Errorf("File = %q", r.File)
				}
				if r.Args != nil && len(r.Args) == 0 {
					t.Errorf("Args is empty but not nil")
				}
			}
		})
	}
}

func compactAll(refs []Reference) []string {
	var out []string
	for _, r := range refs {
		out = append(out, compact(r))
	}
	return out
}

func TestReferenceFields(t *testing.T) {
	refs, err := refsOf("build/app.Dockerfile", []byte("ARG BASE=python:3.12\nFROM --platform=linux/arm64 $BASE AS App\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 {
		t.Fatalf("got %d references", len(refs))
	}
	r := refs[0]
	if r.File != "build/app.Dockerfile" || r.Line != 2 || r.Kind != KindFrom ||
		r.Written != "$BASE" || r.Expanded != "python:3.12" || len(r.Args) != 1 || r.Args[0] != "BASE" ||
		r.Platform != "linux/arm64" || r.Stage != "app" ||
		r.Image.Repo != "docker.io/library/python" || r.Image.Tag != "3.12" || r.Image.Digest != "" {
		t.Errorf("got %+v", r)
	}
}

// stderrCapture points os.Stderr at a temporary file, where BuildKit's
// lexer would write its complaints.
type stderrCapture struct {
	once sync.Once
	file *os.File
	seen int64
}

// newStderrCapture prepares a capture that starts on the first call to
// written, so a fuzzing coordinator keeps its own stderr for progress.
func newStderrCapture(tb testing.TB) *stderrCapture {
	tb.Helper()
	f, err := os.CreateTemp(tb.TempDir(), "stderr")
	if err != nil {
		tb.Fatal(err)
	}
	c := &stderrCapture{file: f}
	old := os.Stderr
	tb.Cleanup(func() {
		os.Stderr = old
		f.Close()
	})
	return c
}

// written reports how many bytes went to stderr since the previous call.
func (c *stderrCapture) written(tb testing.TB) int64 {
	c.once.Do(func() { os.Stderr = c.file })
	fi, err := c.file.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	n := fi.Size() - c.seen
	c.seen = fi.Size()
	return n
}

func TestNoStderr(t *testing.T) {
	stderr := newStderrCapture(t)
	stderr.written(t)
	for _, tt := range parseTests {
		refsOf("Dockerfile", []byte(tt.in), tt.args)
		if n := stderr.written(t); n > 0 {
			t.Errorf("%s: %d bytes written to stderr", tt.desc, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add([]byte(tt.in))
	}
	f.Add([]byte("FROM \x00\xff\xfe\n"))
	f.Add([]byte("ARG A=\xff\nFROM $A\n"))
	f.Add([]byte("COPY <<\xed\xed"))
	stderr := newStderrCapture(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		stderr.written(t)
		sameSyntax(t, data)
		refs, err := refsOf("Dockerfile", data, map[string]string{"BASE": "alpine", "TAG": "1"})
		if n := stderr.written(t); n > 0 {
			t.Fatalf("%d bytes written to stderr", n)
		}
		if err != nil {
			var e *diag.Diagnostic
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, want a *diag.Diagnostic", err, err)
			}
			if e.File != "Dockerfile" || e.Line < 1 {
				t.Fatalf("bad error position: %+v", e)
			}
			if !printable(e.Msg) {
				t.Fatalf("error is not short printable text: %q", e)
			}
			if refs != nil {
				t.Fatalf("references returned with an error")
			}
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, r := range refs {
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("line %d outside 1..%d: %+v", r.Line, lines, r)
			}
			if r.Image.Repo == "" || r.Written == "" || r.Expanded == "" {
				t.Fatalf("incomplete reference %+v", r)
			}
			switch r.Kind {
			case KindFrom, KindCopy, KindMount, KindSyntax:
			default:
				t.Fatalf("bad kind %+v", r)
			}
		}
	})
}

// printable reports whether an error message is short printable text: what
// a malformed input may put in a log, escaped by diag.Printable.
func printable(s string) bool { return len(s) <= 2048 && diag.Printable(s, 2048) == s }

func BenchmarkParse(b *testing.B) {
	data := []byte(realistic)
	args := map[string]string{"GO_VERSION": "1.23"}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := refsOf("Dockerfile", data, args); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPullsAcrossBuilds: one evaluation per platform, merged per place and
// image: the platforms and targets that pull each image, whether the
// default build does, and a FROM that names a stage on one platform and an
// image on another.
func TestPullsAcrossBuilds(t *testing.T) {
	const in = "FROM busybox:1.36 AS helper-amd64\n" +
		"FROM helper-${TARGETARCH} AS helper\n" +
		"FROM --platform=$BUILDPLATFORM golang:1.26 AS build\n" +
		"FROM alpine:3.19-$TARGETARCH AS final\n" +
		"COPY --from=build /out /out\n"
	f, err := Parse("Dockerfile", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	refs, problems := f.Pulls([]Build{{Platform: "linux/amd64"}, {Platform: "linux/arm64"}}, nil)
	if len(problems) != 0 {
		t.Fatal(problems)
	}
	var got []string
	for _, r := range refs {
		got = append(got, fmt.Sprintf("%d %s platforms=%s targets=%s default=%v selects=%v",
			r.Line, r.Image, strings.Join(r.Platforms, ","), strings.Join(r.Targets, ","), r.Default, r.SelectsStage))
	}
	want := []string{
		"1 docker.io/library/busybox:1.36 platforms=linux/amd64,linux/arm64 targets=helper-amd64,helper default=false selects=false",
		"2 docker.io/library/helper-arm64:latest platforms=linux/arm64 targets=helper default=false selects=true",
		"3 docker.io/library/golang:1.26 platforms=linux/amd64,linux/arm64 targets=build,final default=true selects=false",
		"4 docker.io/library/alpine:3.19-amd64 platforms=linux/amd64 targets=final default=true selects=false",
		"4 docker.io/library/alpine:3.19-arm64 platforms=linux/arm64 targets=final default=true selects=false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("references:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Covering one target only.
	refs, _ = f.Pulls([]Build{{Platform: "linux/arm64"}}, []string{"build"})
	if len(refs) != 1 || refs[0].Image.Repo != "docker.io/library/golang" || refs[0].Default {
		t.Errorf("target build pulls %v", compactAll(refs))
	}
}

// TestMergeReferences: what Pulls of one file for two builds, merged, says
// is what one Pulls of both builds says (for a file with no FROM that names
// a stage in one build and an image in the other: see MergeReferences);
// two mounts of one RUN stay two references, and the frontend one.
func TestMergeReferences(t *testing.T) {
	const in = "# syntax=docker/dockerfile:1\n" +
		"FROM busybox:1.36 AS helper\n" +
		"FROM alpine:3.19-$TARGETARCH AS final\n" +
		"RUN --mount=type=bind,from=redis:7,target=/a --mount=type=bind,from=redis:7,target=/b true\n"
	f, err := Parse("Dockerfile", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	amd64, arm64 := Build{Platform: "linux/amd64"}, Build{Platform: "linux/arm64", BuildArgs: map[string]string{"BUILDKIT_SYNTAX": "docker/dockerfile:1"}}
	both, _ := f.Pulls([]Build{amd64, arm64}, nil)
	first, _ := f.Pulls([]Build{amd64}, nil)
	second, _ := f.Pulls([]Build{arm64}, nil)
	merged := MergeReferences(first, second)
	if !reflect.DeepEqual(merged, both) {
		t.Errorf("merged:\n%s\nwant, as one Pulls:\n%s", compactAll(merged), compactAll(both))
	}
	redis := 0
	for _, r := range merged {
		if r.Image.Repo == "docker.io/library/redis" {
			redis++
		}
	}
	if redis != 2 || len(merged) != 6 {
		t.Errorf("merged into %d references, %d of redis; want 6, 2 of redis:\n%s", len(merged), redis, compactAll(merged))
	}
}

// TestSyntaxPlatformsNormalised: the frontend is recorded for the
// platforms as BuildKit writes them, like every other image (linux/arm is
// linux/arm/v7), whichever build adds it.
func TestSyntaxPlatformsNormalised(t *testing.T) {
	f, err := Parse("Dockerfile", []byte("# syntax=docker/dockerfile:1\nFROM alpine:3.20\n"))
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := f.Pulls([]Build{{Platform: "linux/arm64"}, {Platform: "linux/arm"}}, nil)
	for _, r := range refs {
		if got := strings.Join(r.Platforms, ","); got != "linux/arm/v7,linux/arm64" {
			t.Errorf("%s %s: platforms %s, want linux/arm/v7,linux/arm64", r.Kind, r.Image, got)
		}
	}
}

// TestTargetProblems: a target that cannot build (it copies from a stage
// defined after it) is a warning when it is not the default one, and bad
// input when it is.
func TestTargetProblems(t *testing.T) {
	const in = "FROM nginx:1.27 AS web\nCOPY --from=assets /dist /html\nFROM node:20 AS assets\n"
	f, err := Parse("Dockerfile", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	_, problems := f.Pulls([]Build{{Platform: DefaultPlatform}}, nil)
	if len(problems) != 1 || problems[0].Kind != diag.Warning ||
		problems[0].Error() != `Dockerfile:2: warning: target web cannot build: cannot copy from stage "assets", it needs to be defined before current stage "web"` {
		t.Errorf("problems %v", problems)
	}
	// The default target (an unnamed last stage built on web) cannot build.
	f, err = Parse("Dockerfile", []byte(in+"FROM web\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, problems = f.Pulls([]Build{{Platform: DefaultPlatform}}, nil)
	if len(problems) != 2 || len(problems.Failures()) != 1 || len(problems.Others()) != 1 {
		t.Errorf("problems %v, want the default build's error and web's warning", problems)
	}
}

// TestNearStage: an image name close to a stage name carries the stage, for
// "did you mean" in later messages.
func TestNearStage(t *testing.T) {
	f, err := Parse("Dockerfile", []byte("FROM golang:1.26 AS build\nFROM builder\n"))
	if err != nil {
		t.Fatal(err)
	}
	refs, _ := f.Pulls([]Build{{Platform: DefaultPlatform}}, nil)
	if len(refs) != 2 || refs[1].Image.Repo != "docker.io/library/builder" || refs[1].Near != "build" || refs[0].Near != "" {
		t.Errorf("refs %+v", refs)
	}
}

// sameSyntax fails t unless detectSyntax finds the # syntax= directive
// BuildKit finds in data.
func sameSyntax(t *testing.T, data []byte) {
	t.Helper()
	ref, cmdline, loc, ok := parser.DetectSyntax(data)
	ref2, cmdline2, loc2, ok2 := detectSyntax(data)
	if ref != ref2 || cmdline != cmdline2 || !reflect.DeepEqual(loc, loc2) || ok != ok2 {
		t.Fatalf("%q: DetectSyntax %q %q %v %v, detectSyntax %q %q %v %v", data, ref, cmdline, loc, ok, ref2, cmdline2, loc2, ok2)
	}
}

// TestDetectSyntax: the syntax directive is found, from the file's header
// alone, wherever BuildKit finds it in the whole file, and not found where
// it does not.
func TestDetectSyntax(t *testing.T) {
	for _, in := range []string{
		"# syntax=docker/dockerfile:1\nFROM a\n",
		"#!/usr/bin/env buildctl\n# syntax=x/y:1\nFROM a\n",
		"# escape=`\r\n# syntax = x/y:1 --flag\r\nFROM a\r\n",
		"\xef\xbb\xbf# syntax=x/y\nFROM a",
		"// syntax=x/y\nFROM a\n",
		"# comment\n// syntax=x/y\n",
		"# syntax=x/y", // no newline
		"FROM a\n# syntax=x/y\n",
		"\n# syntax=x/y\n",
		" # syntax=x/y\n",
		"# not a directive\n# syntax=x/y\n",
		"# SYNTAX=x/y\n# check=skip=all\nFROM a\n",
		"# escape=`\nFROM a # syntax=x/y\n",
		`{"syntax": "x/y"}`,
		"  \n{\"syntax\": \"x/y\"}",
		"",
	} {
		sameSyntax(t, []byte(in))
	}
}
