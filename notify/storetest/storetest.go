// Package storetest checks that a notify.Store keeps the contract the notify
// handler relies on: marks are fresh once, a claim is held by one token at a
// time, completion is final, release frees only the holder's lease. Both the
// in-memory store and the Redis store run it; so can any other.
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) (notify.Store, func(time.Duration)) {
//			return newEmptyStore(t), nil // nil: the store's clock cannot be moved; expiry is not tested
//		})
//	}
package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay/notify"
)

// NewStore returns an empty store and, if its clock can be moved by hand, a
// function that moves it forward (nil otherwise).
type NewStore func(t *testing.T) (s notify.Store, advance func(time.Duration))

// Run runs the conformance tests, each on a store of its own.
func Run(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	t.Run("MarkOnce", func(t *testing.T) {
		s, _ := newStore(t)
		for i, want := range []bool{true, false, false} {
			fresh, err := s.Mark(ctx, "k1", time.Hour)
			if err != nil || fresh != want {
				t.Fatalf("Mark #%d = %v, %v; want %v", i+1, fresh, err, want)
			}
		}
		if fresh, err := s.Mark(ctx, "k2", time.Hour); err != nil || !fresh {
			t.Fatalf("another key: %v, %v", fresh, err)
		}
	})
	t.Run("ClaimCompleteRelease", func(t *testing.T) {
		s, _ := newStore(t)
		claim := func(id, token string, want notify.ClaimStatus) {
			t.Helper()
			if st, err := s.Claim(ctx, id, token, time.Minute); err != nil || st != want {
				t.Fatalf("Claim(%s, %s) = %v, %v; want %v", id, token, st, err, want)
			}
		}
		claim("id1", "a", notify.Claimed)
		claim("id1", "a", notify.Claimed) // a retried call by the holder
		claim("id1", "b", notify.Busy)
		must(t, s.Release(ctx, "id1", "b")) // not b's: nothing happens
		claim("id1", "b", notify.Busy)
		must(t, s.Release(ctx, "id1", "a"))
		claim("id1", "b", notify.Claimed) // free again after a failed run
		must(t, s.Complete(ctx, "id1", time.Hour))
		claim("id1", "b", notify.Handled)
		claim("id1", "c", notify.Handled)
		must(t, s.Release(ctx, "id1", "b")) // completion is final
		claim("id1", "c", notify.Handled)
		claim("id2", "c", notify.Claimed) // ids are independent
		must(t, s.Release(ctx, "nobody", "x"))
	})
	t.Run("CompleteReplacesAnotherLease", func(t *testing.T) {
		// A holder whose lease expired completes after another claimed: the
		// work is done, and the other's release must not undo that.
		s, _ := newStore(t)
		if st, err := s.Claim(ctx, "id", "late", time.Minute); err != nil || st != notify.Claimed {
			t.Fatal(st, err)
		}
		must(t, s.Release(ctx, "id", "late"))
		if st, err := s.Claim(ctx, "id", "other", time.Minute); err != nil || st != notify.Claimed {
			t.Fatal(st, err)
		}
		must(t, s.Complete(ctx, "id", time.Hour))
		must(t, s.Release(ctx, "id", "other"))
		if st, err := s.Claim(ctx, "id", "third", time.Minute); err != nil || st != notify.Handled {
			t.Fatalf("after Complete: %v, %v", st, err)
		}
	})
	t.Run("LongAndOddIDs", func(t *testing.T) {
		s, _ := newStore(t)
		long := string(make([]byte, 4096))
		for _, id := range []string{long, long + "x", "a:b", "a b", "中文", "*", "h:x"} {
			if st, err := s.Claim(ctx, id, "t", time.Minute); err != nil || st != notify.Claimed {
				t.Fatalf("Claim(%.20q) = %v, %v: ids must not collide", id, st, err)
			}
		}
	})
	t.Run("OneClaimantOfMany", func(t *testing.T) {
		s, _ := newStore(t)
		const n = 32
		var claimed, busy atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, err := s.Claim(ctx, "race", fmt.Sprint("t", i), time.Minute)
				switch {
				case err != nil:
					t.Error(err)
				case st == notify.Claimed:
					claimed.Add(1)
				case st == notify.Busy:
					busy.Add(1)
				}
			}()
		}
		close(start)
		wg.Wait()
		if claimed.Load() != 1 || busy.Load() != n-1 {
			t.Errorf("%d claimed, %d busy; want 1 and %d", claimed.Load(), busy.Load(), n-1)
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		s, _ := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := s.Mark(cctx, "k", time.Hour); err == nil {
			t.Error("Mark with a cancelled context succeeded")
		}
		if _, err := s.Claim(cctx, "id", "t", time.Minute); err == nil {
			t.Error("Claim with a cancelled context succeeded")
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		s, advance := newStore(t)
		if advance == nil {
			t.Skip("the store's clock cannot be moved: expiry is checked by the store's own tests")
		}
		if fresh, _ := s.Mark(ctx, "k", 10*time.Second); !fresh {
			t.Fatal("not fresh")
		}
		if st, _ := s.Claim(ctx, "leased", "a", 10*time.Second); st != notify.Claimed {
			t.Fatal(st)
		}
		if st, _ := s.Claim(ctx, "done", "a", 10*time.Second); st != notify.Claimed {
			t.Fatal(st)
		}
		must(t, s.Complete(ctx, "done", 20*time.Second))
		advance(10 * time.Second) // the edge: still held
		if fresh, _ := s.Mark(ctx, "k", time.Second); fresh {
			t.Error("mark forgotten at its TTL, not after")
		}
		if st, _ := s.Claim(ctx, "leased", "b", time.Second); st != notify.Busy {
			t.Errorf("lease at its TTL: %v, want Busy", st)
		}
		advance(time.Millisecond)
		if fresh, _ := s.Mark(ctx, "k", time.Second); !fresh {
			t.Error("mark kept past its TTL")
		}
		if st, _ := s.Claim(ctx, "leased", "b", time.Second); st != notify.Claimed {
			t.Errorf("expired lease: %v, want Claimed", st)
		}
		if st, _ := s.Claim(ctx, "done", "b", time.Second); st != notify.Handled {
			t.Errorf("completed id within its retention: %v, want Handled", st)
		}
		advance(10 * time.Second)
		if st, _ := s.Claim(ctx, "done", "c", time.Second); st != notify.Claimed {
			t.Errorf("completed id past its retention: %v, want Claimed", st)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
