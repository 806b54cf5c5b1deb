package wxpaytest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

const notifyURL = "http://127.0.0.1:9/notify" // refuses: nothing leaves loopback

func jsapiOrder(c *wxpay.Client, no string) (string, error) {
	p, _, err := c.V3.Pay.Transactions.JSAPI.Post(context.Background(), &pay.PrepayJSAPIRequest{
		AppID: emulator.DemoAppID, MchID: emulator.DemoMchID, Description: "前端参数", OutTradeNo: no, NotifyURL: notifyURL,
		Amount: pay.Amount{Total: 100, Currency: "CNY"}, Payer: pay.Payer{OpenID: emulator.DemoOpenID}})
	if err != nil {
		return "", err
	}
	return p.PrepayID, nil
}

func TestVerifyJSAPIPayment(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	c := srv.Client()
	signer := pay.PaymentSigner{Key: srv.MerchantKey(), Now: srv.Now}
	prepay := map[string]string{}
	for _, no := range []string{"fe-good", "fe-paid", "fe-closed", "fe-late"} {
		id, err := jsapiOrder(c, no)
		if err != nil {
			t.Fatal(err)
		}
		prepay[no] = id
	}
	native, _, err := c.V3.Pay.Transactions.App.Post(context.Background(), &pay.PrepayAppRequest{AppID: emulator.DemoAppID, MchID: emulator.DemoMchID,
		Description: "App", OutTradeNo: "fe-app", NotifyURL: notifyURL, Amount: pay.Amount{Total: 100, Currency: "CNY"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Pay("fe-paid", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := c.V3.Pay.Transactions.OutTradeNo.OutTradeNo("fe-closed").Close.Post(context.Background(), &pay.CloseTransactionRequest{MchID: emulator.DemoMchID}); err != nil {
		t.Fatal(err)
	}
	sign := func(appID, prepayID string) *pay.JSAPIPayment {
		t.Helper()
		p, err := signer.JSAPI(appID, prepayID)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := srv.VerifyJSAPIPayment(sign(emulator.DemoAppID, prepay["fe-good"])); err != nil {
		t.Fatalf("good parameters: %v", err)
	}
	otherKey := testkeys.Shared().Platform // any key but the merchant's
	tests := []struct {
		name    string
		p       func() *pay.JSAPIPayment
		sigFail bool // also pay.ErrPaySign
	}{
		{"nil", func() *pay.JSAPIPayment { return nil }, false},
		{"paySign changed", func() *pay.JSAPIPayment {
			p := sign(emulator.DemoAppID, prepay["fe-good"])
			p.NonceStr = "x" + p.NonceStr[1:]
			return p
		}, true},
		{"signed by another key", func() *pay.JSAPIPayment {
			p, _ := pay.PaymentSigner{Key: otherKey, Now: srv.Now}.JSAPI(emulator.DemoAppID, prepay["fe-good"])
			return p
		}, true},
		{"another AppID, signed", func() *pay.JSAPIPayment { return sign(emulator.DemoSubAppID, prepay["fe-good"]) }, false},
		{"signType", func() *pay.JSAPIPayment {
			p := sign(emulator.DemoAppID, prepay["fe-good"])
			p.SignType = "HMAC-SHA256"
			return p
		}, false},
		{"package without prepay_id=", func() *pay.JSAPIPayment {
			p := sign(emulator.DemoAppID, prepay["fe-good"])
			p.Package = prepay["fe-good"]
			return p
		}, false},
		{"timeStamp in milliseconds", func() *pay.JSAPIPayment {
			p := sign(emulator.DemoAppID, prepay["fe-good"])
			p.TimeStamp += "000"
			return p
		}, false},
		{"unknown prepay_id", func() *pay.JSAPIPayment { return sign(emulator.DemoAppID, "wx20260101100000000000000000000000") }, false},
		{"an App order's prepay_id", func() *pay.JSAPIPayment { return sign(emulator.DemoAppID, native.PrepayID) }, false},
		{"paid order", func() *pay.JSAPIPayment { return sign(emulator.DemoAppID, prepay["fe-paid"]) }, false},
		{"closed order", func() *pay.JSAPIPayment { return sign(emulator.DemoAppID, prepay["fe-closed"]) }, false},
	}
	for _, tt := range tests {
		err := srv.VerifyJSAPIPayment(tt.p())
		if !errors.Is(err, wxpaytest.ErrPaymentRefused) || tt.sigFail != errors.Is(err, pay.ErrPaySign) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// A prepay_id lasts two hours.
	late := sign(emulator.DemoAppID, prepay["fe-late"])
	srv.Clock().Advance(2*time.Hour - time.Second)
	if err := srv.VerifyJSAPIPayment(late); err != nil {
		t.Errorf("before two hours: %v", err)
	}
	srv.Clock().Advance(time.Second)
	if err := srv.VerifyJSAPIPayment(late); !errors.Is(err, wxpaytest.ErrPaymentRefused) {
		t.Errorf("after two hours: %v", err)
	}
}

func TestVerifyAppPayment(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	c := srv.Client()
	ctx := context.Background()
	signer := pay.PaymentSigner{Key: srv.MerchantKey(), Now: srv.Now}
	direct, _, err := c.V3.Pay.Transactions.App.Post(ctx, &pay.PrepayAppRequest{AppID: emulator.DemoAppID, MchID: emulator.DemoMchID,
		Description: "App", OutTradeNo: "app-direct", NotifyURL: notifyURL, Amount: pay.Amount{Total: 100, Currency: "CNY"}})
	if err != nil {
		t.Fatal(err)
	}
	partner, _, err := c.V3.Pay.Partner.Transactions.App.Post(ctx, &pay.PartnerPrepayAppRequest{SPAppID: emulator.DemoAppID, SPMchID: emulator.DemoMchID,
		SubAppID: emulator.DemoSubAppID, SubMchID: emulator.DemoSubMchID, Description: "子商户App", OutTradeNo: "app-partner", NotifyURL: notifyURL,
		Amount: pay.Amount{Total: 100, Currency: "CNY"}})
	if err != nil {
		t.Fatal(err)
	}
	jsapi, err := jsapiOrder(c, "app-jsapi")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                       string
		appID, partnerID, prepayID string
		change                     func(p *pay.AppPayment)
		ok                         bool
	}{
		{"direct", emulator.DemoAppID, emulator.DemoMchID, direct.PrepayID, nil, true},
		{"partner: sub_appid and the sub-merchant", emulator.DemoSubAppID, emulator.DemoSubMchID, partner.PrepayID, nil, true},
		{"partner: the provider as partnerid", emulator.DemoSubAppID, emulator.DemoMchID, partner.PrepayID, nil, false},
		{"partner: sp_appid", emulator.DemoAppID, emulator.DemoSubMchID, partner.PrepayID, nil, false},
		{"another merchant", emulator.DemoAppID, "1900000002", direct.PrepayID, nil, false},
		{"a JSAPI order", emulator.DemoAppID, emulator.DemoMchID, jsapi, nil, false},
		{"package", emulator.DemoAppID, emulator.DemoMchID, direct.PrepayID, func(p *pay.AppPayment) { p.Package = "prepay_id=" + p.PrepayID }, false},
		{"sign over another prepayid", emulator.DemoAppID, emulator.DemoMchID, direct.PrepayID, func(p *pay.AppPayment) { p.PrepayID = partner.PrepayID }, false},
		{"no nonce", emulator.DemoAppID, emulator.DemoMchID, direct.PrepayID, func(p *pay.AppPayment) { p.NonceStr = "" }, false},
	}
	for _, tt := range tests {
		p, err := signer.App(tt.appID, tt.partnerID, tt.prepayID)
		if err != nil {
			t.Fatal(err)
		}
		if tt.change != nil {
			tt.change(p)
		}
		if err := srv.VerifyAppPayment(p); (err == nil) != tt.ok || err != nil && !errors.Is(err, wxpaytest.ErrPaymentRefused) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	if err := srv.VerifyAppPayment(nil); !errors.Is(err, wxpaytest.ErrPaymentRefused) {
		t.Errorf("nil: %v", err)
	}
}

// A service provider's JSAPI order: appId is sub_appid when the payer is a
// sub_openid, sp_appid when an sp_openid.
func TestVerifyPartnerJSAPIPayment(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	c := srv.Client()
	signer := pay.PaymentSigner{Key: srv.MerchantKey(), Now: srv.Now}
	order := func(no string, payer pay.PartnerPayer, subAppID string) string {
		p, _, err := c.V3.Pay.Partner.Transactions.JSAPI.Post(context.Background(), &pay.PartnerPrepayJSAPIRequest{
			SPAppID: emulator.DemoAppID, SPMchID: emulator.DemoMchID, SubAppID: subAppID, SubMchID: emulator.DemoSubMchID,
			Description: "子商户", OutTradeNo: no, NotifyURL: notifyURL, Amount: pay.Amount{Total: 100, Currency: "CNY"}, Payer: payer})
		if err != nil {
			t.Fatal(err)
		}
		return p.PrepayID
	}
	sub := order("pj-sub", pay.PartnerPayer{SubOpenID: emulator.DemoSubOpenID}, emulator.DemoSubAppID)
	sp := order("pj-spo", pay.PartnerPayer{SPOpenID: emulator.DemoOpenID}, emulator.DemoSubAppID)
	tests := []struct {
		appID, prepayID string
		ok              bool
	}{
		{emulator.DemoSubAppID, sub, true},
		{emulator.DemoAppID, sub, false},
		{emulator.DemoAppID, sp, true},
		{emulator.DemoSubAppID, sp, false},
	}
	for _, tt := range tests {
		p, err := signer.JSAPI(tt.appID, tt.prepayID)
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.VerifyJSAPIPayment(p); (err == nil) != tt.ok {
			t.Errorf("appId %s for %s: %v", tt.appID, tt.prepayID, err)
		}
	}
}
