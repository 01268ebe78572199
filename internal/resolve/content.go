package resolve

import (
	"context"
	"strings"
	"sync"

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

// ReadContent reads each request once, in parallel within each host's
// bound, and answers them in order. It goes through the hosts a Resolve
// of the same run connected, so reading after resolving costs no second
// ping or token; a manifest that Resolve already downloaded is not asked
// for again. Behind a mirror, what the mirror fails is asked of the
// registry itself, as Resolve does. Content is addressed by digest: what
// comes back is checked against it.
func (r *Remote) ReadContent(ctx context.Context, reqs []ContentRequest) []Content {
	out := make([]Content, len(reqs))
	byRegistry := map[string][]int{}
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
		name := imageref.CanonicalHost(host)
		byRegistry[name] = append(byRegistry[name], i)
	}
	var wg sync.WaitGroup
	for name, idx := range byRegistry {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.readRegistry(ctx, name, idx, out)
		}()
	}
	wg.Wait()
	for _, i := range dups {
		src := out[first[reqs[i]]]
		out[i].Body, out[i].MediaType, out[i].Err = src.Body, src.MediaType, src.Err
	}
	return out
}

// readRegistry answers out[i] for each i of idx, whose repositories are
// all of the registry name.
func (r *Remote) readRegistry(ctx context.Context, name string, idx []int, out []Content) {
	repos := repositories(idx, func(i int) string { return out[i].Repo })
	asked, errs := r.hostsOf(name).each(ctx, repos, len(idx), func(e *endpoint, k int) error {
		c := &out[idx[k]]
		return e.use(ctx, func(conn *conn) (err error) {
			c.Body, c.MediaType, err = conn.read(ctx, e.target(c.Repo), c.ContentRequest)
			return err
		})
	}, func() {})
	for k, i := range idx {
		if errs[k] != nil {
			out[i].Body, out[i].MediaType = nil, ""
			out[i].Err = &Error{Ref: out[i].String(), Mirror: asked[k].mirror, Err: errs[k]}
		}
	}
}

// read reads one manifest or blob by digest.
func (c *conn) read(ctx context.Context, t target, req ContentRequest) ([]byte, string, error) {
	if err := imageref.CheckDigest(req.Digest); err != nil {
		return nil, "", err
	}
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
