package emulator_test

import (
	"context"
	"errors"
	"testing"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/payrollcard"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// onlyKey returns a verifier that knows one WeChat Pay key: the public key by
// its ID, or the platform certificate by its serial.
func onlyKey(t *testing.T, srv *wxpaytest.Server, serial string) *wxpay.Verifier {
	t.Helper()
	k := testkeys.Shared()
	opt := wxpay.WithPlatformPublicKey(emulator.DemoPublicKeyID, &k.Platform.PublicKey)
	if serial == k.PlatformCertSerial {
		opt = wxpay.WithPlatformCertificate(k.PlatformCert)
	}
	v, err := wxpay.NewVerifier(opt, wxpay.WithClock(srv.Now))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The key that signs an answer (protocol §5): the public key in public-key mode,
// the certificate in certificate mode, and during the transition the public key
// only when the request's Wechatpay-Serial names it. Raw requests control the
// header exactly (the client names the public key on every request when it has one).
func TestAnswerKeyFollowsModeAndRequestSerial(t *testing.T) {
	t.Parallel()
	certSerial := testkeys.Shared().PlatformCertSerial
	modes := map[string]wxpaytest.Option{
		"public key":  nil,
		"certificate": wxpaytest.WithCertificateMode(),
		"transition":  wxpaytest.WithTransition(),
	}
	tests := []struct {
		mode, requestSerial, want string
	}{
		{"public key", "", emulator.DemoPublicKeyID},
		{"public key", emulator.DemoPublicKeyID, emulator.DemoPublicKeyID},
		{"certificate", "", certSerial},
		{"certificate", certSerial, certSerial},
		{"certificate", emulator.DemoPublicKeyID, certSerial}, // no public key to sign with
		{"transition", emulator.DemoPublicKeyID, emulator.DemoPublicKeyID},
		{"transition", "", certSerial},
		{"transition", certSerial, certSerial},
	}
	servers := map[string]*wxpaytest.Server{}
	for name, opt := range modes {
		var opts []wxpaytest.Option
		if opt != nil {
			opts = append(opts, opt)
		}
		srv := wxpaytest.NewServer(opts...)
		t.Cleanup(srv.Close)
		servers[name] = srv
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/serial="+tt.requestSerial, func(t *testing.T) {
			srv := servers[tt.mode]
			r := rawRequest{method: "POST", target: permissionPath, body: permissionBody}
			if tt.requestSerial != "" {
				r.header = map[string]string{"Wechatpay-Serial": tt.requestSerial}
			}
			req, _ := r.build(t, srv)
			resp, raw, body := send(t, srv, req)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %v", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Wechatpay-Serial"); got != tt.want {
				t.Fatalf("answer signed by %q, want %q", got, tt.want)
			}
			if err := onlyKey(t, srv, tt.want).Verify(resp.Header, raw); err != nil {
				t.Errorf("does not verify with %s: %v", tt.want, err)
			}
			other := emulator.DemoPublicKeyID
			if tt.want == other {
				other = certSerial
			}
			if err := onlyKey(t, srv, other).Verify(resp.Header, raw); !errors.Is(err, wxpay.ErrUnknownSerial) {
				t.Errorf("a verifier holding only %s: %v, want ErrUnknownSerial", other, err)
			}
		})
	}
}

// The clients wxpaytest builds verify in every mode; in certificate mode they
// see the certificate serial.
func TestClientVerifiesInEveryMode(t *testing.T) {
	t.Parallel()
	for name, tt := range map[string]struct {
		opt  wxpaytest.Option
		want string
	}{
		"certificate": {wxpaytest.WithCertificateMode(), testkeys.Shared().PlatformCertSerial},
		"transition":  {wxpaytest.WithTransition(), emulator.DemoPublicKeyID}, // the client names its public key
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := wxpaytest.NewServer(tt.opt)
			t.Cleanup(srv.Close)
			_, resp, err := srv.Client().V3.Brand.Partner.CardMember.PreAuthTokens.Post(context.Background(),
				&cardmember.CreatePreAuthTokenRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID})
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get("Wechatpay-Serial"); got != tt.want {
				t.Errorf("signed by %q, want %q", got, tt.want)
			}
			// Encrypted fields are accepted with the key the client picks in this mode.
			tok, _, err := srv.Client().V3.PayrollCard.Tokens.Post(context.Background(), &payrollcard.CreateTokenRequest{
				OpenID: emulator.DemoOpenID, SubMchID: emulator.DemoSubMchID, SubAppID: emulator.DemoSubAppID, UserName: "张三", IDCardNumber: "110101199003077777"})
			if err != nil || tok.ExpiresIn != 1800 {
				t.Errorf("payroll token: %+v %v", tok, err)
			}
		})
	}
}

// GET /v3/certificates (§12): the certificate, decryptable with the APIv3 key,
// in certificate mode and during the transition; 404 RESOURCE_NOT_EXISTS for a
// public-key-only merchant.
func TestCertificatesDownload(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	for name, tt := range map[string]struct {
		opt   wxpaytest.Option
		found bool
	}{
		"certificate": {wxpaytest.WithCertificateMode(), true},
		"transition":  {wxpaytest.WithTransition(), true},
		"public key":  {nil, false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var opts []wxpaytest.Option
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			srv := wxpaytest.NewServer(opts...)
			t.Cleanup(srv.Close)
			certs, err := wxpay.DownloadCertificates(context.Background(), srv.APIv3Key(),
				wxpay.WithMerchant(emulator.DemoMchID, emulator.DemoMerchantSerial, srv.MerchantKey()),
				wxpay.WithBaseURL(srv.URL), wxpay.WithHTTPClient(srv.HTTPClient()), wxpay.WithClock(srv.Now))
			if !tt.found {
				var ae *wxpay.APIError
				if !errors.As(err, &ae) || ae.StatusCode != 404 || ae.Code != "RESOURCE_NOT_EXISTS" || ae.Message == "" {
					t.Fatalf("err = %v, want 404 RESOURCE_NOT_EXISTS", err)
				}
				return
			}
			if err != nil || len(certs) != 1 {
				t.Fatalf("%v %v", certs, err)
			}
			if c := certs[0]; c.Serial != k.PlatformCertSerial || !c.Certificate.Equal(k.PlatformCert) {
				t.Errorf("downloaded %s, want the server's certificate %s", c.Serial, k.PlatformCertSerial)
			}
			// With the wrong APIv3 key the certificate does not decrypt.
			wrong, _ := wxpay.ParseAPIv3Key("0123456789abcdef0123456789abcdef")
			if _, err := wxpay.DownloadCertificates(context.Background(), wrong,
				wxpay.WithMerchant(emulator.DemoMchID, emulator.DemoMerchantSerial, srv.MerchantKey()),
				wxpay.WithBaseURL(srv.URL), wxpay.WithHTTPClient(srv.HTTPClient()), wxpay.WithClock(srv.Now)); err == nil {
				t.Error("certificates decrypted with a wrong APIv3 key")
			}
		})
	}
}
