package wxpay

import (
	"net/http"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	p := RetryPolicy{MaxAttempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second}
	for n := 1; n <= 4; n++ {
		for range 200 {
			d := p.backoff(n, 0)
			if ceil := p.BaseDelay << (n - 1); d < 0 || d > ceil {
				t.Fatalf("attempt %d: %s outside [0, %s]", n, d, ceil)
			}
		}
	}
	if d := p.backoff(1, 1500*time.Millisecond); d != 1500*time.Millisecond {
		t.Errorf("Retry-After 1.5s: waited %s", d)
	}
	if d := p.backoff(1, time.Minute); d != p.MaxDelay {
		t.Errorf("Retry-After 1m: waited %s, want the cap %s", d, p.MaxDelay)
	}
	if d := (RetryPolicy{MaxAttempts: 2}).backoff(3, 0); d != 0 {
		t.Errorf("zero delays: %s", d)
	}
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]time.Duration{"": 0, "3": 3 * time.Second, "-1": 0, "soon": 0} {
		if got := retryAfter(http.Header{"Retry-After": {v}}); got != want {
			t.Errorf("Retry-After %q = %s, want %s", v, got, want)
		}
	}
	date := time.Now().Add(10 * time.Second).UTC().Format(http.TimeFormat)
	if got := retryAfter(http.Header{"Retry-After": {date}}); got < 8*time.Second || got > 10*time.Second {
		t.Errorf("Retry-After date: %s", got)
	}
}
