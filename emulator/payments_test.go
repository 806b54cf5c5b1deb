package emulator_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/apiv3/refunddomestic"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The payments rules of the emulator, through the typed client over loopback
// HTTP: ordering again, the states an order goes through, payment codes,
// reversal, and the service-provider variants.

// notifyURL refuses connections on loopback: tests that do not look at
// notifications send none off the machine.
const notifyURL = "http://127.0.0.1:9/wxpay/notify"

func jsapiOrder(outTradeNo string, total int64) *pay.PrepayJSAPIRequest {
	return &pay.PrepayJSAPIRequest{
		AppID: emulator.DemoAppID, MchID: emulator.DemoMchID, Description: "Image形象店-深圳腾大-QQ公仔",
		OutTradeNo: outTradeNo, NotifyURL: notifyURL,
		Amount: pay.Amount{Total: total, Currency: "CNY"}, Payer: pay.Payer{OpenID: emulator.DemoOpenID},
	}
}

func nativeOrder(outTradeNo string, total int64) *pay.PrepayNativeRequest {
	return &pay.PrepayNativeRequest{
		AppID: emulator.DemoAppID, MchID: emulator.DemoMchID, Description: "扫码点餐",
		OutTradeNo: outTradeNo, NotifyURL: notifyURL, Amount: pay.Amount{Total: total, Currency: "CNY"},
	}
}

func codePayOrder(outTradeNo, authCode string, total int64) *pay.CodePayRequest {
	return &pay.CodePayRequest{
		AppID: emulator.DemoAppID, MchID: emulator.DemoMchID, Description: "便利店-收银台",
		OutTradeNo: outTradeNo, Payer: pay.CodePayPayer{AuthCode: authCode},
		Amount:    pay.Amount{Total: total, Currency: "CNY"},
		SceneInfo: pay.CodePaySceneInfo{DeviceID: "POS-013", StoreInfo: pay.CodePayStoreInfo{OutID: "store-1"}},
	}
}

func partnerJSAPIOrder(outTradeNo string, total int64, payer pay.PartnerPayer) *pay.PartnerPrepayJSAPIRequest {
	r := &pay.PartnerPrepayJSAPIRequest{
		SPAppID: emulator.DemoAppID, SPMchID: emulator.DemoMchID, SubMchID: emulator.DemoSubMchID,
		Description: "服务商-子商户门店", OutTradeNo: outTradeNo, NotifyURL: notifyURL,
		Amount: pay.Amount{Total: total, Currency: "CNY"}, Payer: payer,
	}
	if payer.SubOpenID != "" {
		r.SubAppID = emulator.DemoSubAppID
	}
	return r
}

// query answers a direct merchant's order by out_trade_no.
func query(t *testing.T, c *wxpay.Client, outTradeNo string) *pay.Transaction {
	t.Helper()
	tx, _, err := c.V3.Pay.Transactions.OutTradeNo.OutTradeNo(outTradeNo).Get(context.Background(), &pay.GetTransactionByOutTradeNoRequest{MchID: emulator.DemoMchID})
	if err != nil {
		t.Fatalf("query %s: %v", outTradeNo, err)
	}
	return tx
}

func closeOrder(c *wxpay.Client, outTradeNo string) error {
	_, err := c.V3.Pay.Transactions.OutTradeNo.OutTradeNo(outTradeNo).Close.Post(context.Background(), &pay.CloseTransactionRequest{MchID: emulator.DemoMchID})
	return err
}

func reverse(c *wxpay.Client, outTradeNo string) (*pay.Reversal, error) {
	r, _, err := c.V3.Pay.Transactions.OutTradeNo.OutTradeNo(outTradeNo).Reverse.Post(context.Background(),
		&pay.ReverseTransactionRequest{AppID: emulator.DemoAppID, MchID: emulator.DemoMchID})
	return r, err
}

// Ordering again with the same parameters answers the same prepay_id, for two
// hours; another amount, payer or trade type under the same out_trade_no is
// refused. Each trade type keeps its own answer (prepay_id, h5_url, code_url).
func TestPrepaySameOrderAgain(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	h5 := func(no string, total int64) *pay.PrepayH5Request {
		return &pay.PrepayH5Request{AppID: emulator.DemoAppID, MchID: emulator.DemoMchID, Description: "H5商城",
			OutTradeNo: no, NotifyURL: notifyURL, Amount: pay.Amount{Total: total, Currency: "CNY"},
			SceneInfo: pay.H5SceneInfo{PayerClientIP: "203.0.113.7", H5Info: pay.H5Info{Type: "Wap"}}}
	}
	app := func(no string, total int64) *pay.PrepayAppRequest {
		return &pay.PrepayAppRequest{AppID: emulator.DemoAppID, MchID: emulator.DemoMchID, Description: "扫码点餐",
			OutTradeNo: no, NotifyURL: notifyURL, Amount: pay.Amount{Total: total, Currency: "CNY"}}
	}
	tests := []struct {
		name  string
		order func(no string, total int64) (string, error) // the trade type's answer: prepay_id, h5_url or code_url
		check func(answer string) bool
	}{
		{"JSAPI", func(no string, total int64) (string, error) {
			p, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, jsapiOrder(no, total))
			if err != nil {
				return "", err
			}
			return p.PrepayID, nil
		}, func(a string) bool { return strings.HasPrefix(a, "wx2026010110") && len(a) == 36 }},
		{"App", func(no string, total int64) (string, error) {
			p, _, err := c.V3.Pay.Transactions.App.Post(ctx, app(no, total))
			if err != nil {
				return "", err
			}
			return p.PrepayID, nil
		}, func(a string) bool { return strings.HasPrefix(a, "wx") }},
		{"H5", func(no string, total int64) (string, error) {
			p, _, err := c.V3.Pay.Transactions.H5.Post(ctx, h5(no, total))
			if err != nil {
				return "", err
			}
			// The page's package parameter varies; the prepay_id is the order's.
			u, err := url.Parse(p.H5URL)
			if err != nil || u.Host != "wx.tenpay.com" {
				return "", fmt.Errorf("h5_url %q", p.H5URL)
			}
			return u.Query().Get("prepay_id"), nil
		}, func(a string) bool { return strings.HasPrefix(a, "wx") }},
		{"Native", func(no string, total int64) (string, error) {
			p, _, err := c.V3.Pay.Transactions.Native.Post(ctx, nativeOrder(no, total))
			if err != nil {
				return "", err
			}
			return p.CodeURL, nil
		}, func(a string) bool { return strings.HasPrefix(a, "weixin://wxpay/bizpayurl?pr=") }},
	}
	for _, tt := range tests {
		no := "again-" + tt.name
		first, err := tt.order(no, 1000)
		if err != nil || !tt.check(first) {
			t.Fatalf("%s: first order: %q %v", tt.name, first, err)
		}
		again, err := tt.order(no, 1000)
		if err != nil || again != first {
			t.Errorf("%s: the same order again: %q %v, want %q", tt.name, again, err, first)
		}
		_, err = tt.order(no, 1001)
		apiErr(t, err, 400, "INVALID_REQUEST", "201 商户订单号重复")
	}
	srv.Clock().Advance(prepayLifetime - time.Second)
	jsapi := tests[0].order
	before, _ := jsapi("again-JSAPI", 1000)
	srv.Clock().Advance(time.Second) // two hours after the first prepay_id
	after, err := jsapi("again-JSAPI", 1000)
	if err != nil || after == before || !strings.HasPrefix(after, "wx2026010112") {
		t.Errorf("after 2 h: %q %v, before %q: want a new prepay_id", after, err, before)
	}
	if again, _ := jsapi("again-JSAPI", 1000); again != after {
		t.Errorf("the renewed prepay_id lasts: %q then %q", after, again)
	}

	// Another payer, or the same number under another trade type with the
	// same body (App and Native orders can have identical bodies).
	other := jsapiOrder("again-JSAPI", 1000)
	other.Payer.OpenID = emulator.DemoOpenID2
	_, _, err = c.V3.Pay.Transactions.JSAPI.Post(ctx, other)
	apiErr(t, err, 400, "INVALID_REQUEST", "201 商户订单号重复")
	if _, _, err := c.V3.Pay.Transactions.App.Post(ctx, app("app-then-native", 500)); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.V3.Pay.Transactions.Native.Post(ctx, nativeOrder("app-then-native", 500))
	apiErr(t, err, 400, "INVALID_REQUEST", "201 商户订单号重复")
	if o, _ := srv.Emulator.Order(emulator.DemoMchID, "app-then-native"); o.TradeType != "APP" {
		t.Errorf("the refused Native order changed the App order: %+v", o)
	}
}

// prepayLifetime mirrors the emulator's: a prepay_id is valid for two hours.
const prepayLifetime = 2 * time.Hour

// What an order is checked for before it is placed.
func TestPrepayRejections(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	const otherApp, otherUser = "wxOtherApp0000001", "oOtherAppUser000000000000001"
	srv.Emulator.BindAppID(emulator.DemoMchID, otherApp)
	srv.Emulator.AddUser(emulator.User{OpenID: otherUser, AppID: otherApp})
	past := wxpaytest.Start.Add(-time.Minute).Format(time.RFC3339)
	tests := []struct {
		name         string
		change       func(r *pay.PrepayJSAPIRequest)
		status       int
		code, msg    string
		field, value string // of a PARAM_ERROR's detail
	}{
		{"AppID not bound to the merchant", func(r *pay.PrepayJSAPIRequest) { r.AppID = "wxNotBound000000001" }, 400, "APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配", "", ""},
		{"another merchant's mchid", func(r *pay.PrepayJSAPIRequest) { r.MchID = "1900000002" }, 400, "PARAM_ERROR", "商户号与请求签名的商户号不一致", "mchid", "1900000002"},
		{"unknown payer", func(r *pay.PrepayJSAPIRequest) { r.Payer.OpenID = "oNobody" }, 400, "PARAM_ERROR", "OpenID和AppID不匹配", "/payer/openid", "oNobody"},
		{"payer of another AppID", func(r *pay.PrepayJSAPIRequest) { r.Payer.OpenID = otherUser }, 400, "PARAM_ERROR", "OpenID和AppID不匹配", "/payer/openid", otherUser},
		{"AppID of another payer", func(r *pay.PrepayJSAPIRequest) { r.AppID = otherApp }, 400, "PARAM_ERROR", "OpenID和AppID不匹配", "/payer/openid", emulator.DemoOpenID},
		{"time_expire in the past", func(r *pay.PrepayJSAPIRequest) { r.TimeExpire = past }, 400, "PARAM_ERROR", "参数错误", "/time_expire", past},
		{"time_expire not RFC 3339", func(r *pay.PrepayJSAPIRequest) { r.TimeExpire = "2026-01-01 12:00:00" }, 400, "PARAM_ERROR", "参数错误", "/time_expire", "2026-01-01 12:00:00"},
		{"notify_url with a query", func(r *pay.PrepayJSAPIRequest) { r.NotifyURL = notifyURL + "?order=1" }, 400, "PARAM_ERROR", "参数错误", "/notify_url", notifyURL + "?order=1"},
		{"relative notify_url", func(r *pay.PrepayJSAPIRequest) { r.NotifyURL = "/notify" }, 400, "PARAM_ERROR", "参数错误", "/notify_url", "/notify"},
		{"another currency", func(r *pay.PrepayJSAPIRequest) { r.Amount.Currency = "USD" }, 400, "PARAM_ERROR", "参数错误", "/amount/currency", "USD"},
		{"a negative amount", func(r *pay.PrepayJSAPIRequest) { r.Amount.Total = -1 }, 400, "PARAM_ERROR", "参数错误", "/amount/total", "-1"},
	}
	for i, tt := range tests {
		r := jsapiOrder("reject-"+string(rune('a'+i)), 100)
		tt.change(r)
		_, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, r, wxpay.WithoutValidation())
		apiErr(t, err, tt.status, tt.code, tt.msg)
		if tt.field != "" {
			if d := detail(t, err); d.Field != tt.field || d.Value != tt.value {
				t.Errorf("%s: detail %+v", tt.name, d)
			}
		}
	}
	if n := len(ownOrders(srv.Emulator.Orders(emulator.DemoMchID))); n != 0 {
		t.Errorf("refused orders were kept: %d", n)
	}
	// The payer's AppID bound and matching: accepted.
	ok := jsapiOrder("reject-ok", 100)
	ok.AppID, ok.Payer.OpenID = otherApp, otherUser
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, ok); err != nil {
		t.Errorf("a user of another bound AppID: %v", err)
	}
}

// An order from NOTPAY to SUCCESS, CLOSED, and what each state refuses.
func TestOrderStates(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	e := srv.Emulator

	// Unknown orders.
	_, _, err := c.V3.Pay.Transactions.OutTradeNo.OutTradeNo("no-such-order").Get(ctx, &pay.GetTransactionByOutTradeNoRequest{MchID: emulator.DemoMchID})
	apiErr(t, err, 404, "ORDER_NOT_EXIST", "订单不存在")
	_, _, err = c.V3.Pay.Transactions.ID.TransactionID("4200000000202601010000000000").Get(ctx, &pay.GetTransactionByIDRequest{MchID: emulator.DemoMchID})
	apiErr(t, err, 404, "ORDER_NOT_EXIST", "订单不存在")
	apiErr(t, closeOrder(c, "no-such-order"), 404, "ORDER_NOT_EXIST", "订单不存在")
	if _, err := srv.Pay("no-such-order", ""); !errors.Is(err, emulator.ErrOrder) {
		t.Errorf("paying an unknown order: %v", err)
	}

	// NOTPAY → SUCCESS.
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, jsapiOrder("state-paid", 1000)); err != nil {
		t.Fatal(err)
	}
	tx := query(t, c, "state-paid")
	if tx.TradeState != pay.TradeStateNotPay || tx.TransactionID != "" || tx.Payer != nil || *tx.Amount.Total != 1000 || tx.TradeStateDesc != "未支付" {
		t.Errorf("unpaid: %+v", tx)
	}
	paid, err := srv.Pay("state-paid", "SUCCESS")
	if err != nil || paid.State != emulator.TradeSuccess || len(paid.TransactionID) != 28 || !strings.HasPrefix(paid.TransactionID, "4200") {
		t.Fatalf("pay: %+v %v", paid, err)
	}
	tx = query(t, c, "state-paid")
	if tx.TradeState != pay.TradeStateSuccess || tx.TransactionID != paid.TransactionID || tx.TradeType != pay.TradeTypeJSAPI ||
		tx.Payer == nil || tx.Payer.OpenID != emulator.DemoOpenID || *tx.Amount.PayerTotal != 1000 || tx.SuccessTime != "2026-01-01T10:00:00+08:00" {
		t.Errorf("paid: %+v", tx)
	}
	byID, _, err := c.V3.Pay.Transactions.ID.TransactionID(paid.TransactionID).Get(ctx, &pay.GetTransactionByIDRequest{MchID: emulator.DemoMchID})
	if err != nil || byID.OutTradeNo != "state-paid" {
		t.Errorf("by transaction_id: %+v %v", byID, err)
	}
	// A paid order: the same order again, closing and paying it are refused.
	_, _, err = c.V3.Pay.Transactions.JSAPI.Post(ctx, jsapiOrder("state-paid", 1000))
	apiErr(t, err, 403, "OUT_TRADE_NO_USED", "商户订单号重复")
	apiErr(t, closeOrder(c, "state-paid"), 403, "TRADE_ERROR", "订单已支付，不能关闭")
	if _, err := srv.Pay("state-paid", ""); !errors.Is(err, emulator.ErrOrder) {
		t.Errorf("paying twice: %v", err)
	}

	// NOTPAY → CLOSED; closing again is harmless.
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, jsapiOrder("state-closed", 1000)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := closeOrder(c, "state-closed"); err != nil {
			t.Fatalf("close #%d: %v", i+1, err)
		}
	}
	if tx := query(t, c, "state-closed"); tx.TradeState != pay.TradeStateClosed {
		t.Errorf("closed: %+v", tx)
	}
	_, _, err = c.V3.Pay.Transactions.JSAPI.Post(ctx, jsapiOrder("state-closed", 1000))
	apiErr(t, err, 400, "ORDER_CLOSED", "订单已关闭")
	if _, err := srv.Pay("state-closed", ""); !errors.Is(err, emulator.ErrOrder) {
		t.Errorf("paying a closed order: %v", err)
	}

	// PAYERROR and USERPAYING from the payer's side.
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, jsapiOrder("state-failed", 1000)); err != nil {
		t.Fatal(err)
	}
	if o, err := srv.Pay("state-failed", "PAYERROR"); err != nil || o.State != emulator.TradePayError {
		t.Errorf("PAYERROR: %+v %v", o, err)
	}
	if tx := query(t, c, "state-failed"); tx.TradeState != pay.TradeStatePayError || tx.TransactionID != "" {
		t.Errorf("failed: %+v", tx)
	}
	if _, err := srv.Pay("state-failed", "REFUND"); !errors.Is(err, emulator.ErrOrder) {
		t.Errorf("an unknown result: %v", err)
	}

	// A Native order names no payer: the one who paid is a user of its AppID.
	if _, _, err := c.V3.Pay.Transactions.Native.Post(ctx, nativeOrder("state-native", 300)); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Pay("state-native", ""); err != nil {
		t.Fatal(err)
	}
	if tx := query(t, c, "state-native"); tx.Payer == nil || tx.Payer.OpenID != emulator.DemoOpenID || tx.TradeType != pay.TradeTypeNative {
		t.Errorf("paid Native order: %+v", tx)
	}

	// Another merchant's orders are not found (the query's mchid must be the caller's).
	_, _, err = c.V3.Pay.Transactions.OutTradeNo.OutTradeNo("state-paid").Get(ctx, &pay.GetTransactionByOutTradeNoRequest{MchID: "1900000002"})
	apiErr(t, err, 400, "PARAM_ERROR", "商户号与请求签名的商户号不一致")
	if got := ownOrders(e.Orders(emulator.DemoMchID)); len(got) != 4 {
		t.Errorf("orders: %+v", got)
	}
}

// time_expire: the order can be paid until then, not after.
func TestTimeExpire(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	expire := wxpaytest.Start.Add(15 * time.Minute).Format(time.RFC3339)
	for _, no := range []string{"expire-early", "expire-late"} {
		r := jsapiOrder(no, 100)
		r.TimeExpire = expire
		if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	srv.Clock().Advance(15*time.Minute - time.Second)
	if _, err := srv.Pay("expire-early", ""); err != nil {
		t.Errorf("paid a second before time_expire: %v", err)
	}
	srv.Clock().Advance(time.Second)
	_, err := srv.Pay("expire-late", "")
	if !errors.Is(err, emulator.ErrOrder) || !strings.Contains(err.Error(), "time_expire") {
		t.Errorf("paid at time_expire: %v", err)
	}
	if tx := query(t, c, "expire-late"); tx.TradeState != pay.TradeStateNotPay {
		t.Errorf("an expired order stays unpaid: %+v", tx)
	}
}

// Payment codes: paid at once, waiting for the payer (202 USERPAYING) until the
// payer pays, or failed; the same order again answers its state.
func TestCodePay(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	e := srv.Emulator
	const paying, failing = "134567890123456789", "100000000000000001"
	if err := e.RegisterPayerCode(paying, emulator.PayerCodeUserPaying); err != nil {
		t.Fatal(err)
	}
	if err := e.RegisterPayerCode(failing, emulator.PayerCodePayError); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ code, outcome string }{{"16456789012345678", "SUCCESS"}, {"194567890123456789", "SUCCESS"}, {"134567890123456789", "REFUND"}} {
		if err := e.RegisterPayerCode(bad.code, bad.outcome); err == nil {
			t.Errorf("RegisterPayerCode(%q, %q) accepted", bad.code, bad.outcome)
		}
	}
	tests := []struct {
		no, code string
		status   int
		state    pay.TradeState
	}{
		{"code-success", "114567890123456789", 200, pay.TradeStateSuccess}, // unregistered: pays at once
		{"code-paying", paying, 202, pay.TradeStateUserPaying},
		{"code-failing", failing, 200, pay.TradeStatePayError},
	}
	for _, tt := range tests {
		for i := 0; i < 2; i++ { // the same order again answers the same
			tx, resp, err := c.V3.Pay.Transactions.CodePay.Post(ctx, codePayOrder(tt.no, tt.code, 888))
			if err != nil || resp.StatusCode != tt.status || tx.TradeState != tt.state || tx.OutTradeNo != tt.no || tx.TradeType != "" && tx.TradeType != pay.TradeTypeMicropay {
				t.Fatalf("%s #%d: %d %+v %v", tt.no, i+1, resp.StatusCode, tx, err)
			}
			if tx.SceneInfo == nil || tx.SceneInfo.DeviceID != "POS-013" {
				t.Errorf("%s: scene_info %+v", tt.no, tx.SceneInfo)
			}
			if paid := tt.state == pay.TradeStateSuccess; paid != (tx.TransactionID != "") || paid && (tx.Payer == nil || tx.Payer.OpenID != emulator.DemoOpenID) {
				t.Errorf("%s: transaction_id %q payer %+v", tt.no, tx.TransactionID, tx.Payer)
			}
		}
	}
	// The waiting payer confirms: the order is paid, the query says so.
	if o, err := srv.Pay("code-paying", "SUCCESS"); err != nil || o.State != emulator.TradeSuccess {
		t.Fatalf("%+v %v", o, err)
	}
	if tx := query(t, c, "code-paying"); tx.TradeState != pay.TradeStateSuccess || tx.TradeType != pay.TradeTypeMicropay {
		t.Errorf("after the payer confirmed: %+v", tx)
	}
	// A failed code-pay order is not paid later.
	if _, err := srv.Pay("code-failing", "SUCCESS"); !errors.Is(err, emulator.ErrOrder) {
		t.Errorf("paying a PAYERROR order: %v", err)
	}
	// Bad codes and a reused number.
	_, _, err := c.V3.Pay.Transactions.CodePay.Post(ctx, codePayOrder("code-bad", "123", 888))
	if d := detail(t, err); d.Field != "/payer/auth_code" || d.Value != "123" {
		t.Errorf("bad code: %+v", d)
	}
	_, _, err = c.V3.Pay.Transactions.CodePay.Post(ctx, codePayOrder("code-success", "114567890123456789", 889))
	apiErr(t, err, 400, "INVALID_REQUEST", "201 商户订单号重复")
}

// Reversal (撤销) applies to payment-code orders only: unpaid or paid, they end
// REVOKED, and the reverse may be called again.
func TestReverse(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	e := srv.Emulator
	const paying = "134567890123456780"
	if err := e.RegisterPayerCode(paying, emulator.PayerCodeUserPaying); err != nil {
		t.Fatal(err)
	}
	codePay := func(no, code string) {
		t.Helper()
		if _, _, err := c.V3.Pay.Transactions.CodePay.Post(ctx, codePayOrder(no, code, 500)); err != nil {
			t.Fatal(err)
		}
	}
	codePay("rev-waiting", paying)
	codePay("rev-paid", "114567890123456780")
	codePay("rev-refunded", "114567890123456781")
	codePay("rev-closed", paying)
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, jsapiOrder("rev-jsapi", 500)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.V3.Refund.Domestic.Refunds.Post(ctx, &refunddomestic.CreateRefundRequest{OutTradeNo: "rev-refunded", OutRefundNo: "rev-refunded-1",
		Amount: refunddomestic.RefundRequestAmount{Refund: 100, Total: 500, Currency: "CNY"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.SettleRefund("rev-refunded-1", ""); err != nil {
		t.Fatal(err)
	}
	if err := closeOrder(c, "rev-closed"); err != nil {
		t.Fatal(err)
	}

	for _, no := range []string{"rev-waiting", "rev-paid"} {
		for i := 0; i < 2; i++ {
			r, err := reverse(c, no)
			if err != nil || r.OutTradeNo != no || r.MchID != emulator.DemoMchID || r.AppID != emulator.DemoAppID {
				t.Fatalf("%s reverse #%d: %+v %v", no, i+1, r, err)
			}
		}
		if tx := query(t, c, no); tx.TradeState != pay.TradeStateRevoked {
			t.Errorf("%s: %+v", no, tx)
		}
	}
	if _, err := srv.Pay("rev-waiting", ""); !errors.Is(err, emulator.ErrOrder) {
		t.Errorf("paying a reversed order: %v", err)
	}
	apiErr(t, closeOrder(c, "rev-waiting"), 403, "TRADE_ERROR", "订单已撤销，不能关闭")
	_, err := reverse(c, "rev-jsapi")
	apiErr(t, err, 403, "TRADE_ERROR", "非付款码支付的订单不能撤销，请使用关闭订单或申请退款")
	_, err = reverse(c, "rev-refunded")
	apiErr(t, err, 403, "TRADE_ERROR", "订单已发生退款，不能撤销")
	_, err = reverse(c, "rev-closed")
	apiErr(t, err, 400, "ORDER_CLOSED", "订单已关闭")
	_, err = reverse(c, "rev-none")
	apiErr(t, err, 404, "ORDER_NOT_EXIST", "订单不存在")
}

// A service provider orders for its sub-merchant: the payer is given as
// sp_openid (a user of sp_appid) or sub_openid (of sub_appid), the order is
// the sub-merchant's, and its queries, payment code, close and reverse take
// sp_mchid and sub_mchid.
func TestPartnerOrders(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	e := srv.Emulator
	partner := c.V3.Pay.Partner.Transactions
	pquery := func(no string) (*pay.PartnerTransaction, error) {
		tx, _, err := partner.OutTradeNo.OutTradeNo(no).Get(ctx, &pay.PartnerGetTransactionByOutTradeNoRequest{SPMchID: emulator.DemoMchID, SubMchID: emulator.DemoSubMchID})
		return tx, err
	}

	tests := []struct {
		no    string
		payer pay.PartnerPayer
		check func(p *pay.PartnerTransactionPayer) bool
	}{
		{"partner-sp", pay.PartnerPayer{SPOpenID: emulator.DemoOpenID}, func(p *pay.PartnerTransactionPayer) bool {
			return p.SPOpenID == emulator.DemoOpenID && p.SubOpenID == ""
		}},
		{"partner-sub", pay.PartnerPayer{SubOpenID: emulator.DemoSubOpenID}, func(p *pay.PartnerTransactionPayer) bool {
			return p.SubOpenID == emulator.DemoSubOpenID && p.SPOpenID == ""
		}},
	}
	for _, tt := range tests {
		first, _, err := partner.JSAPI.Post(ctx, partnerJSAPIOrder(tt.no, 700, tt.payer))
		if err != nil {
			t.Fatalf("%s: %v", tt.no, err)
		}
		again, _, err := partner.JSAPI.Post(ctx, partnerJSAPIOrder(tt.no, 700, tt.payer))
		if err != nil || again.PrepayID != first.PrepayID {
			t.Errorf("%s again: %+v %v", tt.no, again, err)
		}
		// The order is the sub-merchant's: Pay and SettleRefund take its mchid.
		if _, err := e.Pay(emulator.DemoSubMchID, tt.no, "SUCCESS"); err != nil {
			t.Fatal(err)
		}
		tx, err := pquery(tt.no)
		if err != nil || tx.TradeState != pay.TradeStateSuccess || tx.SPMchID != emulator.DemoMchID || tx.SubMchID != emulator.DemoSubMchID ||
			tx.SPAppID != emulator.DemoAppID || tx.Payer == nil || !tt.check(tx.Payer) {
			t.Errorf("%s: %+v %v", tt.no, tx, err)
		}
		byID, _, err := partner.ID.TransactionID(tx.TransactionID).Get(ctx, &pay.PartnerGetTransactionByIDRequest{SPMchID: emulator.DemoMchID, SubMchID: emulator.DemoSubMchID})
		if err != nil || byID.OutTradeNo != tt.no {
			t.Errorf("%s by id: %+v %v", tt.no, byID, err)
		}
		// Not a direct order of the provider.
		_, _, err = c.V3.Pay.Transactions.OutTradeNo.OutTradeNo(tt.no).Get(ctx, &pay.GetTransactionByOutTradeNoRequest{MchID: emulator.DemoMchID})
		apiErr(t, err, 404, "ORDER_NOT_EXIST", "订单不存在")
	}

	rejections := []struct {
		name      string
		change    func(r *pay.PartnerPrepayJSAPIRequest)
		status    int
		code, msg string
		field     string
	}{
		{"both openids", func(r *pay.PartnerPrepayJSAPIRequest) {
			r.Payer.SubOpenID, r.SubAppID = emulator.DemoSubOpenID, emulator.DemoSubAppID
		}, 400, "PARAM_ERROR", "参数错误", "/payer"},
		{"no openid", func(r *pay.PartnerPrepayJSAPIRequest) { r.Payer.SPOpenID = "" }, 400, "PARAM_ERROR", "参数错误", "/payer"},
		{"sub_openid without sub_appid", func(r *pay.PartnerPrepayJSAPIRequest) { r.Payer = pay.PartnerPayer{SubOpenID: emulator.DemoSubOpenID} }, 400, "PARAM_ERROR", "参数错误", "/sub_appid"},
		{"sub_openid of another AppID", func(r *pay.PartnerPrepayJSAPIRequest) {
			r.Payer, r.SubAppID = pay.PartnerPayer{SubOpenID: emulator.DemoOpenID}, emulator.DemoSubAppID
		}, 500, "OPENID_MISMATCH", "OpenID和AppID不匹配", ""},
		{"unknown sp_openid", func(r *pay.PartnerPrepayJSAPIRequest) { r.Payer.SPOpenID = "oNobody" }, 500, "OPENID_MISMATCH", "OpenID和AppID不匹配", ""},
		{"sub_appid not bound to the sub-merchant", func(r *pay.PartnerPrepayJSAPIRequest) { r.SubAppID = emulator.DemoAppID }, 400, "APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配", ""},
		{"sp_appid not bound to the provider", func(r *pay.PartnerPrepayJSAPIRequest) { r.SPAppID = emulator.DemoSubAppID }, 400, "APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配", ""},
		{"not the provider's sub-merchant", func(r *pay.PartnerPrepayJSAPIRequest) { r.SubMchID = "1900000999" }, 400, "INVALID_REQUEST", "子商户号sub_mchid与服务商商户号不存在受理关系", ""},
		{"sp_mchid of another provider", func(r *pay.PartnerPrepayJSAPIRequest) { r.SPMchID = "1900000002" }, 400, "PARAM_ERROR", "商户号与请求签名的商户号不一致", "sp_mchid"},
	}
	for i, tt := range rejections {
		r := partnerJSAPIOrder("partner-bad-"+string(rune('a'+i)), 100, pay.PartnerPayer{SPOpenID: emulator.DemoOpenID})
		tt.change(r)
		_, _, err := partner.JSAPI.Post(ctx, r, wxpay.WithoutValidation())
		apiErr(t, err, tt.status, tt.code, tt.msg)
		if tt.field != "" {
			if d := detail(t, err); d.Field != tt.field {
				t.Errorf("%s: detail %+v", tt.name, d)
			}
		}
	}

	// A payment code of a sub-merchant's user, then its reversal; a close.
	tx, _, err := partner.CodePay.Post(ctx, &pay.PartnerCodePayRequest{
		SPAppID: emulator.DemoAppID, SPMchID: emulator.DemoMchID, SubAppID: emulator.DemoSubAppID, SubMchID: emulator.DemoSubMchID,
		Description: "子商户收银台", OutTradeNo: "partner-code", Payer: pay.CodePayPayer{AuthCode: "114567890123456782"},
		Amount: pay.Amount{Total: 300, Currency: "CNY"}, SceneInfo: pay.CodePaySceneInfo{StoreInfo: pay.CodePayStoreInfo{OutID: "s1"}},
	})
	if err != nil || tx.TradeState != pay.TradeStateSuccess || tx.Payer == nil || tx.Payer.SubOpenID != emulator.DemoSubOpenID || tx.SubAppID != emulator.DemoSubAppID {
		t.Fatalf("partner code pay: %+v %v", tx, err)
	}
	rev, _, err := partner.OutTradeNo.OutTradeNo("partner-code").Reverse.Post(ctx, &pay.PartnerReverseTransactionRequest{
		SPAppID: emulator.DemoAppID, SPMchID: emulator.DemoMchID, SubAppID: emulator.DemoSubAppID, SubMchID: emulator.DemoSubMchID})
	if err != nil || rev.SubMchID != emulator.DemoSubMchID || rev.SPMchID != emulator.DemoMchID || rev.SubAppID != emulator.DemoSubAppID {
		t.Errorf("partner reverse: %+v %v", rev, err)
	}
	if _, _, err := partner.JSAPI.Post(ctx, partnerJSAPIOrder("partner-close", 100, pay.PartnerPayer{SPOpenID: emulator.DemoOpenID})); err != nil {
		t.Fatal(err)
	}
	closeReq := &pay.PartnerCloseTransactionRequest{SPMchID: emulator.DemoMchID, SubMchID: emulator.DemoSubMchID}
	if _, err := partner.OutTradeNo.OutTradeNo("partner-close").Close.Post(ctx, closeReq); err != nil {
		t.Fatal(err)
	}
	if tx, err := pquery("partner-close"); err != nil || tx.TradeState != pay.TradeStateClosed {
		t.Errorf("partner close: %+v %v", tx, err)
	}
	_, err = partner.OutTradeNo.OutTradeNo("partner-sp").Close.Post(ctx, closeReq)
	apiErr(t, err, 403, "TRADE_ERROR", "订单已支付，不能关闭")
	// The sub-merchant's orders, by either mchid.
	if n, m := len(ownOrders(e.Orders(emulator.DemoSubMchID))), len(ownOrders(e.Orders(emulator.DemoMchID))); n != 4 || m != 4 {
		t.Errorf("orders of the sub-merchant %d, of the provider %d", n, m)
	}
}

// demoNumbers are the out_trade_no and out_refund_no that SeedDemo places
// (demo_payments.go).
var demoNumbers = map[string]bool{
	emulator.DemoOutTradeNo: true, emulator.DemoUnpaidOutTradeNo: true, emulator.DemoUserPayingOutTradeNo: true,
	emulator.DemoPartnerOutTradeNo: true, emulator.DemoPartnerUnpaidOutTradeNo: true, emulator.DemoPartnerUserPayingOutTradeNo: true,
	emulator.DemoOutRefundNo: true, emulator.DemoAbnormalOutRefundNo: true,
}

// ownOrders leaves out the demo orders, so that a test counts its own.
func ownOrders(orders []emulator.Order) []emulator.Order {
	var out []emulator.Order
	for _, o := range orders {
		if !demoNumbers[o.OutTradeNo] {
			out = append(out, o)
		}
	}
	return out
}

// ownRefunds leaves out the demo refunds.
func ownRefunds(refunds []emulator.Refund) []emulator.Refund {
	var out []emulator.Refund
	for _, r := range refunds {
		if !demoNumbers[r.OutRefundNo] {
			out = append(out, r)
		}
	}
	return out
}
