// Package ctxwait waits for a duration or until a context is done.
package ctxwait

import (
	"context"
	"time"
)

// Sleep waits d, returning early with ctx's error when ctx is done first.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
