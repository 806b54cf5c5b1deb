// Package replay remembers recently seen message identifiers (a nonce, a nonce
// and signature) to reject replays, forgetting them once they are old enough to
// fail a timestamp check anyway. The emulator uses it for request nonces, the
// notify package for notifications.
package replay

import (
	"sync"
	"time"
)

// Cache is a set of keys with their time, safe for concurrent use. The zero
// value is ready to use.
type Cache struct {
	mu        sync.Mutex
	seen      map[string]int64
	lastSweep int64
}

// Remember records key at now and reports whether it was new. Keys older than
// keep are forgotten, in sweeps every keep/4.
func (c *Cache) Remember(key string, now time.Time, keep time.Duration) bool {
	n := now.Unix()
	k := int64(keep / time.Second)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = map[string]int64{}
	}
	if n-c.lastSweep > k/4 {
		for key, t := range c.seen {
			if n-t > k {
				delete(c.seen, key)
			}
		}
		c.lastSweep = n
	}
	if _, dup := c.seen[key]; dup {
		return false
	}
	c.seen[key] = n
	return true
}

// Len is the number of remembered keys.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}
