package replay

import (
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	t.Parallel()
	var c Cache
	t0 := time.Unix(1_700_000_000, 0)
	if !c.Remember("a", t0, time.Minute) || c.Remember("a", t0.Add(time.Second), time.Minute) {
		t.Fatal("a second sighting within the window must be refused")
	}
	if !c.Remember("b", t0.Add(30*time.Second), time.Minute) {
		t.Fatal("b is new")
	}
	// After the window a sweep forgets a; b is still young enough to be kept.
	if !c.Remember("c", t0.Add(61*time.Second), time.Minute) || c.Len() != 2 {
		t.Fatalf("after the window: %d keys, want b and c", c.Len())
	}
	if !c.Remember("a", t0.Add(62*time.Second), time.Minute) {
		t.Fatal("a forgotten key is new again")
	}
}

// A key is refused up to and including its expiry, whatever the span, and
// new one nanosecond later, swept or not.
func TestRememberUntilEdges(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	for _, span := range []time.Duration{time.Second, 5 * time.Minute, 30 * time.Minute, 24 * time.Hour} {
		var c Cache
		until := t0.Add(2 * span)
		if !c.RememberUntil("k", t0, until) {
			t.Fatalf("%v: first sighting refused", span)
		}
		for _, at := range []time.Time{t0, t0.Add(span), until.Add(-time.Nanosecond), until} {
			if c.RememberUntil("k", at, at.Add(time.Second)) {
				t.Errorf("%v: accepted again at +%v, before its expiry", span, at.Sub(t0))
			}
		}
		if !c.RememberUntil("k", until.Add(time.Nanosecond), until.Add(time.Hour)) {
			t.Errorf("%v: still refused after its expiry", span)
		}
	}
}

// Sweeps keep memory to the keys of one window.
func TestSweepBoundsMemory(t *testing.T) {
	t.Parallel()
	var c Cache
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 10_000 {
		now := t0.Add(time.Duration(i) * 100 * time.Millisecond)
		c.RememberUntil(string(rune(i)), now, now.Add(10*time.Second))
	}
	// 100 keys a window of 10 s, swept every 2.5 s: at most ~125 remain.
	if n := c.Len(); n > 130 {
		t.Errorf("%d keys remembered, want about one window's worth", n)
	}
}
