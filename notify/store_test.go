package notify_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/notify/storetest"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

func TestMemoryStoreConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) (notify.Store, func(time.Duration)) {
		clk := &wxpaytest.Clock{}
		clk.Set(time.Unix(1_700_000_000, 0))
		return notify.NewMemoryStore(clk.Now), clk.Advance
	})
}

// clockedParser is a parser whose verifier allows skew and reads clk.
func clockedParser(t testing.TB, clk *wxpaytest.Clock, skew time.Duration, opts ...notify.Option) *notify.Parser {
	t.Helper()
	v, err := wxpay.NewVerifier(wxpay.WithPlatformPublicKey(testkeys.PublicKeyID, &testkeys.Shared().Platform.PublicKey),
		wxpay.WithClock(clk.Now), wxpay.WithClockSkew(skew))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := wxpay.ParseAPIv3Key(apiV3Key)
	p, err := notify.New(v, k, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A message is remembered for as long as its timestamp passes the skew check,
// whatever the skew: a replay just inside the window is a replay, just outside
// it is stale, and never is it accepted twice. It may first arrive anywhere in
// the window: early (timestamp ahead of the clock by the skew), on time, or
// late; other traffic in between sweeps the store.
func TestReplayRejectedForTheWholeWindow(t *testing.T) {
	t.Parallel()
	ts := time.Unix(1_767_232_800, 0) // whole seconds, as on the wire
	for _, skew := range []time.Duration{time.Second, 5 * time.Minute, 30 * time.Minute, 24 * time.Hour} {
		for _, arrival := range []struct {
			name string
			at   time.Time
		}{{"early", ts.Add(-skew)}, {"on time", ts}, {"late", ts.Add(skew)}} {
			t.Run(skew.String()+"/"+arrival.name, func(t *testing.T) {
				t.Parallel()
				clk := &wxpaytest.Clock{}
				clk.Set(arrival.at)
				p := clockedParser(t, clk, skew)
				m := build{at: ts, eventType: activate.eventType, originalType: "membercard", resource: activate.resource}.message(t)
				if _, err := p.Parse(m.header, m.body); err != nil {
					t.Fatalf("first delivery at %v: %v", arrival.at.Sub(ts), err)
				}
				for _, at := range []time.Time{arrival.at, ts, ts.Add(skew / 2), ts.Add(skew - time.Nanosecond), ts.Add(skew)} {
					if at.Before(arrival.at) {
						continue
					}
					clk.Set(at)
					// Fresh traffic at this instant: it must be accepted, and it
					// lets the store sweep what it thinks expired.
					other := build{at: at.Truncate(time.Second), id: "other", eventType: activate.eventType, originalType: "membercard", resource: activate.resource}.message(t)
					if _, err := p.Parse(other.header, other.body); err != nil {
						t.Fatalf("fresh message at %v: %v", at.Sub(ts), err)
					}
					if _, err := p.Parse(m.header, m.body); !errors.Is(err, notify.ErrReplayed) {
						t.Fatalf("replay at timestamp%+v (skew %v): %v, want ErrReplayed", at.Sub(ts), skew, err)
					}
				}
				clk.Set(ts.Add(skew + time.Nanosecond))
				if _, err := p.Parse(m.header, m.body); !errors.Is(err, wxpay.ErrClockSkew) {
					t.Fatalf("replay just past the window: %v, want ErrClockSkew", err)
				}
				clk.Set(ts.Add(3 * skew))
				if _, err := p.Parse(m.header, m.body); !errors.Is(err, wxpay.ErrClockSkew) {
					t.Fatalf("replay long past the window: %v, want ErrClockSkew", err)
				}
			})
		}
	}
}

// The parser's store may be given its own clock; if it is the verifier's, the
// window is the same.
func TestReplayWindowWithParserClock(t *testing.T) {
	t.Parallel()
	clk := &wxpaytest.Clock{}
	ts := time.Unix(1_767_232_800, 0)
	clk.Set(ts)
	p := clockedParser(t, clk, 30*time.Minute, notify.WithClock(clk.Now))
	m := build{at: ts, eventType: activate.eventType, originalType: "membercard", resource: activate.resource}.message(t)
	if _, err := p.Parse(m.header, m.body); err != nil {
		t.Fatal(err)
	}
	clk.Advance(15 * time.Minute) // the reported case: accepted twice before
	if _, err := p.Parse(m.header, m.body); !errors.Is(err, notify.ErrReplayed) {
		t.Fatalf("replay 15 minutes later with a 30-minute skew: %v", err)
	}
}

// delivery posts m to h and returns the status and the answer's message.
func delivery(t *testing.T, h http.Handler, m message) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/notify", bytes.NewReader(m.body))
	req.Header = m.header.Clone()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var out map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer %q: %v", rec.Body, err)
	}
	return rec.Code, out["message"]
}

func withID(id string) build {
	b := activate
	b.id = id
	return b
}

// The guard with the default store: one run per id across redeliveries,
// another after a failure, none while one is running.
func TestHandlerRunsOncePerID(t *testing.T) {
	t.Parallel()
	p := newParser(t)
	var runs atomic.Int64
	fails := map[string]bool{"fails-once": true}
	var mu sync.Mutex
	entered, proceed := make(chan struct{}), make(chan struct{})
	h := p.Handler(func(ctx context.Context, n *notify.Notification) error {
		runs.Add(1)
		mu.Lock()
		fail := fails[n.ID]
		delete(fails, n.ID)
		mu.Unlock()
		if n.ID == "slow" {
			entered <- struct{}{}
			<-proceed
		}
		if fail {
			return errors.New("first attempt fails")
		}
		return nil
	})
	expect := func(id string, wantStatus int, wantRuns int64) {
		t.Helper()
		before := runs.Load()
		if code, msg := delivery(t, h, withID(id).message(t)); code != wantStatus {
			t.Fatalf("%s: %d %s, want %d", id, code, msg, wantStatus)
		}
		if got := runs.Load() - before; got != wantRuns {
			t.Fatalf("%s: ran %d times, want %d", id, got, wantRuns)
		}
	}
	expect("a", 200, 1)
	expect("a", 200, 0) // a redelivery: new signature, same id
	expect("a", 200, 0)
	expect("fails-once", 500, 1)
	expect("fails-once", 200, 1) // released: runs again
	expect("fails-once", 200, 0)

	// A duplicate while the first delivery runs: 503, so that WeChat Pay
	// comes back once the first has succeeded or failed.
	first := make(chan int)
	go func() {
		code, _ := delivery(t, h, withID("slow").message(t))
		first <- code
	}()
	<-entered
	if code, msg := delivery(t, h, withID("slow").message(t)); code != http.StatusServiceUnavailable || msg == "" {
		t.Errorf("duplicate while running: %d %q, want 503", code, msg)
	}
	close(proceed)
	if code := <-first; code != 200 {
		t.Errorf("first delivery: %d", code)
	}
	expect("slow", 200, 0)
	if runs.Load() != 4 {
		t.Errorf("%d runs in all, want 4", runs.Load())
	}
}

// A function that panics frees the id: the redelivery runs it.
func TestHandlerPanicReleases(t *testing.T) {
	t.Parallel()
	p := newParser(t)
	var runs atomic.Int64
	h := p.Handler(func(ctx context.Context, n *notify.Notification) error {
		if runs.Add(1) == 1 {
			panic("boom")
		}
		return nil
	})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not reach net/http")
			}
		}()
		delivery(t, h, withID("p").message(t))
	}()
	if code, _ := delivery(t, h, withID("p").message(t)); code != 200 || runs.Load() != 2 {
		t.Errorf("after a panic: %d, %d runs", code, runs.Load())
	}
}

// A function that outlasts the answer deadline: WeChat Pay has given up and
// redelivers, but its effects are in place, so the redelivery does not run it.
func TestHandlerOverrunIsRecorded(t *testing.T) {
	t.Parallel()
	p := newParser(t, notify.WithHandlerTimeout(20*time.Millisecond))
	var runs atomic.Int64
	h := p.Handler(func(ctx context.Context, n *notify.Notification) error {
		runs.Add(1)
		<-ctx.Done()
		return nil
	})
	if code, msg := delivery(t, h, withID("o").message(t)); code != 500 {
		t.Errorf("overrun: %d %s", code, msg)
	}
	if code, _ := delivery(t, h, withID("o").message(t)); code != 200 || runs.Load() != 1 {
		t.Errorf("redelivery after an overrun: %d, %d runs", code, runs.Load())
	}
}

// faultyStore fails the operations switched on; the rest goes to a MemoryStore.
type faultyStore struct {
	notify.Store
	mark, claim, complete, release atomic.Int64 // failures left
	completes                      atomic.Int64
}

var errDown = errors.New("dial tcp 10.0.0.7:6379: connection refused")

func (s *faultyStore) Mark(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if s.mark.Add(-1) >= 0 {
		return false, errDown
	}
	return s.Store.Mark(ctx, key, ttl)
}

func (s *faultyStore) Claim(ctx context.Context, id, token string, lease time.Duration) (notify.ClaimStatus, error) {
	if s.claim.Add(-1) >= 0 {
		// As after a lost reply: the claim was taken all the same.
		_, _ = s.Store.Claim(ctx, id, token, lease)
		return 0, errDown
	}
	return s.Store.Claim(ctx, id, token, lease)
}

func (s *faultyStore) Complete(ctx context.Context, id string, retain time.Duration) error {
	s.completes.Add(1)
	if s.complete.Add(-1) >= 0 {
		return errDown
	}
	return s.Store.Complete(ctx, id, retain)
}

func (s *faultyStore) Release(ctx context.Context, id, token string) error {
	if s.release.Add(-1) >= 0 {
		return errDown
	}
	return s.Store.Release(ctx, id, token)
}

// When the store fails, the function is not run: 503, and WeChat Pay delivers
// again. The store's error (addresses) is not echoed.
func TestStoreFailures(t *testing.T) {
	t.Parallel()
	clk := &wxpaytest.Clock{}
	clk.Set(time.Now().Truncate(time.Second))
	s := &faultyStore{Store: notify.NewMemoryStore(clk.Now)}
	p := clockedParser(t, clk, 5*time.Minute, notify.WithStore(s))
	var runs atomic.Int64
	h := p.Handler(func(ctx context.Context, n *notify.Notification) error { runs.Add(1); return nil })
	deliver := func(id string) (int, string) {
		return delivery(t, h, build{at: clk.Now(), id: id, eventType: activate.eventType, originalType: "membercard", resource: activate.resource}.message(t))
	}

	s.mark.Store(1)
	if code, msg := deliver("m"); code != 503 || msg != notify.ErrStore.Error() || runs.Load() != 0 {
		t.Errorf("Mark fails: %d %q, %d runs", code, msg, runs.Load())
	}
	s.claim.Store(1)
	if code, msg := deliver("m"); code != 503 || msg != notify.ErrStore.Error() || runs.Load() != 0 {
		t.Errorf("Claim fails: %d %q, %d runs", code, msg, runs.Load())
	}
	// The claim taken before the error was given back: the next delivery runs.
	if code, _ := deliver("m"); code != 200 || runs.Load() != 1 {
		t.Errorf("after a failed claim: %d, %d runs", code, runs.Load())
	}

	// Complete is retried until it sticks.
	s.complete.Store(3)
	before := s.completes.Load()
	if code, _ := deliver("c"); code != 200 || runs.Load() != 2 || s.completes.Load()-before != 4 {
		t.Errorf("Complete failing thrice: %d, %d runs, %d attempts", code, runs.Load(), s.completes.Load()-before)
	}
	if code, _ := deliver("c"); code != 200 || runs.Load() != 2 {
		t.Errorf("redelivery after a retried Complete: %d, %d runs", code, runs.Load())
	}

	// A release that fails leaves the lease to expire: redeliveries are busy
	// until then, and run after.
	fail := true
	h = p.Handler(func(ctx context.Context, n *notify.Notification) error {
		runs.Add(1)
		if fail {
			fail = false
			return errors.New("fails")
		}
		return nil
	})
	s.release.Store(1)
	if code, _ := deliver("r"); code != 500 || runs.Load() != 3 {
		t.Fatalf("failing run: %d, %d runs", code, runs.Load())
	}
	if code, _ := deliver("r"); code != 503 || runs.Load() != 3 {
		t.Errorf("within the lease: %d, %d runs", code, runs.Load())
	}
	clk.Advance(3*notify.DefaultHandlerTimeout + time.Nanosecond) // the default lease
	if code, _ := deliver("r"); code != 200 || runs.Load() != 4 {
		t.Errorf("after the lease: %d, %d runs", code, runs.Load())
	}
}

func TestNewValidatesLease(t *testing.T) {
	t.Parallel()
	v, _ := wxpay.NewVerifier(wxpay.WithPlatformPublicKey(testkeys.PublicKeyID, &testkeys.Shared().Platform.PublicKey))
	k, _ := wxpay.ParseAPIv3Key(apiV3Key)
	for _, opts := range [][]notify.Option{
		{notify.WithLease(5 * time.Second)},
		{notify.WithHandlerTimeout(20 * time.Second), notify.WithLease(10 * time.Second)},
		{notify.WithRetention(0)},
		{notify.WithLease(-time.Second)},
	} {
		if _, err := notify.New(v, k, opts...); !errors.Is(err, wxpay.ErrInvalidConfig) {
			t.Errorf("%d options: %v, want ErrInvalidConfig", len(opts), err)
		}
	}
	if _, err := notify.New(v, k, notify.WithHandlerTimeout(20*time.Second)); err != nil {
		t.Errorf("the default lease follows the timeout: %v", err)
	}
}
