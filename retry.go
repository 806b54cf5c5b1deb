package wxpay

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"
)

// RetryPolicy bounds how a failed call is repeated. Each attempt is signed anew
// (fresh nonce and timestamp) with the same body, so idempotency keys such as
// out_request_no are preserved.
//
// A call is retried on:
//   - a connection failure before the request was sent (dial, DNS): always;
//   - 429 / FREQUENCY_LIMITED / RATELIMIT_EXCEEDED: always (the request was not accepted);
//   - a 5xx / SYSTEM_ERROR / SERVICE_UNAVAILABLE answer, or a connection lost after
//     sending: when the call is idempotent — GET, PUT, PATCH, DELETE, typed POSTs
//     that carry an idempotency key (out_request_no, out_batch_no, …) or issue a
//     token, and Chain POSTs marked with the Idempotent option.
//
// Never on other 4xx answers, nor on a response that fails verification.
type RetryPolicy struct {
	MaxAttempts int           // attempts in total, retries included; 1 disables retries
	BaseDelay   time.Duration // first backoff; doubles each attempt
	MaxDelay    time.Duration // cap on one backoff, Retry-After included
}

// DefaultRetryPolicy: 3 attempts, 200 ms then 400 ms (full jitter), at most 5 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 3, BaseDelay: 200 * time.Millisecond, MaxDelay: 5 * time.Second}
}

// WithRetry sets the retry policy (default DefaultRetryPolicy).
func WithRetry(p RetryPolicy) Option {
	return func(s *settings) error {
		if p.MaxAttempts < 1 || p.MaxAttempts > 10 {
			return fmt.Errorf("%w: retry MaxAttempts must be 1…10, got %d", ErrInvalidConfig, p.MaxAttempts)
		}
		if p.BaseDelay < 0 || p.MaxDelay < p.BaseDelay {
			return fmt.Errorf("%w: retry delays must satisfy 0 <= BaseDelay <= MaxDelay", ErrInvalidConfig)
		}
		s.retry = p
		return nil
	}
}

// backoff is the wait before attempt n+1: full jitter over BaseDelay·2^(n-1),
// raised to Retry-After when the server asked for more, capped by MaxDelay.
func (p RetryPolicy) backoff(n int, retryAfter time.Duration) time.Duration {
	d := p.BaseDelay << (n - 1)
	if d > p.MaxDelay || d <= 0 {
		d = p.MaxDelay
	}
	if d > 0 {
		d = rand.N(d + 1)
	}
	if retryAfter > d {
		d = retryAfter
	}
	if d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d
}

// retryDecision classifies a failed attempt.
func retryDecision(cl *call, resp *Response, err error) (retry, connLevel bool, after time.Duration) {
	var pe *partialError
	if errors.As(err, &pe) {
		return false, false, 0 // the sink holds part of the file
	}
	var te *TransportError
	if errors.As(err, &te) {
		return cl.idempotent || notSent(te.Err), true, 0
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return false, false, 0 // verification failures, local errors, ctx errors
	}
	switch {
	case ae.rateLimited():
		return true, false, retryAfter(ae.Header)
	case ae.serverFailed():
		return cl.idempotent, false, retryAfter(ae.Header)
	}
	return false, false, 0
}

// notSent reports whether a transport error happened before the request left:
// then repeating it cannot duplicate anything.
func notSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// retryAfter reads a Retry-After header in seconds or as an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}
