package resolve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// resolveRegistry resolves reqs, the references of one registry (as image
// names write it), on its mirror if it has one, asking the registry itself
// for each reference the mirror fails unless its settings say not to.
// Failures that every reference asked of a host met (its ping, its token
// server) come back as one RegistryError per host.
func (r *Remote) resolveRegistry(ctx context.Context, name string, reqs []Request, tick func()) ([]Result, []error) {
	opts := r.registries[name]
	var repos []string
	for _, req := range reqs {
		if !slices.Contains(repos, req.Ref.Repo) {
			repos = append(repos, req.Ref.Repo)
		}
	}
	primary := r.newEndpoint(name, opts.Mirror, opts)
	primary.prefetch = func() []string { return repos }
	var fallback *endpoint
	if opts.Mirror != "" && !opts.MirrorOnly {
		fallback = r.newEndpoint(name, "", opts)
		fallback.prefetch = func() []string {
			if _, err := primary.connect(ctx); err != nil {
				return repos // the mirror answers nothing: every reference comes here
			}
			return nil // only some: a token each, when they come
		}
	}

	results := make([]Result, len(reqs))
	errs := make([]error, len(reqs))
	asked := make([]*endpoint, len(reqs))
	var warnOnce sync.Once
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer tick()
			asked[i] = primary
			results[i], errs[i] = primary.resolve(ctx, req)
			if errs[i] == nil || fallback == nil || !mirrorFailed(ctx, errs[i]) {
				return
			}
			warnOnce.Do(func() {
				r.warnf("mirror %s of %s failed, asking %s itself: %v", opts.Mirror, name, name, errs[i])
			})
			asked[i] = fallback
			results[i], errs[i] = fallback.resolve(ctx, req)
		}()
	}
	wg.Wait()

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
