package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/notify/redisstore"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// soak sizes a cluster run: the default fits in seconds, WXPAY_LONG=1 asks for
// the long one.
type soak struct {
	n        int // notifications
	lostAcks int // redeliveries of each after its success, as when the 200 is lost
	replays  int // exact replays of every message at the end (one more right after each)
	restarts int // Redis kills and restarts, spread over the run
	workers  int // notifications in flight at once
}

func soakSize() soak {
	if os.Getenv("WXPAY_LONG") == "1" {
		return soak{n: 2000, lostAcks: 3, replays: 3, restarts: 3, workers: 24}
	}
	return soak{n: 200, lostAcks: 2, replays: 2, restarts: 1, workers: 12}
}

// answer classes of the handler
type outcome int

const (
	acked      outcome = iota // 200
	failed                    // 500: the function failed
	busy                      // 503: another delivery holds the id
	storeDown                 // 503: the store failed
	replayed                  // 401 replayed
	stale                     // 401 outside the clock skew: a replay after its window
	otherError                // anything else: a bug
)

func classify(status int, msg string) outcome {
	switch {
	case status == http.StatusOK:
		return acked
	case status == http.StatusInternalServerError:
		return failed
	case status == http.StatusServiceUnavailable && msg == notify.ErrStore.Error():
		return storeDown
	case status == http.StatusServiceUnavailable:
		return busy
	case status == http.StatusUnauthorized && strings.Contains(msg, "replayed"):
		return replayed
	case status == http.StatusUnauthorized && strings.Contains(msg, "clock skew"):
		return stale
	}
	return otherError
}

// message is one delivery as sent: its bytes and the answer it got.
type message struct {
	i      int
	header http.Header
	body   []byte
	first  outcome
}

// cluster is WeChat Pay (the driver), a round-robin proxy, three instances
// sharing one Redis, and the counters.
type cluster struct {
	t     *testing.T
	cfg   soak
	srv   *wxpaytest.Server
	rs    *redisServer
	proxy *httptest.Server
	hc    *http.Client

	ids       []string
	index     map[string]int
	originals []*emulator.Notification
	failFirst []bool // the first run of the id fails
	hold      []bool // the first run waits until a duplicate was answered busy
	started   []chan struct{}
	proceed   []chan struct{}

	runs, completions, inflight   []atomic.Int64
	perInstance                   [3]atomic.Int64
	totalRuns, failures, overlaps atomic.Int64

	ackedFlag []atomic.Bool
	ackCount  atomic.Int64
	milestone []chan struct{} // closed as acknowledgements reach each restart point
	down      atomic.Bool
	downSeen  chan struct{} // a store failure was answered while Redis was down
	downOnce  atomic.Pointer[sync.Once]

	mu       sync.Mutex
	messages []*message

	// Answers, by class: deliveries (new signature each) and live replays.
	deliveries, liveReplays [otherError + 1]atomic.Int64
	busyWhileHeld           atomic.Int64
}

func TestInstancesBehindAProxy(t *testing.T) {
	cfg := soakSize()
	began := time.Now()
	rs := startRedis(t)
	srv := wxpaytest.NewServer(wxpaytest.WithRealClock()) // Redis TTLs run on real time: so does the skew check
	t.Cleanup(srv.Close)
	c := &cluster{t: t, cfg: cfg, srv: srv, rs: rs, index: map[string]int{}, downSeen: make(chan struct{}, 1)}
	c.runs, c.completions, c.inflight = make([]atomic.Int64, cfg.n), make([]atomic.Int64, cfg.n), make([]atomic.Int64, cfg.n)
	c.ackedFlag = make([]atomic.Bool, cfg.n)
	for k := 0; k < cfg.restarts; k++ {
		c.milestone = append(c.milestone, make(chan struct{}))
	}
	// The notifications, from the emulator: signed, encrypted, ids its own.
	for i := range cfg.n {
		n, err := srv.Emulator.NewNotification(notify.EventMembercardActivateCard, activation(fmt.Sprint(100000+i)))
		if err != nil {
			t.Fatal(err)
		}
		c.ids, c.originals = append(c.ids, n.ID), append(c.originals, n)
		c.index[n.ID] = i
		c.failFirst = append(c.failFirst, i%5 == 0)      // 20 %
		c.hold = append(c.hold, i%5 == 3 && i < cfg.n/4) // 5 % of all, early in the run
		c.started = append(c.started, make(chan struct{}, 1))
		c.proceed = append(c.proceed, make(chan struct{}))
	}
	if len(c.index) != cfg.n {
		t.Fatal("the emulator repeated an id")
	}

	c.proxy = startInstances(t, rs, srv, c.callback)
	c.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	t.Cleanup(c.hc.CloseIdleConnections)

	// Redis is killed and restarted as acknowledgements pass each milestone.
	ackedBefore := make([][]int, cfg.restarts)
	controller, driversDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(controller)
		for k := range cfg.restarts {
			<-c.milestone[k]
			for i := range cfg.n {
				if c.ackedFlag[i].Load() {
					ackedBefore[k] = append(ackedBefore[k], i)
				}
			}
			c.downOnce.Store(&sync.Once{})
			c.down.Store(true)
			rs.Kill()
			select { // let the outage be felt before Redis comes back
			case <-c.downSeen:
			case <-driversDone:
			}
			c.down.Store(false)
			if err := rs.Restart(); err != nil {
				t.Error(err)
				return
			}
		}
	}()

	// WeChat Pay: every notification delivered until acknowledged, and then
	// some, by a pool of workers.
	work := make(chan int)
	var wg sync.WaitGroup
	for range cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				c.deliverAll(i)
			}
		}()
	}
	for i := range cfg.n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(driversDone)
	<-controller
	delivered := time.Since(began)

	// Every message again, the exact bytes: every one that was accepted is a replay.
	var finalReplays, finalNeverAccepted [otherError + 1]atomic.Int64
	msgs := make(chan *message)
	for range cfg.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for m := range msgs {
				for range cfg.replays {
					o := classify(post(t, c.hc, c.proxy.URL, m.header, m.body))
					if m.first == storeDown {
						finalNeverAccepted[o].Add(1)
					} else {
						finalReplays[o].Add(1)
					}
				}
			}
		}()
	}
	for _, m := range c.messages {
		msgs <- m
	}
	close(msgs)
	wg.Wait()
	replayedAt := time.Since(began)
	// Ids acknowledged before each restart are still handled after it: their
	// Redis key says so, and a redelivery is answered 200 without a run.
	redis := newClient(t, rs)
	runsBefore := c.totalRuns.Load()
	for k, ids := range ackedBefore {
		for _, i := range ids {
			if v, err := redis.Get(context.Background(), redisstore.DefaultPrefix+"id:"+c.ids[i]).Result(); err != nil || v != "done" {
				t.Errorf("restart %d: id %d acknowledged before it: key %q, %v", k+1, i, v, err)
			}
			if o := classify(post(t, c.hc, c.proxy.URL, sign(t, srv.Now(), c.originals[i].Body), c.originals[i].Body)); o != acked {
				t.Errorf("restart %d: id %d acknowledged before it, redelivered after: %v", k+1, i, o)
			}
		}
	}
	if d := c.totalRuns.Load() - runsBefore; d != 0 {
		t.Errorf("redeliveries of ids acknowledged before a restart ran the function %d times", d)
	}
	// Every key has a TTL.
	keys, err := redis.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if ttl := redis.PTTL(context.Background(), k).Val(); ttl == -1 { // -2: expired since listed
			t.Errorf("key %q without a TTL", k)
		}
	}

	// The exact numbers.
	nFail, nHold := 0, 0
	for i := range cfg.n {
		if c.failFirst[i] {
			nFail++
		}
		if c.hold[i] {
			nHold++
		}
		if got := c.completions[i].Load(); got != 1 {
			t.Errorf("id %d completed %d times, want once", i, got)
		}
	}
	if got, want := c.totalRuns.Load(), int64(cfg.n+nFail); got != want {
		t.Errorf("%d runs, want %d (every id once, plus the %d first attempts made to fail)", got, want, nFail)
	}
	if c.failures.Load() != int64(nFail) || c.overlaps.Load() != 0 {
		t.Errorf("%d failures (want %d), %d overlapping runs of one id (want 0)", c.failures.Load(), nFail, c.overlaps.Load())
	}
	if c.busyWhileHeld.Load() != int64(nHold) {
		t.Errorf("%d duplicates answered busy while the first run held, want %d", c.busyWhileHeld.Load(), nHold)
	}
	if n := c.liveReplays[acked].Load(); n != 0 {
		t.Errorf("%d live replays accepted", n)
	}
	if n := c.deliveries[otherError].Load() + c.liveReplays[otherError].Load(); n != 0 {
		t.Errorf("%d unexpected answers", n)
	}
	accepted := 0
	for _, m := range c.messages {
		if m.first != storeDown {
			accepted++
		}
	}
	// A replay is a replay for as long as its timestamp is within the skew,
	// stale after (the soak outlasts the 5-minute window).
	if got := finalReplays[replayed].Load() + finalReplays[stale].Load(); got != int64(accepted*cfg.replays) {
		t.Errorf("final replays: %d rejected as replays or stale, want all %d of %d accepted messages' (the rest is in the log below)", got, accepted*cfg.replays, accepted)
	}
	if finalNeverAccepted[acked].Load()+finalNeverAccepted[replayed].Load()+finalNeverAccepted[stale].Load() != int64((len(c.messages)-accepted)*cfg.replays) {
		t.Errorf("replays of messages refused while Redis was down: answered other than 200 or 401 replayed or stale (see the log below)")
	}
	for k := range c.perInstance {
		if c.perInstance[k].Load() == 0 {
			t.Errorf("instance %d ran nothing", k)
		}
	}
	names := []string{"200", "500", "503 busy", "503 store", "401 replay", "401 stale", "other"}
	t.Logf("%d notifications, %d instances, %d Redis restart(s) (ids acknowledged before: %v); delivered at %v, replayed at %v, done at %v",
		cfg.n, len(c.perInstance), cfg.restarts, lens(ackedBefore), delivered.Round(time.Millisecond), replayedAt.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	t.Logf("runs %d = %d completions + %d injected failures; runs per instance %d/%d/%d; %d duplicates busy while held",
		c.totalRuns.Load(), cfg.n, c.failures.Load(), c.perInstance[0].Load(), c.perInstance[1].Load(), c.perInstance[2].Load(), c.busyWhileHeld.Load())
	for k, name := range names {
		t.Logf("%-10s deliveries %5d  live replays %5d  final replays %5d (+%d of messages never accepted)",
			name, c.deliveries[k].Load(), c.liveReplays[k].Load(), finalReplays[k].Load(), finalNeverAccepted[k].Load())
	}
}

// startInstances starts three notification handlers, each with its own Parser
// and Redis client as three processes would have, behind a round-robin
// reverse proxy, and returns the proxy. fn is told which instance runs it.
func startInstances(t *testing.T, rs *redisServer, srv *wxpaytest.Server, fn func(ctx context.Context, k int, n *notify.Notification) error) *httptest.Server {
	var backends []*url.URL
	for k := range 3 {
		p, err := notify.New(srv.Verifier(), srv.APIv3Key(), notify.WithStore(redisstore.New(newClient(t, rs))))
		if err != nil {
			t.Fatal(err)
		}
		hs := httptest.NewServer(p.Handler(func(ctx context.Context, n *notify.Notification) error { return fn(ctx, k, n) }))
		t.Cleanup(hs.Close)
		u, _ := url.Parse(hs.URL)
		backends = append(backends, u)
	}
	var next atomic.Uint64
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(transport.CloseIdleConnections)
	proxy := httptest.NewServer(&httputil.ReverseProxy{Transport: transport, Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(backends[next.Add(1)%uint64(len(backends))])
	}})
	t.Cleanup(proxy.Close)
	return proxy
}

// The emulator's own delivery: it posts each notification through the proxy
// and redelivers (re-signed, on its schedule) what is not acknowledged; the
// first attempt of one in five fails, and its redelivery, on another
// instance, runs it again.
func TestEmulatorRedeliversAcrossInstances(t *testing.T) {
	t.Parallel()
	const n = 30
	rs := startRedis(t)
	srv := wxpaytest.NewServer(wxpaytest.WithRealClock()) // Redis TTLs run on real time: so does the skew check
	t.Cleanup(srv.Close)
	srv.Emulator.SetNotificationSchedule(5*time.Millisecond, 10*time.Millisecond, 20*time.Millisecond, 40*time.Millisecond)
	var mu sync.Mutex
	runs := map[string]int{}
	failIDs := map[string]bool{}
	var instances [3]atomic.Int64
	completed := make(chan string, n)
	proxy := startInstances(t, rs, srv, func(ctx context.Context, k int, nt *notify.Notification) error {
		instances[k].Add(1)
		mu.Lock()
		runs[nt.ID]++
		fail := runs[nt.ID] == 1 && failIDs[nt.ID]
		mu.Unlock()
		if fail {
			return errInjected
		}
		completed <- nt.ID
		return nil
	})
	mu.Lock() // the ids are known only once sent: hold the callbacks until they are marked
	for i := range n {
		id, err := srv.Emulator.Notify(proxy.URL, notify.EventMembercardActivateCard, activation(fmt.Sprint(200000+i)))
		if err != nil {
			t.Fatal(err)
		}
		failIDs[id] = i%5 == 0
	}
	mu.Unlock()
	for range n {
		<-completed
	}
	srv.Close() // stops delivery after the attempt in flight: Deliveries is final
	mu.Lock()
	defer mu.Unlock()
	var attempts, redelivered int
	for _, d := range srv.Emulator.Deliveries() {
		want := 1
		if failIDs[d.ID] {
			want = 2
			redelivered++
		}
		if !d.Delivered || d.Attempts != want {
			t.Errorf("%s: delivered %v after %d attempts, want %d", d.ID, d.Delivered, d.Attempts, want)
		}
		attempts += d.Attempts
		if runs[d.ID] != want {
			t.Errorf("%s ran %d times, want %d", d.ID, runs[d.ID], want)
		}
	}
	t.Logf("%d notifications, %d attempts (%d redelivered after a failure); runs per instance %d/%d/%d",
		n, attempts, redelivered, instances[0].Load(), instances[1].Load(), instances[2].Load())
}

func lens(s [][]int) []int {
	out := make([]int, len(s))
	for i := range s {
		out[i] = len(s[i])
	}
	return out
}

var errInjected = errors.New("injected failure")

// callback is the notification function of instance k.
func (c *cluster) callback(ctx context.Context, k int, n *notify.Notification) error {
	i, ok := c.index[n.ID]
	if !ok {
		return fmt.Errorf("unknown id")
	}
	if c.inflight[i].Add(1) != 1 {
		c.overlaps.Add(1)
	}
	defer c.inflight[i].Add(-1)
	c.totalRuns.Add(1)
	c.perInstance[k].Add(1)
	first := c.runs[i].Add(1) == 1
	if first && c.hold[i] {
		c.started[i] <- struct{}{}
		select {
		case <-c.proceed[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if first && c.failFirst[i] {
		c.failures.Add(1)
		return errInjected
	}
	c.completions[i].Add(1)
	return nil
}

// send delivers (header, body) of notification i, records it, replays it once
// at once, and returns the delivery's outcome.
func (c *cluster) send(i int, h http.Header, body []byte) outcome {
	o := classify(post(c.t, c.hc, c.proxy.URL, h, body))
	c.deliveries[o].Add(1)
	c.mu.Lock()
	c.messages = append(c.messages, &message{i: i, header: h, body: body, first: o})
	c.mu.Unlock()
	if o == storeDown && c.down.Load() {
		if once := c.downOnce.Load(); once != nil {
			once.Do(func() { c.downSeen <- struct{}{} })
		}
	}
	r := classify(post(c.t, c.hc, c.proxy.URL, h, body))
	if o == storeDown {
		return o // never accepted: its replay may be taken as new, so it is not counted as one
	}
	c.liveReplays[r].Add(1)
	return o
}

func (c *cluster) resend(i int) outcome {
	return c.send(i, sign(c.t, c.srv.Now(), c.originals[i].Body), c.originals[i].Body)
}

func (c *cluster) async(f func() outcome) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() { ch <- f() }()
	return ch
}

// deliverAll plays WeChat Pay for notification i: the delivery and a
// near-simultaneous duplicate over another path, redeliveries (re-signed) until
// one is acknowledged, then a few more as if the acknowledgements were lost.
func (c *cluster) deliverAll(i int) {
	orig := c.originals[i]
	ack := false
	note := func(o outcome) {
		if o == acked && !ack {
			ack = true
			c.ackedFlag[i].Store(true)
			n := c.ackCount.Add(1)
			for k := range c.cfg.restarts {
				if n == int64(c.cfg.n*(k+1)/(c.cfg.restarts+1)) {
					close(c.milestone[k])
				}
			}
		}
	}
	if c.hold[i] {
		// The first run is held until a duplicate has been answered busy.
		first := c.async(func() outcome { return c.send(i, orig.Header, orig.Body) })
		for ran := false; !ran && !c.t.Failed(); {
			select {
			case <-c.started[i]:
				ran = true
			case o := <-first: // refused before running (Redis down): deliver again
				note(o)
				redeliveryPause(0)
				first = c.async(func() outcome { return c.resend(i) })
			}
		}
		for try := 0; !c.t.Failed(); try++ {
			o := c.resend(i)
			if o == busy {
				c.busyWhileHeld.Add(1)
				break
			}
			if o == acked {
				c.t.Errorf("id %d: a duplicate was acknowledged while the first run was held", i)
				break
			}
			redeliveryPause(try)
		}
		close(c.proceed[i])
		note(<-first)
	} else {
		a := c.async(func() outcome { return c.send(i, orig.Header, orig.Body) })
		b := c.async(c.resendFunc(i))
		note(<-a)
		note(<-b)
	}
	for try := 0; !ack && !c.t.Failed(); try++ { // a failed test stops here rather than hang
		redeliveryPause(try)
		note(c.resend(i))
	}
	for lost, try := 0, 0; lost < c.cfg.lostAcks && !c.t.Failed(); try++ {
		if c.resend(i) == acked {
			lost++
			continue
		}
		redeliveryPause(try)
	}
}

func (c *cluster) resendFunc(i int) func() outcome { return func() outcome { return c.resend(i) } }

// redeliveryPause is WeChat Pay's redelivery schedule, in milliseconds: the
// outcome does not depend on it, it only spares the CPU while Redis is down.
func redeliveryPause(try int) {
	time.Sleep(min(time.Millisecond<<try, 50*time.Millisecond))
}
