package resolve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// registryHosts are the hosts that answer for one registry during a run:
// its mirror, if it has one, and the registry itself. Each connects once a
// run, so that what a run reads after resolving costs no second ping or
// token.
type registryHosts struct {
	name     string    // as image names write it: docker.io
	primary  *endpoint // the mirror, or the registry when it has none
	fallback *endpoint // the registry behind its mirror; nil when none or mirror_only
	warnOnce sync.Once
}

// hostsOf returns the hosts of registry name, made on first use.
func (r *Remote) hostsOf(name string) *registryHosts {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := r.endpoints[name]; h != nil {
		return h
	}
	opts := r.registries[name]
	h := &registryHosts{name: name, primary: r.newEndpoint(name, opts.Mirror, opts)}
	if opts.Mirror != "" && !opts.MirrorOnly {
		h.fallback = r.newEndpoint(name, "", opts)
	}
	if r.endpoints == nil {
		r.endpoints = map[string]*registryHosts{}
	}
	r.endpoints[name] = h
	return h
}

// each runs do(e, i) for i in [0, n), on the mirror first, and on the
// registry itself for each the mirror failed (mirrorFailed), warning of the
// first such failure; repos are the canonical repositories read, whose
// tokens are asked for up front. asked says which host gave each answer.
func (h *registryHosts) each(ctx context.Context, repos []string, n int, do func(e *endpoint, i int) error, tick func()) (asked []*endpoint, errs []error) {
	h.primary.prepare(ctx, repos)
	if h.fallback != nil {
		if _, err := h.primary.connect(ctx); err != nil {
			h.fallback.prepare(ctx, repos) // the mirror answers nothing: every request goes there
		}
	}
	asked = make([]*endpoint, n)
	errs = make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer tick()
			asked[i] = h.primary
			errs[i] = do(h.primary, i)
			if errs[i] == nil || h.fallback == nil || !mirrorFailed(ctx, errs[i]) {
				return
			}
			h.warnOnce.Do(func() {
				h.primary.r.warnf("mirror %s of %s failed, asking %s itself: %v", h.primary.mirror, h.name, h.name, errs[i])
			})
			asked[i] = h.fallback
			errs[i] = do(h.fallback, i)
		}()
	}
	wg.Wait()
	return asked, errs
}

// resolveRegistry resolves reqs, the references of one registry (as image
// names write it), on its mirror if it has one, asking the registry itself
// for each reference the mirror fails unless its settings say not to.
// Failures that every reference asked of a host met (its ping, its token
// server) come back as one RegistryError per host.
func (r *Remote) resolveRegistry(ctx context.Context, name string, reqs []Request, tick func()) ([]Result, []error) {
	results := make([]Result, len(reqs))
	asked, errs := r.hostsOf(name).each(ctx, repositories(reqs, func(req Request) string { return req.Ref.Repo }), len(reqs),
		func(e *endpoint, i int) (err error) {
			results[i], err = e.resolve(ctx, reqs[i])
			return err
		}, tick)

	var ok []Result
	var failed []error
	shared := map[string]*RegistryError{}
	for i, req := range reqs {
		if errs[i] == nil {
			ok = append(ok, results[i])
			continue
		}
		ref, mirror := req.Ref.String(), asked[i].mirror
		var he *hostError
		if !errors.As(errs[i], &he) {
			failed = append(failed, &Error{Ref: ref, Mirror: mirror, Err: errs[i]})
			continue
		}
		key := mirror + "\x00" + he.Error()
		re := shared[key]
		if re == nil {
			re = &RegistryError{Registry: name, Mirror: mirror, Err: he}
			shared[key] = re
			failed = append(failed, re)
		}
		re.Refs = append(re.Refs, ref)
	}
	for _, re := range shared {
		slices.Sort(re.Refs)
	}
	return ok, failed
}

// mirrorFailed reports whether a mirror's failure to resolve a reference
// is one the registry itself may not have: anything but the image lacking
// a platform (the mirror serves the registry's content) or the run running
// out of time.
func mirrorFailed(ctx context.Context, err error) bool {
	return ctx.Err() == nil && !errors.Is(err, ErrNoPlatform) &&
		!errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled)
}

// hostError is a failure that every request to one host meets: its ping,
// or a token request. Shared by those requests, it is reported once.
type hostError struct{ err error }

func (e *hostError) Error() string { return e.err.Error() }
func (e *hostError) Unwrap() error { return e.err }

func (r *Remote) warnf(format string, args ...any) {
	if r.warn != nil {
		r.warn(fmt.Sprintf(format, args...))
	}
}

// repositories are the distinct repositories of xs, in order.
func repositories[T any](xs []T, repo func(T) string) []string {
	var out []string
	for _, x := range xs {
		if r := repo(x); !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}
