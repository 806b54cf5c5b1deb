package wxpay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync/atomic"
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

// Idempotent marks a Chain call as safe to repeat after an unknown outcome (a
// 5xx, a dropped connection), typically because its body carries an idempotency
// key. Typed calls know this from the spec.
func Idempotent() CallOption {
	return func(c *callConfig) { c.idempotent = true }
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

// FailoverPolicy describes the backup domain. WeChat Pay serves every API on
// api2.mch.weixin.qq.com too, from another city.
//
// The client switches to the backup when an attempt on the primary fails at the
// connection level — no HTTP answer at all: refused, reset, DNS failure, TLS
// failure, timeout. It never switches on an HTTP answer, whatever the status:
// the primary is reachable then. While switched, every call goes to the backup;
// after Cooldown the next call tries the primary again, and a new connection
// failure there switches back for another Cooldown. A retry after such a failure
// already goes to the backup within the same call.
type FailoverPolicy struct {
	BackupURL string        // "" disables failover
	Cooldown  time.Duration // how long to stay on the backup (default 1 minute)
}

// DefaultFailoverCooldown is how long the client stays on the backup domain.
const DefaultFailoverCooldown = time.Minute

// WithBackupURL sets the backup base URL, or disables failover with "". It
// defaults to DefaultBackupURL when the base URL is the default.
func WithBackupURL(u string) Option {
	return func(s *settings) error {
		s.failover.BackupURL, s.backupSet = u, true
		return nil
	}
}

// WithFailover sets the whole failover policy.
func WithFailover(p FailoverPolicy) Option {
	return func(s *settings) error {
		if p.Cooldown < 0 {
			return fmt.Errorf("%w: failover cooldown must not be negative", ErrInvalidConfig)
		}
		s.failover, s.backupSet = p, true
		return nil
	}
}

// WithLogger logs one line per attempt: method, path, status, code, request id,
// attempt and duration. Authorization, keys and plaintext never appear.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		s.logger = l
		return nil
	}
}

// domains tracks which base URL to use.
type domains struct {
	primary, backup *url.URL // backup nil: no failover
	cooldown        time.Duration
	downUntil       atomic.Int64 // unix nanoseconds until which the primary is avoided
	switches        atomic.Int64
}

// pick returns the base URL for the next attempt.
func (d *domains) pick(now time.Time) *url.URL {
	if d.backup != nil && now.UnixNano() < d.downUntil.Load() {
		return d.backup
	}
	return d.primary
}

// failed records a connection-level failure on base.
func (d *domains) failed(base *url.URL, now time.Time) {
	if d.backup == nil || base != d.primary {
		return
	}
	d.downUntil.Store(now.Add(d.cooldown).UnixNano())
	d.switches.Add(1)
}

// retryDecision classifies a failed attempt.
func retryDecision(cl *call, resp *Response, err error) (retry, connLevel bool, after time.Duration) {
	var te *TransportError
	if errors.As(err, &te) {
		return cl.idempotent || notSent(te.Err), true, 0
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		return false, false, 0 // verification failures, local errors, ctx errors
	}
	after = retryAfter(ae.Header)
	switch {
	case ae.StatusCode == http.StatusTooManyRequests || ae.Code == "FREQUENCY_LIMITED" || ae.Code == "RATELIMIT_EXCEEDED":
		return true, false, after
	case ae.StatusCode >= 500 || ae.Code == "SYSTEM_ERROR" || ae.Code == "SERVICE_UNAVAILABLE":
		return cl.idempotent, false, after
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

// logAttempt writes the per-attempt line.
func (c *Client) logAttempt(ctx context.Context, cl *call, base *url.URL, attempt int, start time.Time, resp *Response, err error) {
	if c.logger == nil {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.String("method", cl.method),
		slog.String("path", cl.path),
		slog.String("host", base.Host),
		slog.Int("attempt", attempt),
		slog.Duration("duration", time.Since(start)),
	)
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("request_id", resp.RequestID))
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		var ae *APIError
		if errors.As(err, &ae) {
			attrs = append(attrs, slog.String("code", ae.Code))
		}
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.logger.LogAttrs(ctx, level, "wxpay request", attrs...)
}
