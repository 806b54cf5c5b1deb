package wxpay

import (
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// FailoverPolicy describes the backup domain. WeChat Pay serves every API on
// api2.mch.weixin.qq.com too, from another city.
//
// The client switches to the backup when an attempt on the primary fails at the
// connection level — no HTTP answer at all: refused, reset, DNS failure, TLS
// failure, timeout. It never switches on an HTTP answer, whatever the status:
// the primary is reachable then. Nor does a request that failed before it was
// sent (an invalid header, say) count: that is the request's fault, not the
// domain's. While switched, every call goes to the backup; after Cooldown the
// next call tries the primary again, and a new connection failure there
// switches back for another Cooldown. A retry after such a failure already goes
// to the backup within the same call.
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

// domains tracks which base URL to use.
type domains struct {
	primary, backup *url.URL // backup nil: no failover
	cooldown        time.Duration
	downUntil       atomic.Int64 // unix nanoseconds until which the primary is avoided
}

// domains builds the base URLs from the settings.
func (s *settings) domains() (*domains, error) {
	base, err := parseBaseURL("base URL", s.baseURL)
	if err != nil {
		return nil, err
	}
	d := &domains{primary: base, cooldown: s.failover.Cooldown}
	if d.cooldown == 0 {
		d.cooldown = DefaultFailoverCooldown
	}
	backup := s.failover.BackupURL
	if !s.backupSet && s.baseURL == DefaultBaseURL {
		backup = DefaultBackupURL
	}
	if backup != "" {
		if d.backup, err = parseBaseURL("backup URL", backup); err != nil {
			return nil, err
		}
		if d.backup.String() == base.String() {
			return nil, fmt.Errorf("%w: the backup URL is the base URL", ErrInvalidConfig)
		}
	}
	return d, nil
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
}

// relative returns the APIv3 path of an absolute URL on the primary or the
// backup domain (the part a request signs), and false for any other URL.
func (d *domains) relative(u *url.URL) (string, bool) {
	for _, base := range []*url.URL{d.primary, d.backup} {
		if base == nil || u.Scheme != base.Scheme || u.Host != base.Host || u.User != nil || u.Fragment != "" {
			continue
		}
		if p, ok := strings.CutPrefix(u.EscapedPath(), base.EscapedPath()); ok {
			return p, true
		}
	}
	return "", false
}
