package emulator

import (
	"net/http"
	"sync"
	"time"

	"github.com/wxpaykit/wxpay/internal/apispec"
)

// Fault describes misbehaviour to inject. Rates are probabilities in [0, 1]
// drawn from the emulator's seeded source. Faults that refuse a call (drop,
// error, rate limit) fire before any state changes, as the real service's do.
type Fault struct {
	ErrorRate float64       // answer 500 SYSTEM_ERROR
	QPS       int           // per merchant; over budget answer 429 FREQUENCY_LIMITED
	Latency   time.Duration // wait before answering (honours the request's context)
	DropRate  float64       // close the connection without answering
	// DropAfterCommitRate processes the call (state changes) and then closes the
	// connection: the client cannot tell whether it succeeded.
	DropAfterCommitRate float64
	TamperRate          float64       // answer correctly with a broken signature
	SkewSignature       time.Duration // sign with a timestamp this far off
}

// faultTable maps targets (operation ID, path template, or "*") to faults.
type faultTable struct {
	mu      sync.Mutex
	faults  map[string]*Fault
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// SetFault installs f for target: an operation ID (ImportMembercardUser), a path
// template (/v3/marketing/membercard-open/cards/{card_id}/users/import) or "*" for
// every operation. The most specific target wins.
func (e *Emulator) SetFault(target string, f Fault) {
	e.faults.mu.Lock()
	defer e.faults.mu.Unlock()
	if e.faults.faults == nil {
		e.faults.faults = map[string]*Fault{}
		e.faults.buckets = map[string]*bucket{}
	}
	e.faults.faults[target] = &f
}

// ClearFaults removes every fault.
func (e *Emulator) ClearFaults() {
	e.faults.mu.Lock()
	defer e.faults.mu.Unlock()
	e.faults.faults = nil
	e.faults.buckets = nil
}

func (t *faultTable) lookup(op *apispec.Operation) *Fault {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range []string{op.ID, op.Path, "*"} {
		if f := t.faults[k]; f != nil {
			return f
		}
	}
	return nil
}

// allow takes a token from the merchant's bucket for this operation.
func (t *faultTable) allow(key string, qps int, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(qps), last: now}
		t.buckets[key] = b
	}
	b.tokens += now.Sub(b.last).Seconds() * float64(qps)
	if b.tokens > float64(qps) {
		b.tokens = float64(qps)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// preFault applies the faults that act before the call is processed. handled
// is true when the call ends here; status 0 means the connection was dropped.
func (e *Emulator) preFault(req *request, f *Fault) (answer, bool) {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-req.r.Context().Done():
			t.Stop()
			return answer{}, true
		}
	}
	if f.DropRate > 0 && e.float() < f.DropRate {
		dropConnection(req.w)
		return answer{}, true
	}
	if f.ErrorRate > 0 && e.float() < f.ErrorRate {
		return apiError(http.StatusInternalServerError, "SYSTEM_ERROR", "系统异常，请稍后重试", nil), true
	}
	if f.QPS > 0 && !e.faults.allow(req.op.ID+"\x00"+req.mchID, f.QPS, e.now()) {
		return apiError(http.StatusTooManyRequests, "FREQUENCY_LIMITED", "请求频率超过限制，请稍后重试", nil), true
	}
	return answer{}, false
}
