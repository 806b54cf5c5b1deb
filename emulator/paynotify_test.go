package emulator_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/apiv3/refunddomestic"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// delivery is one attempt as the merchant's endpoint saw it.
type delivery struct {
	id     string
	header http.Header
	body   []byte
}

// merchantHook is a merchant's notification endpoint: wxpay's notify parser
// behind a recorder of raw attempts. Each notification is refused (500 FAIL)
// its first failFirst times, then accepted and passed on.
type merchantHook struct {
	*httptest.Server
	attempts chan delivery
	events   chan *notify.Notification
}

func newMerchantHook(t *testing.T, srv *wxpaytest.Server, failFirst int) *merchantHook {
	t.Helper()
	parser, err := notify.New(srv.Verifier(), srv.APIv3Key(), notify.WithClock(srv.Now))
	if err != nil {
		t.Fatal(err)
	}
	h := &merchantHook{attempts: make(chan delivery, 64), events: make(chan *notify.Notification, 16)}
	var mu sync.Mutex
	refused := map[string]int{}
	handler := parser.Handler(func(_ context.Context, n *notify.Notification) error {
		mu.Lock()
		defer mu.Unlock()
		if refused[n.ID] < failFirst {
			refused[n.ID]++
			return errors.New("the database is down")
		}
		h.events <- n
		return nil
	})
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var env struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(body, &env)
		h.attempts <- delivery{id: env.ID, header: r.Header.Clone(), body: body}
		r.Body = io.NopCloser(bytes.NewReader(body))
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

// next waits for the next accepted notification.
func (h *merchantHook) next(t *testing.T) *notify.Notification {
	t.Helper()
	select {
	case n := <-h.events:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no notification was accepted")
		return nil
	}
}

// TRANSACTION.SUCCESS and REFUND.* reach the notify_url signed with the WeChat
// Pay key and encrypted with the APIv3 key, and are delivered again, re-signed,
// until the merchant answers 2xx.
func TestPaymentNotificationsRedelivered(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	e := srv.Emulator
	e.SetNotificationSchedule(time.Millisecond, time.Millisecond, time.Millisecond, time.Millisecond)
	hook := newMerchantHook(t, srv, 2) // accepted on the third attempt

	order := jsapiOrder("nt-order", 1000)
	order.NotifyURL = hook.URL + "/pay"
	order.Attach = "cart=42"
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, order); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Pay("nt-order", ""); err != nil {
		t.Fatal(err)
	}
	n := hook.next(t)
	paid, ok := n.Event.(*pay.Transaction)
	if n.EventType != notify.EventTransactionSuccess || !ok || n.Summary == "" || n.Resource.OriginalType != "transaction" {
		t.Fatalf("%s %q %T %+v", n.EventType, n.Summary, n.Event, n.Resource)
	}
	if tx := query(t, c, "nt-order"); !reflect.DeepEqual(paid, tx) {
		t.Errorf("notified %+v\nqueried  %+v", paid, tx)
	}
	if paid.Attach != "cart=42" || paid.TradeState != pay.TradeStateSuccess {
		t.Errorf("%+v", paid)
	}

	// Refunds: without notify_url, to the order's; with one, to it.
	refunds := c.V3.Refund.Domestic.Refunds
	plain := refundReq("nt-order", "nt-r1", 100, 1000)
	other := refundReq("nt-order", "nt-r2", 200, 1000)
	other.NotifyURL = hook.URL + "/refunds"
	closing := refundReq("nt-order", "nt-r3", 300, 1000)
	for _, r := range []*refunddomestic.CreateRefundRequest{plain, other, closing} {
		if _, _, err := refunds.Post(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		no, result, event string
		status            refunddomestic.RefundStatus
	}{
		{"nt-r1", "SUCCESS", notify.EventRefundSuccess, refunddomestic.RefundStatusSuccess},
		{"nt-r2", "ABNORMAL", notify.EventRefundAbnormal, refunddomestic.RefundStatusAbnormal},
		{"nt-r3", "CLOSED", notify.EventRefundClosed, refunddomestic.RefundStatusClosed},
	}
	for _, tt := range tests {
		rf, err := srv.SettleRefund(tt.no, tt.result)
		if err != nil {
			t.Fatal(err)
		}
		n := hook.next(t)
		ev, ok := n.Event.(*refunddomestic.RefundNotification)
		if n.EventType != tt.event || !ok || ev.OutRefundNo != tt.no || ev.RefundStatus != tt.status || ev.RefundID != rf.RefundID ||
			ev.MchID != emulator.DemoMchID || ev.TransactionID != paid.TransactionID || ev.Amount.Refund != rf.Amount || ev.Amount.Total != 1000 ||
			(tt.status == refunddomestic.RefundStatusSuccess) != (ev.SuccessTime != "") || n.Resource.OriginalType != "refund" {
			t.Errorf("%s: %s %T %+v", tt.no, n.EventType, n.Event, n.Event)
		}
	}

	// Every notification took three attempts: the same body, signed afresh
	// each time with the WeChat Pay public key, never the plaintext.
	e.Close() // waits for the delivery loop: the bookkeeping is final
	close(hook.attempts)
	byID := map[string][]delivery{}
	for a := range hook.attempts {
		byID[a.id] = append(byID[a.id], a)
	}
	ds := e.Deliveries()
	if len(ds) != 4 || len(byID) != 4 {
		t.Fatalf("%d deliveries, %d notifications seen", len(ds), len(byID))
	}
	pub := srv.PlatformPublicKey()
	for _, d := range ds {
		if !d.Delivered || d.GaveUp || d.Attempts != 3 || d.LastStatus != 200 {
			t.Errorf("delivery %+v", d)
		}
		seen := byID[d.ID]
		nonces := map[string]bool{}
		for i, a := range seen {
			h := a.header
			nonces[h.Get("Wechatpay-Nonce")] = true
			if h.Get("Wechatpay-Serial") != emulator.DemoPublicKeyID || h.Get("Wechatpay-Signature-Type") != "WECHATPAY2-SHA256-RSA2048" ||
				h.Get("Content-Type") != "application/json" || !bytes.Equal(a.body, seen[0].body) {
				t.Errorf("%s attempt %d: %v", d.EventType, i+1, h)
			}
			msg := h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(a.body) + "\n"
			sig, _ := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
			sum := sha256.Sum256([]byte(msg))
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
				t.Errorf("%s attempt %d: %v", d.EventType, i+1, err)
			}
			if bytes.Contains(a.body, []byte(paid.TransactionID)) || bytes.Contains(a.body, []byte("nt-order")) {
				t.Errorf("%s attempt %d carries plaintext: %s", d.EventType, i+1, a.body)
			}
		}
		if len(seen) != 3 || len(nonces) != 3 {
			t.Errorf("%s: %d attempts, %d nonces", d.EventType, len(seen), len(nonces))
		}
	}
}

// A service provider's notifications carry sp_mchid and sub_mchid, and decode
// into the partner models.
func TestPartnerPaymentNotifications(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	e := srv.Emulator
	hook := newMerchantHook(t, srv, 0)
	order := partnerJSAPIOrder("ntp-order", 600, pay.PartnerPayer{SubOpenID: emulator.DemoSubOpenID})
	order.NotifyURL = hook.URL
	if _, _, err := c.V3.Pay.Partner.Transactions.JSAPI.Post(ctx, order); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Pay(emulator.DemoSubMchID, "ntp-order", ""); err != nil {
		t.Fatal(err)
	}
	n := hook.next(t)
	tx, ok := n.Event.(*pay.PartnerTransaction)
	if !ok || tx.SPMchID != emulator.DemoMchID || tx.SubMchID != emulator.DemoSubMchID || tx.Payer == nil || tx.Payer.SubOpenID != emulator.DemoSubOpenID {
		t.Fatalf("%T %+v", n.Event, n.Event)
	}
	r := refundReq("ntp-order", "ntp-r1", 600, 600)
	r.SubMchID = emulator.DemoSubMchID
	if _, _, err := c.V3.Refund.Domestic.Refunds.Post(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SettleRefund(emulator.DemoSubMchID, "ntp-r1", ""); err != nil {
		t.Fatal(err)
	}
	n = hook.next(t)
	rf, ok := n.Event.(*refunddomestic.PartnerRefundNotification)
	if !ok || rf.SPMchID != emulator.DemoMchID || rf.SubMchID != emulator.DemoSubMchID || rf.RefundStatus != refunddomestic.RefundStatusSuccess {
		t.Errorf("%T %+v", n.Event, n.Event)
	}
}

// A merchant that never answers 2xx: the emulator stops after the schedule.
func TestPaymentNotificationGivesUp(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	e := srv.Emulator
	e.SetNotificationSchedule(time.Millisecond, time.Millisecond)
	attempts := make(chan int, 8)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		attempts <- 1
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"code":"FAIL","message":"失败"}`)
	}))
	t.Cleanup(hook.Close)
	order := jsapiOrder("gu-order", 100)
	order.NotifyURL = hook.URL
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(context.Background(), order); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Pay("gu-order", ""); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		select {
		case <-attempts:
		case <-time.After(10 * time.Second):
			t.Fatalf("attempt %d never came", i+1)
		}
	}
	e.Close()
	ds := e.Deliveries()
	if len(ds) != 1 || !ds[0].GaveUp || ds[0].Delivered || ds[0].Attempts != 3 || ds[0].LastStatus != 500 || ds[0].EventType != notify.EventTransactionSuccess {
		t.Errorf("%+v", ds)
	}
	if len(attempts) != 0 {
		t.Errorf("%d attempts after giving up", len(attempts))
	}
}

// The documented redelivery schedule of payments and refunds (15s/15s/30s/3m/
// 10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h, 24h4m in all); membership-card
// events keep theirs.
func TestPaymentNotificationSchedule(t *testing.T) {
	t.Parallel()
	s, m, h := time.Second, time.Minute, time.Hour
	want := []time.Duration{15 * s, 15 * s, 30 * s, 3 * m, 10 * m, 20 * m, 30 * m, 30 * m, 30 * m, 60 * m, 3 * h, 3 * h, 3 * h, 6 * h, 6 * h}
	for _, ev := range []string{notify.EventTransactionSuccess, notify.EventRefundSuccess, notify.EventRefundAbnormal, notify.EventRefundClosed} {
		got := emulator.ScheduleOf(ev)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v", ev, got)
		}
		var total time.Duration
		for _, d := range got {
			total += d
		}
		if total != 24*h+4*m {
			t.Errorf("%s: %v in all", ev, total)
		}
	}
	for _, ev := range []string{notify.EventMembercardActivateCard, "NO.SUCH_EVENT"} {
		if got := emulator.ScheduleOf(ev); !reflect.DeepEqual(got, emulator.DefaultSchedule()) {
			t.Errorf("%s: %v", ev, got)
		}
	}
}
