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
