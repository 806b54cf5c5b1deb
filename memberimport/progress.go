package memberimport

import (
	"fmt"
	"strings"
	"time"
)

// progress reports until stop is called: a redrawn bar on a terminal, a plain
// line every ProgressInterval otherwise, and a final report either way.
func (r *run) progress() (stop func()) {
	w := r.cfg.Progress
	if w == nil {
		return func() {}
	}
	interval := r.cfg.ProgressInterval
	if r.cfg.Terminal {
		interval = 200 * time.Millisecond
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				r.report(false)
			case <-done:
				r.report(true)
				return
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func (r *run) report(final bool) {
	total := r.sum.Rows
	imported, rejected, failed := r.imported.Load(), r.rejected.Load(), r.failed.Load()
	skipped := r.skipped.Load()
	doneNow := imported + rejected
	finished := doneNow + skipped
	elapsed := time.Since(r.start)
	rate := float64(doneNow) / elapsed.Seconds()
	eta := "—"
	if rate > 0 && finished < total {
		eta = time.Duration(float64(total-finished) / rate * float64(time.Second)).Round(time.Second).String()
	}
	pct := 100.0
	if total > 0 {
		pct = float64(finished) / float64(total) * 100
	}
	if r.cfg.Terminal {
		const width = 24
		filled := int(pct / 100 * width)
		bar := strings.Repeat("█", filled) + strings.Repeat("░", width-filled)
		fmt.Fprintf(r.cfg.Progress, "\r%5.1f%% %s %d/%d · %.0f/s · ETA %s · rejected %d · failed %d ", pct, bar, finished, total, rate, eta, rejected, failed)
		if final {
			fmt.Fprintln(r.cfg.Progress)
		}
		return
	}
	fmt.Fprintf(r.cfg.Progress, "import: %d/%d rows (%.1f%%), %d imported, %d rejected, %d failed, %.0f rows/s, ETA %s\n",
		finished, total, pct, imported, rejected, failed, rate, eta)
}
