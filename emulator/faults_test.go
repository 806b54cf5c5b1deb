package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

func permission(ctx context.Context, c *wxpay.Client) error {
	_, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).PermissionTokens.Post(ctx,
		&membercardopen.CreatePermissionTokenRequest{ActivateType: membercardopen.ActivateTypeAutoActivate})
	return err
}

func TestFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("error rate is reproducible with a seed", func(t *testing.T) {
		t.Parallel()
		count := func() int {
			srv, c := newServer(t, wxpaytest.WithSeed(42))
			srv.Emulator.SetFault("CreateMembercardPermissionToken", emulator.Fault{ErrorRate: 0.3})
			n := 0
			for range 200 {
				var ae *wxpay.APIError
				if err := permission(ctx, c); errors.As(err, &ae) && ae.Code == "SYSTEM_ERROR" && ae.StatusCode == 500 {
					n++
				} else if err != nil {
					t.Fatal(err)
				}
			}
			return n
		}
		a, b := count(), count()
		if a != b || a < 35 || a > 85 {
			t.Errorf("%d and %d SYSTEM_ERRORs in 200 calls at 30 %%", a, b)
		}
	})

	t.Run("QPS budget answers 429 until time passes", func(t *testing.T) {
		t.Parallel()
		srv, c := newServer(t)
		srv.Emulator.SetFault("CreateMembercardPermissionToken", emulator.Fault{QPS: 2})
		for i := range 2 {
			if err := permission(ctx, c); err != nil {
				t.Fatalf("call %d within budget: %v", i, err)
			}
		}
		err := permission(ctx, c)
		apiErr(t, err, 429, "FREQUENCY_LIMITED", "请求频率超过限制，请稍后重试")
		// The budget is per operation: another one is not limited.
		if _, _, err := c.V3.Brand.Partner.CardMember.PreAuthTokens.Post(ctx, &cardmember.CreatePreAuthTokenRequest{
			BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID}); err != nil {
			t.Errorf("another operation: %v", err)
		}
		// Half a second refills one token of two.
		srv.Clock().Advance(500 * time.Millisecond)
		if err := permission(ctx, c); err != nil {
			t.Errorf("after half a second: %v", err)
		}
		apiErr(t, permission(ctx, c), 429, "FREQUENCY_LIMITED", "")
		srv.Clock().Advance(time.Second)
		if err := permission(ctx, c); err != nil {
			t.Errorf("after a second: %v", err)
		}
	})

	t.Run("refusals happen before any state changes", func(t *testing.T) {
		t.Parallel()
		srv, c := newServer(t)
		imp := c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import
		req := &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "refused-1"}
		srv.Emulator.SetFault("ImportMembercardUser", emulator.Fault{DropRate: 1})
		_, _, err := imp.Post(ctx, req)
		var te *wxpay.TransportError
		if !errors.As(err, &te) {
			t.Errorf("drop: err = %v, want a TransportError", err)
		}
		srv.Emulator.SetFault("ImportMembercardUser", emulator.Fault{ErrorRate: 1})
		_, _, err = imp.Post(ctx, req)
		apiErr(t, err, 500, "SYSTEM_ERROR", "系统异常，请稍后重试")
		if n := len(srv.Emulator.Memberships(emulator.DemoCardID)); n != 0 {
			t.Fatalf("%d memberships after refused imports", n)
		}
		srv.Emulator.ClearFaults()
		if _, _, err := imp.Post(ctx, req); err != nil || len(srv.Emulator.Memberships(emulator.DemoCardID)) != 1 {
			t.Errorf("after ClearFaults: %v", err)
		}
	})

	t.Run("drop after commit: the state changed, a repeat recovers the answer", func(t *testing.T) {
		t.Parallel()
		srv, c := newServer(t)
		srv.Emulator.SetFault("ImportMembercardUser", emulator.Fault{DropAfterCommitRate: 1})
		req := &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "dac-1"}
		imp := c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import
		_, _, err := imp.Post(ctx, req)
		var te *wxpay.TransportError
		if !errors.As(err, &te) {
			t.Fatalf("err = %v", err)
		}
		m, ok := srv.Emulator.Membership(emulator.DemoCardID, emulator.DemoOpenID)
		if !ok {
			t.Fatal("the import did not happen")
		}
		srv.Emulator.ClearFaults()
		got, _, err := imp.Post(ctx, req)
		if err != nil || got.Code != m.Code {
			t.Errorf("repeat: %+v %v, want code %s", got, err, m.Code)
		}
		if n := len(srv.Emulator.Memberships(emulator.DemoCardID)); n != 1 {
			t.Errorf("%d memberships, want 1", n)
		}
	})

	t.Run("tampered signature", func(t *testing.T) {
		t.Parallel()
		srv, c := newServer(t)
		srv.Emulator.SetFault("*", emulator.Fault{TamperRate: 1})
		if err := permission(ctx, c); !errors.Is(err, wxpay.ErrSignatureMismatch) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("skewed signature", func(t *testing.T) {
		t.Parallel()
		srv, c := newServer(t)
		srv.Emulator.SetFault("/v3/marketing/membercard-open/cards/{card_id}/permission-tokens", emulator.Fault{SkewSignature: 10 * time.Minute})
		if err := permission(ctx, c); !errors.Is(err, wxpay.ErrClockSkew) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("latency honours the client's deadline", func(t *testing.T) {
		t.Parallel()
		srv, c := newServer(t)
		srv.Emulator.SetFault("CreateMembercardPermissionToken", emulator.Fault{Latency: time.Minute})
		dctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if err := permission(dctx, c); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v", err)
		}
	})

	t.Run("the most specific target wins; ClearFaults removes all", func(t *testing.T) {
		t.Parallel()
		srv, c := newServer(t)
		srv.Emulator.SetFault("*", emulator.Fault{ErrorRate: 1})
		srv.Emulator.SetFault("CreateMembercardPermissionToken", emulator.Fault{})
		if err := permission(ctx, c); err != nil {
			t.Errorf("specific (empty) fault: %v", err)
		}
		_, err := c.Chain("v3/marketing/membercard-open/callback").Get(ctx)
		apiErr(t, err, 500, "SYSTEM_ERROR", "")
		srv.Emulator.ClearFaults()
		if _, err = c.Chain("v3/marketing/membercard-open/callback").Get(ctx); err != nil {
			t.Errorf("after ClearFaults: %v, want the demo callback URL", err) // a real answer again
		}
	})
}

func TestNotificationsEndToEnd(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	parser, err := notify.New(srv.Verifier(), srv.APIv3Key(), notify.WithClock(srv.Now))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	got := make(chan *notify.Notification, 1)
	receiver := httptest.NewServer(parser.Handler(func(_ context.Context, n *notify.Notification) error {
		if calls.Add(1) <= 2 {
			return errors.New("not yet") // answered 500 FAIL: redelivered
		}
		got <- n
		return nil
	}))
	t.Cleanup(receiver.Close)
	e := srv.Emulator
	e.SetNotificationSchedule(time.Millisecond, time.Millisecond, time.Millisecond)

	// The URL comes from PATCH …/callback.
	if _, _, err := c.V3.Marketing.MembercardOpen.Callback.Patch(context.Background(), &membercardopen.UpdateCallbackRequest{NotifyURL: receiver.URL}); err != nil {
		t.Fatal(err)
	}
	id, err := e.NotifyMerchant(emulator.DemoMchID, notify.EventMembercardActivateCard, map[string]any{
		"event_type": "MEMBER_CARD_ACTIVATE", "card_id": emulator.DemoCardID, "code": "478515832665",
		"event_time": "2026-01-01T10:00:00+08:00", "activate_scene": "NEW_ACTIVATE", "openid": emulator.DemoOpenID})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		ev, ok := n.Event.(*membercardopen.ActivateCardEvent)
		if !ok || ev.CardID != emulator.DemoCardID || n.ID != id {
			t.Fatalf("delivered %v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the notification was never accepted")
	}
	e.Close() // waits for the delivery loop, so the bookkeeping below is final
	var d emulator.Delivery
	for _, x := range e.Deliveries() {
		if x.ID == id {
			d = x
		}
	}
	if !d.Delivered || d.Attempts != 3 || d.LastStatus != 200 {
		t.Errorf("delivery = %+v, want delivered on the third attempt", d)
	}
}

func TestNotificationGivesUp(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	var attempts atomic.Int64
	done := make(chan struct{})
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if attempts.Add(1) == 3 {
			close(done)
		}
		http.Error(w, `{"code":"FAIL","message":"down"}`, http.StatusServiceUnavailable)
	}))
	t.Cleanup(receiver.Close)
	e := srv.Emulator
	e.SetNotificationSchedule(time.Millisecond, time.Millisecond)
	if _, err := e.NotifyMerchant("1900000002", notify.EventMembercardUsercardManage, map[string]string{}); err == nil {
		t.Error("a merchant without callback URL must be refused")
	}
	id, err := e.Notify(receiver.URL, notify.EventMembercardUsercardManage, map[string]string{"card_id": "c"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("no third attempt")
	}
	// The third attempt was the last (two redeliveries scheduled); Close waits for the loop.
	e.Close()
	ds := e.Deliveries()
	if len(ds) != 1 || ds[0].ID != id || !ds[0].GaveUp || ds[0].Attempts != 3 || ds[0].LastStatus != 503 {
		t.Errorf("deliveries = %+v", ds)
	}
}

func TestAdminMemberships(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	if _, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import.Post(context.Background(),
		&membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "adm-1"}); err != nil {
		t.Fatal(err)
	}
	resp, err := srv.HTTPClient().Get(srv.URL + "/_emulator/memberships?card_id=" + emulator.DemoCardID)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Count       int `json:"count"`
		Memberships []struct {
			OpenID    string `json:"openid"`
			RequestNo string `json:"request_no"`
		} `json:"memberships"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Count != 1 || out.Memberships[0].OpenID != emulator.DemoOpenID || out.Memberships[0].RequestNo != "adm-1" {
		t.Errorf("%+v %v", out, err)
	}
}

func TestSandbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sb, err := emulator.OpenSandbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	for name, perm := range map[string]os.FileMode{"apiclient_key.pem": 0o600, "emulator_key.pem": 0o600, "apiv3.key": 0o600, "pub_key.pem": 0o644, "merchant.json": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != perm {
			t.Errorf("%s: %v %v", name, fi, err)
		}
	}
	cfg, err := sb.WriteConfig("http://127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(cfg)
	if !strings.Contains(string(b), `"base_url": "http://127.0.0.1:8080"`) || !strings.Contains(string(b), sb.MerchantSerial) {
		t.Errorf("config: %s", b)
	}
	again, err := emulator.OpenSandbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.MerchantSerial != sb.MerchantSerial || !again.MerchantKey.Equal(sb.MerchantKey) || !again.PlatformPublicKey.Equal(sb.PlatformPublicKey) {
		t.Error("a second OpenSandbox must reuse the keys")
	}
	if s := fmt.Sprintf("%v %+v", sb, sb); strings.Contains(s, sb.MerchantKey.D.String()[:20]) {
		t.Error("a sandbox prints its key")
	}
	// A client built from the files talks to it.
	hs := httptest.NewServer(sb)
	defer hs.Close()
	c, err := wxpay.NewClient(wxpay.WithMerchant(sb.MchID, sb.MerchantSerial, sb.MerchantKey),
		wxpay.WithPlatformPublicKey(sb.PublicKeyID, sb.PlatformPublicKey), wxpay.WithBaseURL(hs.URL))
	if err != nil {
		t.Fatal(err)
	}
	if err := permission(context.Background(), c); err != nil {
		t.Error(err)
	}
}

// FuzzHandler: arbitrary requests never panic and always get an answer; every
// error body is JSON with a code.
func FuzzHandler(f *testing.F) {
	f.Add("POST", permissionPath, "application/json", "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000001\",nonce_str=\"n\",signature=\"s\",timestamp=\"1\",serial_no=\"S\"", []byte(`{"activate_type":"AUTO_ACTIVATE"}`))
	f.Add("GET", "/v3/certificates", "", "", []byte{})
	f.Add("GET", "/_emulator/memberships", "", "", []byte{})
	f.Add("PATCH", "/v3/%zz", "text/plain", "x", []byte("{"))
	srv := wxpaytest.NewUnstartedServer()
	f.Fuzz(func(t *testing.T, method, target, contentType, auth string, body []byte) {
		if !validMethod(method) || !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\x00") {
			return
		}
		req, err := http.NewRequest(method, "http://127.0.0.1"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		req.RequestURI = target
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "fuzz")
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		srv.Emulator.ServeHTTP(w, req)
		if w.Code < 200 {
			t.Fatalf("status %d", w.Code)
		}
		if w.Code >= 400 {
			var e struct{ Code string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Code == "" {
				t.Fatalf("error body %q", w.Body.String())
			}
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case "GET", "POST", "PUT", "PATCH", "DELETE":
		return true
	}
	return false
}

// BenchmarkEmulatorUsersImport: users/import requests per second over loopback,
// and their ratio to the RSA-signing bound of this machine (each request costs
// one client signature and one emulator signature).
func BenchmarkEmulatorUsersImport(b *testing.B) {
	srv := wxpaytest.NewServer(wxpaytest.WithRealClock())
	defer srv.Close()
	workers := runtime.GOMAXPROCS(0) * 4
	users := make([]emulator.User, b.N+workers)
	for i := range users {
		users[i] = emulator.User{OpenID: fmt.Sprintf("oBench%09d", i)}
	}
	srv.Emulator.AddUser(users...)
	c, err := srv.NewClient(wxpay.WithHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}))
	if err != nil {
		b.Fatal(err)
	}
	imp := c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if _, _, err := imp.Post(context.Background(), &membercardopen.ImportUserRequest{OpenID: users[i].OpenID, OutRequestNo: fmt.Sprintf("b-%d", i)}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	bound := testkeys.SignPairsPerSecond()
	b.ReportMetric(rate, "req/s")
	b.ReportMetric(bound, "bound-req/s")
	b.ReportMetric(rate/bound, "x-rsa-bound")
}
