package main

import (
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/imageref"
	"github.com/imglock/imglock/internal/project"
	"github.com/imglock/imglock/internal/review"
)

const (
	flagFormat                = "format"
	flagMinAge                = "min-age"
	flagAllowUnknownAge       = "allow-unknown-age"
	flagIgnoreUnusedPlatforms = "ignore-unused-platforms"
)

// Output formats of the commands that review moves.
const (
	formatText     = "text"
	formatMarkdown = "markdown"
	formatJSON     = "json"
)

// reviewFlags are the flags of the commands that review moved tags
// (upgrade, outdated): the output format and the policy that holds moves
// back, over imglock.toml's min-age and ignore-unused-platforms.
func reviewFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: flagFormat, Value: formatText, Usage: "print as `FORMAT`: text, markdown (a pull request body) or json"},
		&cli.DurationFlag{Name: flagMinAge, Usage: "do not take a digest created less than `DURATION` ago (default: imglock.toml's min-age, else none)"},
		&cli.BoolFlag{Name: flagAllowUnknownAge, Usage: "with a minimum age, take a digest whose created time is unknown"},
		&cli.BoolFlag{Name: flagIgnoreUnusedPlatforms, Usage: "do not take a digest that changes no platform the project uses (default: imglock.toml's ignore-unused-platforms)"},
	}
}

// outputFormat is the format asked for; --json is --format json.
func outputFormat(c *cli.Context) (string, error) {
	f := c.String(flagFormat)
	switch f {
	case formatText, formatMarkdown, formatJSON:
	default:
		return "", fmt.Errorf("--format %s: want text, markdown or json", diag.Quote(f))
	}
	if c.Bool(flagJSON) {
		if c.IsSet(flagFormat) && f != formatJSON {
			return "", fmt.Errorf("--json and --format %s contradict each other", f)
		}
		f = formatJSON
	}
	return f, nil
}

// applyPolicy overrides the project's policy with the flags given.
func applyPolicy(c *cli.Context, p *project.Project) error {
	if c.IsSet(flagMinAge) {
		if d := c.Duration(flagMinAge); d < 0 {
			return fmt.Errorf("--min-age %s: must not be negative", d)
		}
		p.Policy.MinAge = c.Duration(flagMinAge)
	}
	if c.IsSet(flagAllowUnknownAge) {
		p.Policy.AllowUnknownAge = c.Bool(flagAllowUnknownAge)
	}
	if c.IsSet(flagIgnoreUnusedPlatforms) {
		p.Policy.IgnoreUnusedPlatforms = c.Bool(flagIgnoreUnusedPlatforms)
	}
	return nil
}

// digestFormat cuts digests short unless --long asks for them whole.
func digestFormat(c *cli.Context) func(string) string {
	if c.Bool(flagLong) {
		return func(d string) string { return d }
	}
	return imageref.ShortDigest
}

// writeReviews writes each review as text.
func writeReviews(w io.Writer, reviews []review.Review, now time.Time, digest func(string) string) {
	for _, r := range reviews {
		review.WriteText(w, r, now, digest)
	}
}

// countHeld is how many reviews the policy held back.
func countHeld(reviews []review.Review) int {
	n := 0
	for _, r := range reviews {
		if r.Hold != review.NotHeld {
			n++
		}
	}
	return n
}

// reviewJSON is a review in --json output.
type reviewJSON struct {
	Repository   string         `json:"repository"`
	Tag          string         `json:"tag"`
	Old          imageJSON      `json:"old"`
	New          imageJSON      `json:"new"`
	Env          []envJSON      `json:"env"`               // *_VERSION values that differ, where configs were read
	Compare      string         `json:"compare,omitempty"` // GitHub or GitLab link from the old to the new revision
	Platforms    []platformJSON `json:"platforms"`
	UnusedOnly   bool           `json:"unused_only"`          // no platform the project uses changed
	Attestations bool           `json:"attestations_changed"` // the attestation manifests changed
	Held         string         `json:"held,omitempty"`       // too-young, unknown-age or unused-platforms: not moved
	Eligible     string         `json:"eligible,omitempty"`   // with too-young: when it may move (RFC 3339)
}

type imageJSON struct {
	Digest      string `json:"digest"`
	Missing     bool   `json:"missing,omitempty"` // the registry no longer has it
	Version     string `json:"version,omitempty"`
	VersionFrom string `json:"version_from,omitempty"` // annotation or label
	Created     string `json:"created,omitempty"`      // RFC 3339; absent when unknown (or the epoch)
	Revision    string `json:"revision,omitempty"`
	Source      string `json:"source,omitempty"`
	BaseName    string `json:"base_name,omitempty"`
	BaseDigest  string `json:"base_digest,omitempty"`
}

type envJSON struct {
	Name string `json:"name"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

type platformJSON struct {
	Platform string `json:"platform"`
	Change   string `json:"change"` // unchanged, changed, added, removed, unknown
	Used     bool   `json:"used"`   // the project builds it
	Old      string `json:"old,omitempty"`
	New      string `json:"new,omitempty"`
	OldSize  int64  `json:"old_size,omitempty"` // compressed bytes, read for the used platforms that changed
	NewSize  int64  `json:"new_size,omitempty"`
}

func newReviewJSON(r review.Review) reviewJSON {
	out := reviewJSON{Repository: r.Repo, Tag: r.Tag, Old: newImageJSON(r.Old), New: newImageJSON(r.New),
		Env: []envJSON{}, Compare: r.Compare, Platforms: []platformJSON{}, UnusedOnly: r.UnusedOnly,
		Attestations: r.Attestations, Held: string(r.Hold)}
	if !r.Eligible.IsZero() {
		out.Eligible = r.Eligible.UTC().Format(time.RFC3339)
	}
	for _, e := range r.Env {
		out.Env = append(out.Env, envJSON{e.Name, e.Old, e.New})
	}
	for _, p := range r.Platforms {
		out.Platforms = append(out.Platforms, platformJSON{p.Platform, string(p.Change), p.Used, p.Old, p.New, p.OldSize, p.NewSize})
	}
	return out
}

func newImageJSON(img review.Image) imageJSON {
	out := imageJSON{Digest: img.Digest, Missing: img.Missing, Version: img.Version, VersionFrom: img.VersionFrom,
		Revision: img.Revision, Source: img.Source, BaseName: img.BaseName, BaseDigest: img.BaseDigest}
	if !img.Created.IsZero() {
		out.Created = img.Created.UTC().Format(time.RFC3339)
	}
	return out
}

func reviewsJSON(reviews []review.Review) []reviewJSON {
	out := []reviewJSON{}
	for _, r := range reviews {
		out = append(out, newReviewJSON(r))
	}
	return out
}
