package resolve

import (
	"bytes"
	"context"
	_ "crypto/sha256" // godigest needs the algorithms registered
	_ "crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	godigest "github.com/opencontainers/go-digest"

	"github.com/imglock/imglock/internal/diag"
	"github.com/imglock/imglock/internal/imageref"
)

// manifestLimit bounds what is read of a manifest or config: real ones are
// a few KiB, and a hostile registry must not make us read forever.
const manifestLimit = 4 << 20

// headerLimit bounds the response headers accepted from a registry: a
// registry's are a few hundred bytes, and net/http would take 10 MiB.
const headerLimit = 64 << 10

// acceptManifests are the media types a tag may point at.
var acceptManifests = strings.Join([]string{
	string(types.OCIImageIndex),
	string(types.DockerManifestList),
	string(types.OCIManifestSchema1),
	string(types.DockerManifestSchema2),
}, ",")

// conn is one host, once pinged: the scheme it answered on and the client
// that authenticates requests to it.
type conn struct {
	scheme string
	reg    name.Registry
	host   string // as the Docker config names it: what to docker login to
	mirror string // HOST[:PORT][/PATH] when a mirror, for messages
	http   *http.Client
	memo   *manifestMemo // the run's: what getManifest downloaded
}

// target is one repository being read.
type target struct {
	path      string // where the host serves it (under a mirror's path)
	canonical string // as the lock names it
}

func (c *conn) url(t target, kind, id string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s/%s", c.scheme, c.reg.RegistryStr(), t.path, kind, id)
}

// do sends req for t's repository, whose token it takes.
func (c *conn) do(ctx context.Context, t target, method, kind, id string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(withRepo(ctx, t.path), method, c.url(t, kind, id), nil)
	if err != nil {
		return nil, err
	}
	if kind == "manifests" {
		req.Header.Set("Accept", acceptManifests)
	}
	return c.http.Do(req)
}

// resolve answers one request: a HEAD when only the tag's digest is wanted,
// a GET of the manifest when per-platform digests are wanted too. A request
// that carries a digest reads that manifest instead of the tag's.
func (c *conn) resolve(ctx context.Context, t target, req Request) (Result, error) {
	res := Result{Ref: req.Ref}
	id := req.Ref.Tag
	if req.Ref.Digest != "" {
		id = req.Ref.Digest
	}
	var err error
	if len(req.Platforms) == 0 {
		res.Digest, err = c.head(ctx, t, id)
		if !errors.Is(err, errNoDigest) {
			return res, err
		}
	}
	body, mediaType, digest, err := c.getManifest(ctx, t, id)
	if err != nil {
		return res, err
	}
	res.Digest = digest
	if len(req.Platforms) > 0 {
		res.Platforms, err = c.platformDigests(ctx, t, req, body, mediaType, digest)
	}
	return res, err
}

// ErrNotFound is wrapped by errors about a tag or manifest the registry
// does not have.
var ErrNotFound = errors.New("not found")

// ErrNoPlatform is wrapped by errors about a platform the image has no
// manifest for.
var ErrNoPlatform = errors.New("the image has no manifest for the platform")

// noPlatformError is a platform the image lacks, in a message of its own.
type noPlatformError struct{ msg string }

func (e *noPlatformError) Error() string { return e.msg }
func (e *noPlatformError) Unwrap() error { return ErrNoPlatform }

func noPlatform(format string, args ...any) error {
	return &noPlatformError{msg: fmt.Sprintf(format, args...)}
}

var errNoDigest = errors.New("registry answered HEAD without Docker-Content-Digest")

// head asks for the digest a tag points at without downloading anything.
func (c *conn) head(ctx context.Context, t target, id string) (string, error) {
	resp, err := c.do(ctx, t, http.MethodHead, "manifests", id)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if err := c.checkStatus(resp, t.canonical, id); err != nil {
		return "", err
	}
	d := resp.Header.Get("Docker-Content-Digest")
	if d == "" {
		return "", errNoDigest
	}
	if err := imageref.CheckDigest(d); err != nil {
		return "", fmt.Errorf("registry answered an unusable Docker-Content-Digest %s: %w", diag.Quote(d), err)
	}
	return d, nil
}

// getManifest downloads a manifest and computes its digest from the bytes;
// a Docker-Content-Digest header that disagrees with them is refused.
func (c *conn) getManifest(ctx context.Context, t target, id string) (body []byte, mediaType types.MediaType, digest string, err error) {
	resp, err := c.do(ctx, t, http.MethodGet, "manifests", id)
	if err != nil {
		return nil, "", "", err
	}
	defer resp.Body.Close()
	if err := c.checkStatus(resp, t.canonical, id); err != nil {
		return nil, "", "", err
	}
	body, err = readLimited(resp.Body, "manifest")
	if err != nil {
		return nil, "", "", err
	}
	digest = godigest.FromBytes(body).String()
	if h := resp.Header.Get("Docker-Content-Digest"); h != "" && !hasDigest(body, h) {
		return nil, "", "", fmt.Errorf("registry's Docker-Content-Digest %s does not match the manifest it sent (%s)", diag.Printable(h, 80), digest)
	}
	if strings.Contains(id, ":") && !hasDigest(body, id) {
		return nil, "", "", fmt.Errorf("manifest %s has the digest %s", id, digest)
	}
	c.memo.put(t.canonical, digest, body, resp.Header.Get("Content-Type"))
	return body, types.MediaType(resp.Header.Get("Content-Type")), digest, nil
}

// platformDigests picks the manifest of each wanted platform: from the
// index when the tag is multi-platform, or the tag's own manifest when its
// config names that platform.
func (c *conn) platformDigests(ctx context.Context, t target, req Request, body []byte, mediaType types.MediaType, digest string) (map[string]string, error) {
	out := map[string]string{}
	if IsIndex(string(mediaType), body) {
		idx, err := v1.ParseIndexManifest(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("parsing the index: %w", err)
		}
		var have []string
		for _, m := range idx.Manifests {
			if m.Platform != nil && m.Platform.OS != "unknown" {
				have = append(have, PlatformString(*m.Platform))
			}
		}
		for _, want := range req.Platforms {
			d, ok := pickPlatform(idx.Manifests, want)
			if !ok {
				return nil, noPlatform("%s has no %s manifest (it has %s)", req.Ref, want, strings.Join(have, ", "))
			}
			out[want] = d
		}
		return out, nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parsing the manifest: %w", err)
	}
	cfg, err := c.getConfig(ctx, t, m.Config.Digest.String())
	if err != nil {
		return nil, err
	}
	got := PlatformString(v1.Platform{OS: cfg.OS, Architecture: cfg.Architecture, Variant: cfg.Variant})
	for _, want := range req.Platforms {
		if !SamePlatform(want, got) {
			return nil, noPlatform("%s is a single-platform image for %s; it has no %s manifest (check platforms in imglock.toml)", req.Ref, got, want)
		}
		out[want] = digest
	}
	return out, nil
}

func (c *conn) getConfig(ctx context.Context, t target, digest string) (*v1.ConfigFile, error) {
	if err := imageref.CheckDigest(digest); err != nil {
		return nil, fmt.Errorf("manifest names an unusable config digest: %w", err)
	}
	body, err := c.getBlob(ctx, t, digest)
	if err != nil {
		return nil, err
	}
	return v1.ParseConfigFile(bytes.NewReader(body))
}

// getBlob downloads a small blob (a config) and checks it against its digest.
func (c *conn) getBlob(ctx context.Context, t target, digest string) ([]byte, error) {
	resp, err := c.do(ctx, t, http.MethodGet, "blobs", digest)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, fmt.Errorf("%w: %s has no blob %s (GET answered 404)", ErrNotFound, t.canonical, digest)
	}
	if err := transport.CheckError(resp, http.StatusOK); err != nil {
		return nil, err
	}
	body, err := readLimited(resp.Body, "blob")
	if err != nil {
		return nil, err
	}
	if !hasDigest(body, digest) {
		return nil, fmt.Errorf("blob does not match its digest %s", diag.Printable(digest, 80))
	}
	return body, nil
}

// hasDigest reports whether body has the digest d, in d's algorithm
// (sha256 or sha512, as lock and references allow): what a registry sends
// for a digest must be those bytes, and a digest that cannot be checked
// is not taken on trust.
func hasDigest(body []byte, d string) bool {
	dg, err := godigest.Parse(d)
	return err == nil && dg.Algorithm().Available() && dg.Algorithm().FromBytes(body) == dg
}

// checkStatus turns a registry's error answer about a manifest into a clear
// error, naming the mirror when it was one that answered.
func (c *conn) checkStatus(resp *http.Response, repo, id string) error {
	switch resp.StatusCode {
	case http.StatusNotFound:
		what := fmt.Sprintf("tag %q", id)
		if strings.Contains(id, ":") {
			what = "manifest " + id
		}
		who := resp.Request.Method
		if c.mirror != "" {
			who = fmt.Sprintf("mirror %s, asked with %s,", c.mirror, resp.Request.Method)
		}
		return fmt.Errorf("%w: %s has no %s (%s answered 404)", ErrNotFound, repo, what, who)
	case http.StatusUnauthorized, http.StatusForbidden:
		// Docker Hub answers so for a repository that does not exist, too.
		return fmt.Errorf("%w; the repository does not exist, or it needs credentials (docker login %s)",
			transport.CheckError(resp, http.StatusOK), c.host)
	}
	return transport.CheckError(resp, http.StatusOK)
}

func readLimited(r io.Reader, what string) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, manifestLimit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the %s: %w", what, err)
	}
	if len(body) > manifestLimit {
		return nil, fmt.Errorf("the %s is larger than %d bytes; refusing it", what, manifestLimit)
	}
	return body, nil
}

// IsIndex tells an index from a manifest: by its media type, else, for
// registries that send no or a generic Content-Type, by its content.
func IsIndex(mediaType string, body []byte) bool {
	switch types.MediaType(strings.TrimSpace(strings.Split(mediaType, ";")[0])) {
	case types.OCIImageIndex, types.DockerManifestList:
		return true
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
		return false
	}
	var probe struct {
		Manifests []json.RawMessage `json:"manifests"`
		Layers    []json.RawMessage `json:"layers"`
	}
	return json.Unmarshal(body, &probe) == nil && probe.Manifests != nil && probe.Layers == nil
}

func pickPlatform(ms []v1.Descriptor, want string) (string, bool) {
	for _, m := range ms {
		if m.Platform != nil && SamePlatform(want, PlatformString(*m.Platform)) {
			return m.Digest.String(), true
		}
	}
	return "", false
}

// logTransport writes one line per request: never headers, which carry
// credentials.
type logTransport struct {
	inner http.RoundTripper
	w     io.Writer
}

func (t *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.inner.RoundTrip(req)
	u := *req.URL
	u.User = nil
	if err != nil {
		fmt.Fprintf(t.w, "%s %s: %v (%s)\n", req.Method, u.Redacted(), err, time.Since(start).Round(time.Millisecond))
		return nil, err
	}
	fmt.Fprintf(t.w, "%s %s -> %s (%s%s)\n", req.Method, u.Redacted(), resp.Status, time.Since(start).Round(time.Millisecond), rateLimit(resp.Header))
	return resp, nil
}

// rateLimit is what a registry says of its rate limit (Docker Hub's
// RateLimit-Limit, RateLimit-Remaining and Docker-RateLimit-Source, the
// last an IP address or an account), for the log: ", ratelimit-remaining
// 76;w=21600 of 100;w=21600".
func rateLimit(h http.Header) string {
	remaining := h.Get("RateLimit-Remaining")
	if remaining == "" {
		return ""
	}
	s := ", ratelimit-remaining " + diag.Printable(remaining, 40)
	if limit := h.Get("RateLimit-Limit"); limit != "" {
		s += " of " + diag.Printable(limit, 40)
	}
	if src := h.Get("Docker-RateLimit-Source"); src != "" {
		s += " for " + diag.Printable(src, 60)
	}
	return s
}
