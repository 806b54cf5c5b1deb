// Package redisstore keeps notify's replay marks and handled notification ids
// in Redis, so that the instances of a service behind a load balancer reject
// each other's replays and run the notification function once per id between
// them. It is a module of its own: the wxpay module does not depend on a
// Redis client.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379",
//		DialTimeout: time.Second, ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
//	parser, err := notify.New(client.Verifier(), apiV3Key, notify.WithStore(redisstore.New(rdb)))
//	http.Handle("/wxpay/notify", parser.Handler(handle))
//
// # Deployment
//
// Every instance points at the same Redis (a single server, a primary with
// Sentinel, or a cluster: every operation touches one key). Keys are under a
// prefix ("wxpay:notify:" unless WithPrefix says otherwise), each with a TTL:
//
//	wxpay:notify:mark:<digest>  a message seen: until its timestamp + the skew (+1 s)
//	wxpay:notify:id:<id>        "lease:<token>" while a delivery runs (15 s by default),
//	                            then "done" for the retention (48 h by default)
//
// Ids longer than 64 bytes or with characters outside [A-Za-z0-9._-] are
// replaced by their SHA-256, so keys stay short whatever arrives. A key takes
// about 150 bytes: a million notifications a day keep some 300 MB (the ids of
// two days, the marks of minutes).
//
// When Redis is down or slow the handler answers 503 and WeChat Pay delivers
// again later; the function is never run unguarded. Give the client timeouts
// well under the 5 s answer deadline, as above, so that the 503 comes in time.
//
// What Redis acknowledged must survive it: run it with appendonly yes and
// appendfsync always (everysec can lose the last second on a crash), and with
// maxmemory-policy noeviction (a policy that evicts keys with a TTL would drop
// marks; noeviction refuses writes instead, which the handler turns into 503).
// A lost "done" or lease lets a redelivery run the function again, and a lost
// mark lets a replay within its window through to the id guard: at-least-once,
// the same as when an instance dies between the function's success and its
// completion being recorded. Replication is asynchronous, so a failover can
// lose the last writes the same way.
package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxpaykit/wxpay/notify"
)

// DefaultPrefix starts every key.
const DefaultPrefix = "wxpay:notify:"

// Store is a notify.Store in Redis. It is safe for concurrent use.
type Store struct {
	c      redis.UniversalClient
	prefix string
}

var _ notify.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the key prefix (default DefaultPrefix), to keep services or
// merchants that share a Redis apart. Instances that must act as one share it.
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// New returns a Store on c (a *redis.Client, *redis.ClusterClient or a
// failover client). The caller keeps c and closes it.
func New(c redis.UniversalClient, opts ...Option) *Store {
	s := &Store{c: c, prefix: DefaultPrefix}
	for _, o := range opts {
		o(s)
	}
	return s
}

const (
	leasePrefix = "lease:"
	done        = "done"
)

// claim takes the lease unless the id is done or leased to another token; a
// retried claim by the holder is Claimed again.
var claim = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return 1
end
if v == ARGV[1] then return 1 end
if v == 'done' then return 2 end
return 3
`)

// release deletes the lease only if it is still the caller's.
var release = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// Mark implements notify.Store with SET NX PX.
func (s *Store) Mark(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	fresh, err := s.c.SetNX(ctx, s.prefix+"mark:"+bounded(key), "1", ceilMillis(ttl)).Result()
	if err != nil {
		return false, fmt.Errorf("redisstore: mark: %w", err)
	}
	return fresh, nil
}

// Claim implements notify.Store with a script: GET, then SET PX if absent.
func (s *Store) Claim(ctx context.Context, id, token string, lease time.Duration) (notify.ClaimStatus, error) {
	r, err := claim.Run(ctx, s.c, []string{s.idKey(id)}, leasePrefix+token, ceilMillis(lease).Milliseconds()).Int()
	if err != nil {
		return 0, fmt.Errorf("redisstore: claim: %w", err)
	}
	switch r {
	case 1:
		return notify.Claimed, nil
	case 2:
		return notify.Handled, nil
	case 3:
		return notify.Busy, nil
	}
	return 0, fmt.Errorf("redisstore: claim: unexpected answer %d", r)
}

// Complete implements notify.Store with SET PX: "done" replaces any lease.
func (s *Store) Complete(ctx context.Context, id string, retain time.Duration) error {
	if err := s.c.Set(ctx, s.idKey(id), done, ceilMillis(retain)).Err(); err != nil {
		return fmt.Errorf("redisstore: complete: %w", err)
	}
	return nil
}

// Release implements notify.Store with a compare-and-delete script.
func (s *Store) Release(ctx context.Context, id, token string) error {
	if err := release.Run(ctx, s.c, []string{s.idKey(id)}, leasePrefix+token).Err(); err != nil {
		return fmt.Errorf("redisstore: release: %w", err)
	}
	return nil
}

func (s *Store) idKey(id string) string { return s.prefix + "id:" + bounded(id) }

// bounded returns s if it is short and plain, else "~" and its SHA-256 ("~" is
// not plain, so the two never meet).
func bounded(s string) string {
	if len(s) > 0 && len(s) <= 64 {
		plain := true
		for i := 0; i < len(s) && plain; i++ {
			c := s[i]
			plain = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-'
		}
		if plain {
			return s
		}
	}
	sum := sha256.Sum256([]byte(s))
	return "~" + base64.RawURLEncoding.EncodeToString(sum[:])
}

// ceilMillis rounds d up to whole milliseconds, at least one: Redis TTLs are
// milliseconds, and a record may be kept longer, never shorter.
func ceilMillis(d time.Duration) time.Duration {
	return max(time.Millisecond, (d+time.Millisecond-1)/time.Millisecond*time.Millisecond)
}
