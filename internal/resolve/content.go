package resolve

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	godigest "github.com/opencontainers/go-digest"

	"github.com/imglock/imglock/internal/imageref"
)

// ContentRequest asks for one manifest, or with Blob set one blob (a
// config), of a repository, by digest.
type ContentRequest struct {
	Repo   string // canonical repository, as the lock names it
	Digest string
	Blob   bool
}

func (r ContentRequest) String() string { return r.Repo + "@" + r.Digest }

// Content is what the registry served for a ContentRequest.
type Content struct {
	ContentRequest
	Body      []byte
	MediaType string // a manifest's, as the registry sent it
	Err       error  // an *Error; it wraps ErrNotFound when the registry does not have the digest
}

// ContentReader reads manifests and blobs by digest: what a review of a
// moved tag needs beyond the digests.
type ContentReader interface {
	ReadContent(ctx context.Context, reqs []ContentRequest) []Content
}

var _ ContentReader = (*Remote)(nil)

// ReadContent reads each request once, in parallel within each registry's
// bound, and answers them in order. It goes through the client a Resolve
// of the same run connected, so reading after resolving costs no second
// ping or token; a manifest that Resolve already downloaded is not asked
// for again. Content is addressed by digest: what comes back is checked
// against it.
func (r *Remote) ReadContent(ctx context.Context, reqs []ContentRequest) []Content {
	out := make([]Content, len(reqs))
	byEndpoint := map[string][]int{}
	first := map[ContentRequest]int{}
	var dups []int
	for i, req := range reqs {
		out[i].ContentRequest = req
		if _, ok := first[req]; ok {
			dups = append(dups, i)
			continue
		}
		first[req] = i
		host, _, _ := strings.Cut(req.Repo, "/")
		ep := r.endpoint(host)
		byEndpoint[ep] = append(byEndpoint[ep], i)
	}
	var wg sync.WaitGroup
	for ep, idx := range byEndpoint {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.readOn(ctx, ep, idx, out)
		}()
	}
	wg.Wait()
	for _, i := range dups {
		src := out[first[reqs[i]]]
		out[i].Body, out[i].MediaType, out[i].Err = src.Body, src.MediaType, src.Err
	}
	return out
}

// readOn answers out[i] for each i of idx, whose requests all go to ep.
func (r *Remote) readOn(ctx context.Context, ep string, idx []int, out []Content) {
	var repos []string
	for _, i := range idx {
		if !slices.Contains(repos, out[i].Repo) {
			repos = append(repos, out[i].Repo)
		}
	}
	c := r.reuse.get(ep, repos)
	if c == nil {
		reqs := make([]Request, len(repos))
		for i, repo := range repos {
			reqs[i] = Request{Ref: imageref.Ref{Repo: repo}}
		}
		var err error
		if c, err = r.connect(ctx, ep, reqs); err != nil {
			for _, i := range idx {
				out[i].Err = &Error{Ref: out[i].String(), Err: err}
			}
			return
		}
		r.reuse.put(ep, c)
	}
	limit := r.concurrency
	if n := r.registries[ep].Concurrency; n > 0 {
		limit = n
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for _, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var err error
			out[i].Body, out[i].MediaType, err = c.read(ctx, out[i].ContentRequest)
			if err != nil {
				out[i].Err = &Error{Ref: out[i].String(), Err: err}
			}
		}()
	}
	wg.Wait()
}

// read reads one manifest or blob by digest.
func (c *client) read(ctx context.Context, req ContentRequest) ([]byte, string, error) {
	if err := imageref.CheckDigest(req.Digest); err != nil {
		return nil, "", err
	}
	t := target{repo: c.repository(req.Repo), canonical: req.Repo, http: c.transports[req.Repo]}
	if req.Blob {
		body, err := c.getBlob(ctx, t, req.Digest)
		return body, "", err
	}
	if body, mediaType, ok := c.memo.get(req.Repo, req.Digest); ok {
		return body, mediaType, nil
	}
	body, mediaType, _, err := c.getManifest(ctx, t, req.Digest)
	return body, string(mediaType), err
}

// getBlob downloads a small blob (a config) and checks it against its digest.
func (c *client) getBlob(ctx context.Context, t target, digest string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url(t, "blobs", digest), nil)
	if err != nil {
		return nil, err
	}
	resp, err := t.http.Do(req)
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
	if d, err := godigest.Parse(digest); err == nil && d.Algorithm().Available() && d.Algorithm().FromBytes(body) != d {
		return nil, fmt.Errorf("blob does not match its digest %s", digest)
	}
	return body, nil
}

// clients keeps the client each registry endpoint was connected with for
// the rest of the run, so that reading content after resolving asks for
// no second ping or token.
type clients struct {
	mu sync.Mutex
	m  map[string]*client
}

func (cs *clients) put(ep string, c *client) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = map[string]*client{}
	}
	cs.m[ep] = c
}

// get returns the client of ep if it can read every one of repos (its
// token covers them), else nil.
func (cs *clients) get(ep string, repos []string) *client {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.m[ep]
	if c == nil {
		return nil
	}
	for _, repo := range repos {
		if c.transports[repo] == nil {
			return nil
		}
	}
	return c
}

// memoLimit bounds what a run keeps of the manifests it downloaded: the
// indexes of the tags that moved are a few KiB each, and a hostile
// registry must not make us hold gigabytes.
const memoLimit = 16 << 20

// manifestMemo keeps the manifests a run downloaded, by repository and
// digest, so that reviewing a moved tag does not download its index twice.
// Content is addressed by digest, so an entry never goes stale.
type manifestMemo struct {
	mu    sync.Mutex
	m     map[string]memoEntry
	bytes int
}

type memoEntry struct {
	body      []byte
	mediaType string
}

func (mm *manifestMemo) put(repo, digest string, body []byte, mediaType string) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if mm.bytes+len(body) > memoLimit {
		return
	}
	if mm.m == nil {
		mm.m = map[string]memoEntry{}
	}
	key := repo + "@" + digest
	if _, ok := mm.m[key]; !ok {
		mm.m[key] = memoEntry{body, mediaType}
		mm.bytes += len(body)
	}
}

func (mm *manifestMemo) get(repo, digest string) ([]byte, string, bool) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	e, ok := mm.m[repo+"@"+digest]
	return e.body, e.mediaType, ok
}
