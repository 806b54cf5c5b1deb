package interop

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	officialnotify "github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"

	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The official wechatpay-go v0.2.21 payment services against the emulator,
// their requests sent to it as in TestOfficialClientAgainstEmulator (the SDK
// has no base-URL option), nothing else changed: a JSAPI order with its
// front-end parameters, a Native order paid, queried, refunded and settled,
// and both notifications parsed by the SDK's own notify handler.

// officialHook is the merchant's notification endpoint written with
// wechatpay-go: its notify handler verifies and decrypts each notification
// into payments.Transaction (path /pay) or refunddomestic.Refund (/refund).
type officialHook struct {
	*httptest.Server
	paid     chan *payments.Transaction
	refunded chan *refunddomestic.Refund
	events   chan string // event types, in order
}

func newOfficialHook(t *testing.T) *officialHook {
	t.Helper()
	k := testkeys.Shared()
	handler, err := officialnotify.NewRSANotifyHandler(wxpaytest.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(emulator.DemoPublicKeyID, k.Platform.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	h := &officialHook{paid: make(chan *payments.Transaction, 4), refunded: make(chan *refunddomestic.Refund, 4), events: make(chan string, 8)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var content any
		switch r.URL.Path {
		case "/pay":
			content = new(payments.Transaction)
		case "/refund":
			content = new(refunddomestic.Refund)
		default:
			http.NotFound(w, r)
			return
		}
		n, err := handler.ParseNotifyRequest(r.Context(), r, content)
		if err != nil {
			t.Errorf("wechatpay-go refuses the emulator's notification: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"code":"FAIL","message":"验签失败"}`))
			return
		}
		h.events <- n.EventType
		switch c := content.(type) {
		case *payments.Transaction:
			h.paid <- c
		case *refunddomestic.Refund:
			h.refunded <- c
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"code":"SUCCESS","message":"成功"}`))
	}))
	t.Cleanup(h.Close)
	return h
}

func wait[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
		var zero T
		return zero
	}
}

// JSAPI: wechatpay-go's PrepayWithRequestPayment orders on the emulator and
// signs the wx.requestPayment parameters; wxpay verifies that paySign.
func TestOfficialJSAPIPrepayWithRequestPayment(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer(wxpaytest.WithRealClock()) // the official SDK checks skew with time.Now
	t.Cleanup(srv.Close)
	svc := jsapi.JsapiApiService{Client: officialClient(t, srv)}
	ctx := context.Background()
	resp, result, err := svc.PrepayWithRequestPayment(ctx, jsapi.PrepayRequest{
		Appid: core.String(emulator.DemoAppID), Mchid: core.String(emulator.DemoMchID), Description: core.String("Image形象店-深圳腾大-QQ公仔"),
		OutTradeNo: core.String("official-jsapi-0001"), NotifyUrl: core.String("http://127.0.0.1:9/notify"),
		Amount: &jsapi.Amount{Total: core.Int64(100), Currency: core.String("CNY")}, Payer: &jsapi.Payer{Openid: core.String(emulator.DemoOpenID)},
	})
	if err != nil {
		t.Fatalf("official PrepayWithRequestPayment against the emulator: %v", err)
	}
	if result.Response.StatusCode != 200 || !strings.HasPrefix(*resp.PrepayId, "wx") {
		t.Fatalf("%d %v", result.Response.StatusCode, resp)
	}
	params := &pay.JSAPIPayment{AppID: *resp.Appid, TimeStamp: *resp.TimeStamp, NonceStr: *resp.NonceStr,
		Package: *resp.Package, SignType: *resp.SignType, PaySign: *resp.PaySign}
	if err := pay.VerifyPaySign(&srv.MerchantKey().PublicKey, params.SignedMessage(), params.PaySign); err != nil {
		t.Errorf("wxpay does not verify wechatpay-go's paySign: %v", err)
	}
	if err := srv.VerifyJSAPIPayment(params); err != nil {
		t.Errorf("the emulator's check refuses wechatpay-go's parameters: %v", err)
	}
	// wechatpay-go's own query agrees with the emulator.
	tx, _, err := svc.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String("official-jsapi-0001"), Mchid: core.String(emulator.DemoMchID)})
	if err != nil || *tx.TradeState != "NOTPAY" {
		t.Errorf("%v %v", tx, err)
	}
}

// wechatpay-go verifies the front-end signatures of wxpay's PaymentSigner with
// its own verifier and the merchant's public key.
func TestOfficialVerifiesOurPaySign(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	signer := pay.PaymentSigner{Key: k.Merchant}
	verifier := verifiers.NewSHA256WithRSAPubkeyVerifier("merchant", k.Merchant.PublicKey)
	ctx := context.Background()
	j, err := signer.JSAPI(emulator.DemoAppID, "wx201410272009395522657a690389285100")
	if err != nil {
		t.Fatal(err)
	}
	a, err := signer.App(emulator.DemoAppID, emulator.DemoMchID, "wx201410272009395522657a690389285100")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		msg, sig string
	}{{"JSAPI", string(j.SignedMessage()), j.PaySign}, {"App", string(a.SignedMessage()), a.Sign}} {
		if err := verifier.Verify(ctx, "merchant", tt.msg, tt.sig); err != nil {
			t.Errorf("%s: wechatpay-go refuses wxpay's signature: %v", tt.name, err)
		}
		// The message the JSAPI page rebuilds is the same four lines.
		if err := verifier.Verify(ctx, "merchant", strings.Replace(tt.msg, emulator.DemoAppID, "wx0000000000000000", 1), tt.sig); err == nil {
			t.Errorf("%s: a changed message verified", tt.name)
		}
	}
	// The lines are exactly the ones wechatpay-go signs in PrepayWithRequestPayment.
	if want := j.AppID + "\n" + j.TimeStamp + "\n" + j.NonceStr + "\n" + j.Package + "\n"; string(j.SignedMessage()) != want {
		t.Errorf("signed message %q", j.SignedMessage())
	}
}

// The whole flow with wechatpay-go as the merchant: Native order → paid by the
// emulator's payer → TRANSACTION.SUCCESS through wechatpay-go's notify handler
// → query SUCCESS → refund → settled → REFUND.SUCCESS through the handler →
// refund query SUCCESS.
func TestOfficialPaymentFlow(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer(wxpaytest.WithRealClock())
	t.Cleanup(srv.Close)
	client := officialClient(t, srv)
	hook := newOfficialHook(t)
	ctx := context.Background()
	nat := native.NativeApiService{Client: client}
	refunds := refunddomestic.RefundsApiService{Client: client}
	const outTradeNo, outRefundNo = "official-native-0001", "official-native-0001-R1"

	pre, _, err := nat.Prepay(ctx, native.PrepayRequest{
		Appid: core.String(emulator.DemoAppID), Mchid: core.String(emulator.DemoMchID), Description: core.String("扫码点餐"),
		OutTradeNo: core.String(outTradeNo), NotifyUrl: core.String(hook.URL + "/pay"), Attach: core.String("table=7"),
		Amount: &native.Amount{Total: core.Int64(2599), Currency: core.String("CNY")},
	})
	if err != nil || !strings.HasPrefix(*pre.CodeUrl, "weixin://wxpay/bizpayurl?pr=") {
		t.Fatalf("official native Prepay: %v %v", pre, err)
	}
	tx, _, err := nat.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(emulator.DemoMchID)})
	if err != nil || *tx.TradeState != "NOTPAY" {
		t.Fatalf("before payment: %v %v", tx, err)
	}

	paid, err := srv.Pay(outTradeNo, "SUCCESS")
	if err != nil {
		t.Fatal(err)
	}
	notified := wait(t, hook.paid)
	if ev := wait(t, hook.events); ev != "TRANSACTION.SUCCESS" {
		t.Errorf("event %s", ev)
	}
	if *notified.TransactionId != paid.TransactionID || *notified.TradeState != "SUCCESS" || *notified.Amount.Total != 2599 ||
		*notified.Mchid != emulator.DemoMchID || *notified.Attach != "table=7" || *notified.TradeType != "NATIVE" || *notified.Payer.Openid == "" {
		t.Errorf("decrypted transaction %v", notified)
	}
	tx, _, err = nat.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(emulator.DemoMchID)})
	if err != nil || *tx.TradeState != "SUCCESS" || *tx.TransactionId != paid.TransactionID || *tx.SuccessTime != *notified.SuccessTime {
		t.Fatalf("after payment: %v %v", tx, err)
	}

	rf, _, err := refunds.Create(ctx, refunddomestic.CreateRequest{
		OutTradeNo: core.String(outTradeNo), OutRefundNo: core.String(outRefundNo), Reason: core.String("商品已售完"),
		NotifyUrl: core.String(hook.URL + "/refund"),
		Amount:    &refunddomestic.AmountReq{Refund: core.Int64(599), Total: core.Int64(2599), Currency: core.String("CNY")},
	})
	if err != nil || *rf.Status != refunddomestic.STATUS_PROCESSING || *rf.Amount.Refund != 599 || *rf.TransactionId != paid.TransactionID {
		t.Fatalf("official refund Create: %v %v", rf, err)
	}
	settled, err := srv.SettleRefund(outRefundNo, "SUCCESS")
	if err != nil {
		t.Fatal(err)
	}
	done := wait(t, hook.refunded)
	if ev := wait(t, hook.events); ev != "REFUND.SUCCESS" {
		t.Errorf("event %s", ev)
	}
	if *done.RefundId != settled.RefundID || *done.OutRefundNo != outRefundNo || *done.Amount.Refund != 599 || *done.Amount.Total != 2599 || done.SuccessTime == nil {
		t.Errorf("decrypted refund %v", done)
	}
	got, _, err := refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	if err != nil || *got.Status != refunddomestic.STATUS_SUCCESS || *got.RefundId != *rf.RefundId || !got.SuccessTime.Equal(*done.SuccessTime) {
		t.Errorf("official refund query: %v %v", got, err)
	}
	tx, _, err = nat.QueryOrderByOutTradeNo(ctx, native.QueryOrderByOutTradeNoRequest{OutTradeNo: core.String(outTradeNo), Mchid: core.String(emulator.DemoMchID)})
	if err != nil || *tx.TradeState != "REFUND" {
		t.Errorf("after the refund: %v %v", tx, err)
	}
	// Business errors reach wechatpay-go as its APIError.
	_, _, err = refunds.Create(ctx, refunddomestic.CreateRequest{OutTradeNo: core.String(outTradeNo), OutRefundNo: core.String(outRefundNo + "-2"),
		Amount: &refunddomestic.AmountReq{Refund: core.Int64(2001), Total: core.Int64(2599), Currency: core.String("CNY")}})
	if apiErr, ok := err.(*core.APIError); !ok || apiErr.StatusCode != 400 || apiErr.Code != "INVALID_REQUEST" {
		t.Errorf("refund beyond the order: %v", err)
	}
}
