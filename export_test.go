package wxpay

import "time"

// SetRenewalTimer replaces the timer of c's certificate-renewal schedule with
// after, so that a test decides when the next scheduled download happens; the
// schedule asks for its next delay once the previous download has finished.
// Call it before the client is first used.
func SetRenewalTimer(c *Client, after func(time.Duration) <-chan time.Time) {
	c.renewal.after = func(d time.Duration) (<-chan time.Time, func() bool) { return after(d), func() bool { return true } }
}
