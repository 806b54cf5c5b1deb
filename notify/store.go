package notify

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wxpaykit/wxpay/internal/replay"
)

// ErrStore: the Store failed, so the notification could be neither checked for
// a replay nor guarded against a second run. The handler answers 503: WeChat
// Pay delivers it again later, and the function is not called unguarded.
var ErrStore = errors.New("notify: notification store unavailable")

// Store keeps what a Parser must remember about notifications: the messages
// already accepted (to reject replays) and, per notification id, whether it
// was handled or is being handled (to run the function once per id). Several
// Parsers sharing one Store (one per instance behind a load balancer) act as
// one. The default is a MemoryStore private to the Parser; the module
// github.com/wxpaykit/wxpay/notify/redisstore shares one Redis.
//
// Every record carries a TTL; a store may keep a record longer, never shorter.
// Each method is one atomic step, safe for concurrent use from many processes.
// ids are notification ids as received (about 36 bytes, but not promised: a
// store bounds its keys, for example by hashing long ones); keys are short
// digests. A method that returns an error may or may not have taken effect.
type Store interface {
	// Mark records key for ttl and reports whether it was new: false while an
	// earlier Mark of key is remembered.
	Mark(ctx context.Context, key string, ttl time.Duration) (fresh bool, err error)
	// Claim takes the lease on id for token, to expire after lease unless
	// completed or released. It reports Claimed when the lease is the
	// caller's (a second Claim with the same token while it holds answers
	// Claimed again, so that a retried call is safe), Handled when id was
	// completed, and Busy while another token holds an unexpired lease.
	Claim(ctx context.Context, id, token string, lease time.Duration) (ClaimStatus, error)
	// Complete records id as handled for retain, replacing any lease.
	Complete(ctx context.Context, id string, retain time.Duration) error
	// Release drops the lease on id if token holds it; otherwise (completed,
	// expired, another holder) it does nothing.
	Release(ctx context.Context, id, token string) error
}

// ClaimStatus is the outcome of Store.Claim.
type ClaimStatus int

const (
	// Claimed: the caller holds the lease and runs the function.
	Claimed ClaimStatus = iota + 1
	// Handled: a function run for this id completed; answer success, run nothing.
	Handled
	// Busy: another delivery holds the lease and may still succeed or fail;
	// answer failure so that WeChat Pay delivers again later.
	Busy
)

func (s ClaimStatus) String() string {
	switch s {
	case Claimed:
		return "Claimed"
	case Handled:
		return "Handled"
	case Busy:
		return "Busy"
	}
	return "ClaimStatus(?)"
}

// MemoryStore is a Store in this process's memory: what notify.New uses
// without WithStore. It suits a single instance; its state dies with the
// process (a redelivery after a restart runs the function again).
type MemoryStore struct {
	now   func() time.Time
	marks replay.Cache

	mu        sync.Mutex
	ids       map[string]idState
	nextSweep time.Time
}

type idState struct {
	token   string // "" once handled
	expires time.Time
}

// NewMemoryStore returns an empty MemoryStore whose TTLs run on now (nil:
// time.Now).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, ids: map[string]idState{}}
}

// Mark implements Store.
func (s *MemoryStore) Mark(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	now := s.now()
	return s.marks.RememberUntil(key, now, now.Add(ttl)), nil
}

// Claim implements Store.
func (s *MemoryStore) Claim(ctx context.Context, id, token string, lease time.Duration) (ClaimStatus, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	if st, ok := s.ids[id]; ok && !now.After(st.expires) {
		switch st.token {
		case "":
			return Handled, nil
		case token:
			return Claimed, nil
		}
		return Busy, nil
	}
	s.ids[id] = idState{token: token, expires: now.Add(lease)}
	return Claimed, nil
}

// Complete implements Store.
func (s *MemoryStore) Complete(ctx context.Context, id string, retain time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ids[id] = idState{expires: now.Add(retain)}
	return nil
}

// Release implements Store.
func (s *MemoryStore) Release(ctx context.Context, id, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.ids[id]; ok && st.token != "" && st.token == token {
		delete(s.ids, id)
	}
	return nil
}

// sweep forgets expired ids, at most once a minute.
func (s *MemoryStore) sweep(now time.Time) {
	if now.Before(s.nextSweep) {
		return
	}
	for id, st := range s.ids {
		if now.After(st.expires) {
			delete(s.ids, id)
		}
	}
	s.nextSweep = now.Add(time.Minute)
}
