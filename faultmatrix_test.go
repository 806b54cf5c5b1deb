package wxpay_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/longtest"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// domain serves the emulator on one address and can go down (listener closed:
// connections refused) and come back on the same address.
type domain struct {
	handler http.Handler
	addr    string
	mu      sync.Mutex
	srv     *http.Server
	hits    atomic.Int64
}

func newDomain(t *testing.T, h http.Handler) *domain {
	d := &domain{handler: h}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.addr = ln.Addr().String()
	d.serve(ln)
	t.Cleanup(d.down)
	return d
}

func (d *domain) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.hits.Add(1)
		d.handler.ServeHTTP(w, r)
	})}
	d.mu.Lock()
	d.srv = srv
	d.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

func (d *domain) down() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.srv != nil {
		d.srv.Close()
		d.srv = nil
	}
}

func (d *domain) up(t *testing.T) {
	ln, err := net.Listen("tcp", d.addr)
	if err != nil {
		t.Fatalf("re-listen on %s: %v", d.addr, err)
	}
	d.serve(ln)
}

// TestFaultMatrix: users/import calls (1 000 by default, 10 000 with
// WXPAY_LONG=1) against the emulator under 30 %
// SYSTEM_ERROR, dropped connections (before and after the state change), 429
// bursts and the primary domain down for a window. Every call ends in success
// or a typed error; a second pass repeats the failed calls with their
// out_request_no, and the emulator then holds exactly one membership per user,
// with the code the first successful answer reported.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	calls := 1000
	if longtest.Enabled() {
		calls = 10000 // .ci/run's long step
	}
	if v := os.Getenv("WXPAY_FAULT_MATRIX_CALLS"); v != "" {
		calls, _ = strconv.Atoi(v)
	}
	srv := wxpaytest.NewUnstartedServer(wxpaytest.WithRealClock(), wxpaytest.WithSeed(7))
	e := srv.Emulator
	users := make([]emulator.User, calls)
	for i := range users {
		users[i] = emulator.User{OpenID: fmt.Sprintf("oFaultMatrix%08d", i), AppID: emulator.DemoAppID}
	}
	e.AddUser(users...)
	primary, backup := newDomain(t, e), newDomain(t, e)
	srv.URL = "http://" + primary.addr // the client below needs only the URL
	t.Cleanup(e.Close)

	client, err := srv.NewClient(
		wxpay.WithBaseURL("http://"+primary.addr),
		wxpay.WithHTTPClient(&http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}),
		wxpay.WithFailover(wxpay.FailoverPolicy{BackupURL: "http://" + backup.addr, Cooldown: 50 * time.Millisecond}),
		wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}),
	)
	if err != nil {
		t.Fatal(err)
	}
	imp := client.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import
	base := emulator.Fault{ErrorRate: 0.3, DropRate: 0.03, DropAfterCommitRate: 0.03}
	e.SetFault("ImportMembercardUser", base)

	type outcome struct {
		code string
		err  error
	}
	results := make([]outcome, calls)
	work := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				m, _, err := imp.Post(context.Background(), &membercardopen.ImportUserRequest{
					OpenID: users[i].OpenID, OutRequestNo: fmt.Sprintf("fm-%08d", i)})
				if err == nil {
					results[i].code = m.Code
				}
				results[i].err = err
			}
		}()
	}
	// Phases by call index: 429 bursts from 30 % to 40 %, the primary down from
	// 55 % to 70 %.
	for i := 0; i < calls; i++ {
		switch i {
		case calls * 3 / 10:
			f := base
			f.QPS = 40
			e.SetFault("ImportMembercardUser", f)
		case calls * 4 / 10:
			e.SetFault("ImportMembercardUser", base)
		case calls * 55 / 100:
			primary.down()
		case calls * 70 / 100:
			primary.up(t)
		}
		work <- i
	}
	close(work)
	wg.Wait()
	firstPass := time.Since(start)

	// Every call: success or a typed error.
	var ok, apiErrs, transport int
	codes := map[string]int{}
	for i, r := range results {
		var ae *wxpay.APIError
		var te *wxpay.TransportError
		switch {
		case r.err == nil:
			ok++
		case errors.As(r.err, &ae):
			apiErrs++
			codes[ae.Code]++
			if !ae.Temporary() {
				t.Errorf("call %d: a fault produced a permanent error: %v", i, r.err)
			}
		case errors.As(r.err, &te):
			transport++
		default:
			t.Fatalf("call %d: untyped error %T: %v", i, r.err, r.err)
		}
	}
	if ok < calls*8/10 {
		t.Errorf("only %d of %d calls succeeded through the retries", ok, calls)
	}

	// Second pass: repeat every failed call with its out_request_no.
	e.ClearFaults()
	for i, r := range results {
		if r.err == nil {
			continue
		}
		m, _, err := imp.Post(context.Background(), &membercardopen.ImportUserRequest{
			OpenID: users[i].OpenID, OutRequestNo: fmt.Sprintf("fm-%08d", i)})
		if err != nil {
			t.Fatalf("repeat of call %d: %v", i, err)
		}
		results[i].code = m.Code
	}

	// Exactly one membership per user, with the code its calls reported.
	members := e.Memberships(emulator.DemoCardID)
	seen := map[string]string{}
	for _, m := range members {
		if _, dup := seen[m.OpenID]; dup {
			t.Fatalf("duplicate membership for %s", m.OpenID)
		}
		seen[m.OpenID] = m.Code
	}
	if len(members) != calls {
		t.Fatalf("%d memberships, want %d", len(members), calls)
	}
	uniqueCodes := map[string]bool{}
	for i, r := range results {
		if seen[users[i].OpenID] != r.code {
			t.Fatalf("user %d: membership code %s, call answered %s", i, seen[users[i].OpenID], r.code)
		}
		uniqueCodes[r.code] = true
	}
	if len(uniqueCodes) != calls {
		t.Errorf("%d distinct codes for %d members", len(uniqueCodes), calls)
	}
	if backup.hits.Load() == 0 {
		t.Error("the backup domain was never used while the primary was down")
	}
	var codeList []string
	for c, n := range codes {
		codeList = append(codeList, fmt.Sprintf("%s=%d", c, n))
	}
	sort.Strings(codeList)
	t.Logf("fault matrix: %d calls in %s; first pass ok=%d, APIError=%d %v, TransportError=%d; attempts primary=%d backup=%d; repeated %d; memberships=%d",
		calls, firstPass.Round(time.Millisecond), ok, apiErrs, codeList, transport, primary.hits.Load(), backup.hits.Load(), calls-ok, len(members))
}
