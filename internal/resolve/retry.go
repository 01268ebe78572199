package resolve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/imglock/imglock/internal/diag"
)

// RetryPolicy says how often and how patiently a request is retried.
// Zero fields take their defaults.
type RetryPolicy struct {
	Attempts  int           // total tries per request, including the first (default 5)
	BaseDelay time.Duration // first backoff (default 200ms); doubles each retry
	MaxDelay  time.Duration // cap on one wait, including Retry-After (default 20s)

	// HeaderTimeout is how long a try waits for the response headers
	// before it is abandoned and retried (default 30s). It is the
	// ResponseHeaderTimeout of the transport New builds: reading the body
	// is bounded by the caller's context alone.
	HeaderTimeout time.Duration
}

// DefaultRetryPolicy rides out a registry restart or a short rate limit
// (waits of up to 0.2+0.4+0.8+1.6s) without stretching a real outage.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		Attempts:      5,
		BaseDelay:     200 * time.Millisecond,
		MaxDelay:      20 * time.Second,
		HeaderTimeout: 30 * time.Second,
	}
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.Attempts < 1 {
		p.Attempts = d.Attempts
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = d.BaseDelay
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = d.MaxDelay
	}
	if p.HeaderTimeout <= 0 {
		p.HeaderTimeout = d.HeaderTimeout
	}
	return p
}

// backoff is the wait before retry n (0 for the first retry): exponential
// with full jitter, so that many clients failing together do not retry
// together.
func (p RetryPolicy) backoff(n int) time.Duration {
	ceil := p.BaseDelay
	for i := 0; i < n && ceil < p.MaxDelay; i++ {
		ceil *= 2
	}
	ceil = min(ceil, p.MaxDelay)
	return rand.N(ceil + 1)
}

// NewRetryTransport retries GET and HEAD requests without a body on 429,
// 500, 502, 503 and 504 answers, on connection errors and on timeouts
// (such as the inner transport's ResponseHeaderTimeout), with backoff,
// honouring Retry-After. Requests with a body pass through untouched: they
// may not be safe to send twice.
//
// It is not go-containerregistry's retry transport because that one never
// reads Retry-After: its maintainers would not retry rate limits without it
// (google/go-containerregistry#1569) and closed a change that retried 429
// (#1636); the 429 retries it has since gained still ignore the header.
//
// When it gives up on a status, it returns a *RetryError naming the last
// status (and the registry's error message, if the body had one) and the
// attempts, not the last response: "503 Service Unavailable after 5
// attempts" says more than the status alone, and a HEAD answer has no body
// to read anyway. It gives up early, with the same error, when the next
// wait would pass the context's deadline. Other answers (404 included) are
// returned as they are.
func NewRetryTransport(inner http.RoundTripper, p RetryPolicy) http.RoundTripper {
	return &retryTransport{inner: inner, p: p.withDefaults()}
}

type retryTransport struct {
	inner http.RoundTripper
	p     RetryPolicy
}

// RetryError is a request given up on. It never holds request headers:
// they carry credentials.
type RetryError struct {
	Attempts   int    // tries made
	StatusCode int    // the last answer's status, or 0 when it failed to connect
	Status     string // e.g. "503 Service Unavailable"
	Detail     string // the registry's own error message, if its answer had one
	Err        error  // the last connection error, when StatusCode is 0

	// RetryAfter is set when the registry asked for a wait that would
	// outlast the context's deadline; OutOfTime when a backoff would.
	RetryAfter time.Duration
	OutOfTime  bool

	// RateLimit is the last answer's RateLimit-Limit header, as Docker
	// Hub sends it ("100;w=21600"); "" when it had none.
	RateLimit string
}

func (e *RetryError) Error() string {
	what := e.last()
	switch {
	case e.RetryAfter > 0:
		return fmt.Sprintf("%s: registry asked to retry after %s, past the deadline", what, e.RetryAfter)
	case e.OutOfTime:
		return fmt.Sprintf("%s after %d %s; no time left before the deadline to retry", what, e.Attempts, diag.Plural(e.Attempts, "attempt"))
	}
	return fmt.Sprintf("%s after %d %s", what, e.Attempts, diag.Plural(e.Attempts, "attempt"))
}

// Unwrap gives the last connection error and, when the deadline stopped
// the retries, context.DeadlineExceeded, so callers can tell a timeout.
func (e *RetryError) Unwrap() []error {
	errs := []error{}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.RetryAfter > 0 || e.OutOfTime {
		errs = append(errs, context.DeadlineExceeded)
	}
	return errs
}

// last describes the last attempt's failure.
func (e *RetryError) last() string {
	switch {
	case e.StatusCode == 0 && e.Err != nil:
		return e.Err.Error()
	case e.Detail != "":
		return e.Status + " (" + e.Detail + ")"
	}
	return e.Status
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !replayable(req) {
		return t.inner.RoundTrip(req)
	}
	ctx := req.Context()
	for attempt := 1; ; attempt++ {
		resp, err := t.inner.RoundTrip(req)
		if err == nil && !retryableStatus(resp.StatusCode) {
			return resp, nil
		}
		if err != nil && (ctx.Err() != nil || !retryableError(err)) {
			return nil, err
		}

		last := &RetryError{Attempts: attempt, Err: err}
		var wait time.Duration
		asked := false
		if resp != nil {
			last.StatusCode, last.Status = resp.StatusCode, resp.Status
			if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				last.RetryAfter, wait, asked = d, min(d, t.p.MaxDelay), true
			}
			last.Detail = discard(resp)
			last.RateLimit = resp.Header.Get("RateLimit-Limit")
		}
		// A rate limit used up lasts its window, hours on Docker Hub:
		// unless the registry names a wait, waiting seconds is no use.
		if attempt >= t.p.Attempts || !asked && exhausted(resp) {
			last.RetryAfter = 0
			return nil, last
		}
		if !asked {
			wait = t.p.backoff(attempt - 1)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			// Waiting would end in a bare deadline error; report the cause now.
			last.OutOfTime = last.RetryAfter == 0
			return nil, last
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%w while waiting to retry %s", err, last.last())
		}
	}
}

// exhausted reports whether resp is a 429 that says no request is left
// (RateLimit-Remaining: 0).
func exhausted(resp *http.Response) bool {
	if resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		return false
	}
	n, _, _ := strings.Cut(resp.Header.Get("RateLimit-Remaining"), ";")
	return strings.TrimSpace(n) == "0"
}

// replayable: only requests that are safe to send twice and have no body
// to rewind.
func replayable(req *http.Request) bool {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return false
	}
	return req.Body == nil || req.Body == http.NoBody
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// retryableError: the connection failed or was cut, or nothing came back in
// time. TLS, DNS and protocol errors are not retried: they do not heal in
// seconds.
func retryableError(err error) bool {
	for _, e := range []error{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED, syscall.EPIPE, io.ErrUnexpectedEOF, io.EOF} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// discardLimit bounds what is read of a discarded answer: enough to reuse
// the connection for a registry's error JSON, not a hostile stream.
const discardLimit = 64 << 10

// discard drains and closes a response that will not be returned, so its
// connection is reused, and returns the registry's own error message from
// its body, if any.
func discard(resp *http.Response) string {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, discardLimit))
	var e struct {
		Errors []struct{ Code, Message string }
	}
	if json.Unmarshal(body, &e) != nil || len(e.Errors) == 0 {
		return ""
	}
	// Registry-controlled text: one line, printable, short.
	msg := strings.Join(strings.Fields(e.Errors[0].Code+": "+e.Errors[0].Message), " ")
	return diag.Printable(strings.TrimSuffix(msg, ":"), 120)
}

// parseRetryAfter reads delta-seconds or an HTTP-date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Beyond a day is as good as never; this also keeps it from overflowing.
		return time.Duration(min(secs, 86400)) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now).Round(time.Second), 0), true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
