// Package replay remembers recently seen message identifiers (a nonce, a nonce
// and signature) to reject replays, forgetting each once it is old enough to
// fail a timestamp check anyway. The emulator uses it for request nonces, the
// notify package's in-memory store for notifications.
//
// How long to remember is the caller's to get right, and the rule is: until the
// message's timestamp plus the allowed skew, on the clock the skew check uses.
// RememberUntil takes exactly that; Remember, a span from now, is right only
// when the span covers it (twice the skew does: a message is accepted at the
// earliest at its timestamp minus the skew).
package replay

import (
	"sync"
	"time"
)

// Cache is a set of keys with their expiry, safe for concurrent use. The zero
// value is ready to use.
type Cache struct {
	mu        sync.Mutex
	seen      map[string]int64 // key → expiry, Unix nanoseconds
	nextSweep int64
}

// Remember records key until now+keep and reports whether it was new.
func (c *Cache) Remember(key string, now time.Time, keep time.Duration) bool {
	return c.RememberUntil(key, now, now.Add(keep))
}

// RememberUntil records key until the instant until (inclusive) and reports
// whether it was new: false while an earlier record of key has not expired.
// Expired keys are forgotten in sweeps, every quarter of the span (at least a
// second), so memory follows the traffic of one window.
func (c *Cache) RememberUntil(key string, now, until time.Time) bool {
	n, u := now.UnixNano(), until.UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]int64{}
	}
	if n >= c.nextSweep {
		for k, exp := range c.seen {
			if exp < n {
				delete(c.seen, k)
			}
		}
		c.nextSweep = n + max((u-n)/4, int64(time.Second))
	}
	if exp, dup := c.seen[key]; dup && exp >= n {
		return false
	}
	c.seen[key] = u
	return true
}

// Len is the number of remembered keys, expired ones not yet swept included.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
