package resolve

import (
	"errors"
	"net/http"
)

// Options only tests need: imglock itself always uses the transport and
// retry policy New builds.

// WithTransport sets the HTTP transport every request goes through, in
// place of the one New builds (which also bounds response headers).
func WithTransport(t http.RoundTripper) Option {
	return func(r *Remote) error {
		if t == nil {
			return errors.New("nil transport")
		}
		r.base = t
		return nil
	}
}

// WithRetry sets how failed requests are retried (default DefaultRetryPolicy).
func WithRetry(p RetryPolicy) Option {
	return func(r *Remote) error {
		r.retry = &p
		return nil
	}
}

// WithScopesPerToken bounds the repositories asked for in one token
// request (default 50); 1 asks a token per repository.
func WithScopesPerToken(n int) Option {
	return func(r *Remote) error {
		r.perToken = n
		return nil
	}
}
