package dockerfile

import (
	"strings"
	"testing"
)

const pinned = "@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// pinAll rewrites every reference whose text is written literally to
// TEXT@DIGEST.
func pinAll(t *testing.T, in string) (string, error) {
	t.Helper()
	refs, err := refsOf("Dockerfile", []byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	var reps []Replacement
	for _, r := range refs {
		if r.Kind != KindSyntax && r.Written == r.Expanded {
			reps = append(reps, Replacement{Ref: r, With: r.Written + pinned})
		}
	}
	out, err := Rewrite("Dockerfile", []byte(in), reps)
	return string(out), err
}

func TestRewrite(t *testing.T) {
	for _, tc := range []struct{ desc, in, want string }{
		{"from", "FROM alpine:3.20\n", "FROM alpine:3.20" + pinned + "\n"},
		{"platform and stage", "FROM --platform=linux/arm64 golang:1.26 AS build\n", "FROM --platform=linux/arm64 golang:1.26" + pinned + " AS build\n"},
		{"lower case, tabs, CRLF", "from\talpine\r\n", "from\talpine" + pinned + "\r\n"},
		{"continuation", "FROM \\\n  # a comment\n  alpine:3.20 \\\n  AS base\n", "FROM \\\n  # a comment\n  alpine:3.20" + pinned + " \\\n  AS base\n"},
		{"copy from", "FROM scratch\nCOPY --from=busybox:1.36 /bin/sh /sh\n", "FROM scratch\nCOPY --from=busybox:1.36" + pinned + " /bin/sh /sh\n"},
		{"mount from", "FROM alpine\nRUN --mount=type=bind,from=tools:2,target=/t <<EOF\nFROM tools:2\nEOF\n",
			"FROM alpine" + pinned + "\nRUN --mount=type=bind,from=tools:2" + pinned + ",target=/t <<EOF\nFROM tools:2\nEOF\n"},
		{"same image twice on a line", "FROM alpine\nRUN --mount=from=x:1,target=/a --mount=from=x:1,target=/b true\n",
			"FROM alpine" + pinned + "\nRUN --mount=from=x:1" + pinned + ",target=/a --mount=from=x:1" + pinned + ",target=/b true\n"},
		{"name inside a path is not the image", "FROM alpine\nCOPY --from=alpine /alpine /alpine\n", "FROM alpine" + pinned + "\nCOPY --from=alpine" + pinned + " /alpine /alpine\n"},
		{"mount: the image, not an option that reads the same", "FROM node:20 AS deps\nRUN --mount=type=cache,id=node,target=/root/.npm,from=node npm ci\n",
			"FROM node:20" + pinned + " AS deps\nRUN --mount=type=cache,id=node,target=/root/.npm,from=node" + pinned + " npm ci\n"},
		{"mount: source= before from=", "FROM scratch\nRUN --mount=type=bind,source=alpine,target=/a,from=alpine ls /a\n",
			"FROM scratch\nRUN --mount=type=bind,source=alpine,target=/a,from=alpine" + pinned + " ls /a\n"},
		{"mount: from= first, quoted", "FROM scratch\nRUN --mount=\"from=alpine,source=alpine\" ls\n",
			"FROM scratch\nRUN --mount=\"from=alpine" + pinned + ",source=alpine\" ls\n"},
		{"stage named like its image", "FROM node AS node\nRUN true\n", "FROM node" + pinned + " AS node\nRUN true\n"},
		{"copy: the flag's value, not a path", "FROM scratch\nCOPY --chown=alpine --from=alpine /a /b\n", "FROM scratch\nCOPY --chown=alpine --from=alpine" + pinned + " /a /b\n"},
		{"comments and blank lines stay", "# keep me: alpine\n\nFROM alpine\n# alpine\n", "# keep me: alpine\n\nFROM alpine" + pinned + "\n# alpine\n"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := pinAll(t, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
			if strings.Count(got, "\n") != strings.Count(tc.in, "\n") {
				t.Error("line count changed")
			}
		})
	}
}

func TestRewriteNotFound(t *testing.T) {
	in := "ARG BASE=alpine\nFROM ${BASE}\n"
	refs, err := refsOf("Dockerfile", []byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := refs[0]
	r.Written = "alpine" // as if the text were written literally
	_, err = Rewrite("Dockerfile", []byte(in), []Replacement{{Ref: r, With: "x"}})
	if err == nil || err.Error() != `Dockerfile:2: cannot find "alpine" as the image of FROM on the instruction's lines to rewrite it` {
		t.Errorf("error %v", err)
	}
}
