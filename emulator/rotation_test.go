package emulator_test

import (
	"context"
	"errors"
	"math/big"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/payrollcard"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// TestRotateCertificate walks a platform-certificate rotation: the new
// certificate signs at once, the old one stays listed (and signs for requests
// that name it) until it is retired.
func TestRotateCertificate(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	srv := wxpaytest.NewServer(wxpaytest.WithCertificateMode())
	t.Cleanup(srv.Close)
	ctx := context.Background()
	serialA := k.PlatformCertSerial
	keyB := testkeys.Generate()
	start := wxpaytest.Start.Add(-time.Hour)
	certB := testkeys.SelfSigned(keyB, big.NewInt(0xB0B0B0B0B0E1), start, start.AddDate(6, 0, 0))
	serialB := wxpay.CertificateSerial(certB)

	listed := func() []string {
		t.Helper()
		certs, err := wxpay.DownloadCertificates(ctx, srv.APIv3Key(),
			wxpay.WithMerchant(emulator.DemoMchID, emulator.DemoMerchantSerial, srv.MerchantKey()),
			wxpay.WithBaseURL(srv.URL), wxpay.WithHTTPClient(srv.HTTPClient()), wxpay.WithClock(srv.Now))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range certs {
			out = append(out, c.Serial)
		}
		return out
	}
	// payroll encrypts for the client's certificate and so names it in Wechatpay-Serial.
	payroll := func(c *wxpay.Client) (*wxpay.Response, error) {
		_, resp, err := c.V3.PayrollCard.Tokens.Post(ctx, &payrollcard.CreateTokenRequest{
			OpenID: emulator.DemoOpenID, SubMchID: emulator.DemoSubMchID, SubAppID: emulator.DemoSubAppID,
			UserName: "张三", IDCardNumber: "110101199003077777"})
		return resp, err
	}

	if err := srv.Emulator.RotateCertificate(certB, keyB); err != nil {
		t.Fatal(err)
	}
	if l, s := srv.Emulator.CertificateSerials(); !slices.Equal(l, []string{serialA, serialB}) || s != serialB {
		t.Errorf("CertificateSerials = %v, %s", l, s)
	}
	if got := listed(); !slices.Equal(got, []string{serialA, serialB}) {
		t.Errorf("during the overlap /v3/certificates lists %v", got)
	}
	// A client that knows only A: unnamed answers come from B, named ones from A.
	onlyA := srv.Client()
	_, err := onlyA.Chain("v3/marketing/membercard-open/cards/{card_id}").Get(ctx, wxpay.PathParam("card_id", emulator.DemoCardID))
	if !errors.Is(err, wxpay.ErrUnknownSerial) {
		t.Errorf("answer to a client that knows only A: %v, want it signed by B", err)
	}
	if resp, err := payroll(onlyA); err != nil || resp.Header.Get("Wechatpay-Serial") != serialA {
		t.Errorf("a request naming A: %v", err)
	}
	// Notifications come from B.
	n, err := srv.Emulator.NewNotification(notify.EventBrandMemberCardSPUserCardCreate, map[string]any{"card_id": "c"})
	if err != nil || n.Header.Get("Wechatpay-Serial") != serialB {
		t.Errorf("notification signed by %s (%v), want %s", n.Header.Get("Wechatpay-Serial"), err, serialB)
	}
	// A client that knows B encrypts for B.
	withB := srv.Client(wxpay.WithPlatformCertificate(certB))
	if resp, err := payroll(withB); err != nil || resp.Header.Get("Wechatpay-Serial") != serialB {
		t.Errorf("a request naming B: %v", err)
	}

	// Retiring A ends the overlap: no longer listed, fields for A no longer open.
	if err := srv.Emulator.RetireCertificate(serialA); err != nil {
		t.Fatal(err)
	}
	if got := listed(); !slices.Equal(got, []string{serialB}) {
		t.Errorf("after retiring A /v3/certificates lists %v", got)
	}
	var ae *wxpay.APIError
	if _, err := payroll(onlyA); !errors.As(err, &ae) || ae.StatusCode != http.StatusBadRequest || ae.Code != "PARAM_ERROR" {
		t.Errorf("fields encrypted for a retired certificate: %v", err)
	}
	if _, err := payroll(withB); err != nil {
		t.Errorf("after the rotation: %v", err)
	}

	// Mistakes.
	for name, err := range map[string]error{
		"retire the signing certificate": srv.Emulator.RetireCertificate(serialB),
		"retire an unknown certificate":  srv.Emulator.RetireCertificate(serialA),
		"rotate to a held certificate":   srv.Emulator.RotateCertificate(certB, keyB),
		"rotate with another key":        srv.Emulator.RotateCertificate(k.PlatformCert, keyB),
		"rotate to nothing":              srv.Emulator.RotateCertificate(nil, nil),
		"rotate to a merchant serial": srv.Emulator.RotateCertificate(
			testkeys.SelfSigned(keyB, new(big.Int).SetBytes([]byte{0x37, 0x75, 0xB6, 0xA4, 0x5A, 0xCD, 0x58, 0x88, 0x26, 0xD1, 0x5E, 0x58, 0x3A, 0x95, 0xF5, 0xDD, 0, 0, 0, 1}),
				start, start.AddDate(1, 0, 0)), keyB),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	pub := wxpaytest.NewServer()
	t.Cleanup(pub.Close)
	if err := pub.Emulator.RotateCertificate(certB, keyB); err == nil {
		t.Error("a public-key-mode emulator rotated a certificate")
	}
}
