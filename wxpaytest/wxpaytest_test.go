package wxpaytest_test

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/apiv3/payrollcard"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

func preAuth(ctx context.Context, c *wxpay.Client) (*cardmember.PreAuthToken, error) {
	tok, _, err := c.V3.Brand.Partner.CardMember.PreAuthTokens.Post(ctx, &cardmember.CreatePreAuthTokenRequest{
		BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID})
	return tok, err
}

func importCode(ctx context.Context, c *wxpay.Client, openID, no string) (string, error) {
	m, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import.Post(ctx,
		&membercardopen.ImportUserRequest{OpenID: openID, OutRequestNo: no})
	if err != nil {
		return "", err
	}
	return m.Code, nil
}

// The fake clock is shared: moving it moves the server's times, and the
// client, on the same clock, is not refused for skew however far it goes.
func TestFakeClockIsShared(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	c := srv.Client()
	ctx := context.Background()
	if !srv.Now().Equal(wxpaytest.Start) {
		t.Fatalf("starts at %v", srv.Now())
	}
	for _, step := range []time.Duration{0, 90 * time.Minute, 48 * time.Hour} {
		srv.Clock().Advance(step)
		tok, err := preAuth(ctx, c)
		if err != nil {
			t.Fatalf("after %v: %v", step, err)
		}
		if want := srv.Now().Add(time.Hour).Format(time.RFC3339); tok.ExpireTime != want {
			t.Errorf("expire_time %s, want %s", tok.ExpireTime, want)
		}
	}
	srv.Clock().Set(wxpaytest.Start)
	if tok, err := preAuth(ctx, c); err != nil || tok.ExpireTime != "2026-01-01T11:00:00+08:00" {
		t.Errorf("after Set: %+v %v", tok, err)
	}
}

func TestClockOptions(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 6, 1, 8, 0, 0, 0, time.UTC)
	srv := wxpaytest.NewServer(wxpaytest.WithClock(func() time.Time { return at }))
	t.Cleanup(srv.Close)
	if srv.Clock() != nil || !srv.Now().Equal(at) {
		t.Fatalf("WithClock: Clock() = %v, Now() = %v", srv.Clock(), srv.Now())
	}
	tok, err := preAuth(context.Background(), srv.Client())
	if err != nil || tok.ExpireTime != "2030-06-01T17:00:00+08:00" {
		t.Errorf("%+v %v", tok, err)
	}

	real := wxpaytest.NewServer(wxpaytest.WithRealClock())
	t.Cleanup(real.Close)
	if real.Clock() != nil || time.Since(real.Now()) > time.Minute {
		t.Errorf("WithRealClock: Clock() = %v, Now() = %v", real.Clock(), real.Now())
	}
	if _, err := preAuth(context.Background(), real.Client()); err != nil {
		t.Error(err)
	}
}

// Servers with the same seed give the same answers; another seed, others.
func TestSeedMakesAnswersReproducible(t *testing.T) {
	t.Parallel()
	codes := func(opts ...wxpaytest.Option) []string {
		srv := wxpaytest.NewServer(opts...)
		defer srv.Close()
		c := srv.Client()
		var out []string
		for i, openID := range []string{emulator.DemoOpenID, emulator.DemoOpenID2} {
			code, err := importCode(context.Background(), c, openID, "seed-"+string(rune('a'+i)))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, code)
		}
		return out
	}
	a, b, other := codes(), codes(), codes(wxpaytest.WithSeed(7))
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Errorf("same seed, different codes: %v %v", a, b)
	}
	if strings.Join(a, ",") == strings.Join(other, ",") {
		t.Errorf("seeds 1 and 7 gave the same codes %v", a)
	}
}

func TestKeyModes(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	for name, tt := range map[string]struct {
		opts       []wxpaytest.Option
		wantSerial string
		certs      int // from /v3/certificates; 0: 404 expected
	}{
		"public key":  {nil, emulator.DemoPublicKeyID, 0},
		"certificate": {[]wxpaytest.Option{wxpaytest.WithCertificateMode()}, k.PlatformCertSerial, 1},
		"transition":  {[]wxpaytest.Option{wxpaytest.WithTransition()}, emulator.DemoPublicKeyID, 1},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := wxpaytest.NewServer(tt.opts...)
			t.Cleanup(srv.Close)
			ctx := context.Background()
			_, resp, err := srv.Client().V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).PermissionTokens.Post(ctx,
				&membercardopen.CreatePermissionTokenRequest{ActivateType: membercardopen.ActivateTypeAutoActivate})
			if err != nil {
				t.Fatal(err)
			}
			// In the transition the client names the public key on every
			// request, so the server answers with it (protocol §5).
			if got := resp.Header.Get("Wechatpay-Serial"); got != tt.wantSerial {
				t.Errorf("signed by %s, want %s", got, tt.wantSerial)
			}
			// The payroll token encrypts for the client's encryption key, which the server holds.
			if _, _, err := srv.Client().V3.PayrollCard.Tokens.Post(ctx, &payrollcard.CreateTokenRequest{
				OpenID: emulator.DemoOpenID, SubMchID: emulator.DemoSubMchID, SubAppID: emulator.DemoSubAppID,
				UserName: "张三", IDCardNumber: "110101199003077777"}); err != nil {
				t.Errorf("payroll token: %v", err)
			}
			certs, err := wxpay.DownloadCertificates(ctx, srv.APIv3Key(),
				wxpay.WithMerchant(emulator.DemoMchID, emulator.DemoMerchantSerial, srv.MerchantKey()),
				wxpay.WithBaseURL(srv.URL), wxpay.WithHTTPClient(srv.HTTPClient()), wxpay.WithClock(srv.Now))
			var ae *wxpay.APIError
			switch {
			case tt.certs == 0 && !(errors.As(err, &ae) && ae.StatusCode == 404):
				t.Errorf("certificates: %v %v, want 404", certs, err)
			case tt.certs > 0 && (err != nil || len(certs) != tt.certs):
				t.Errorf("certificates: %v %v", certs, err)
			}
		})
	}
}

func TestUnstartedServer(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewUnstartedServer()
	if srv.URL != "" {
		t.Fatalf("URL before Start: %q", srv.URL)
	}
	// Fixtures and faults can be set before Start.
	srv.Emulator.AddUser(emulator.User{OpenID: "oBeforeStart", AppID: emulator.DemoAppID})
	srv.Emulator.SetFault("ImportMembercardUser", emulator.Fault{ErrorRate: 1})
	srv.Start()
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("URL %q: %v", srv.URL, err)
	}
	c := srv.Client(wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}))
	var ae *wxpay.APIError
	if _, err := importCode(context.Background(), c, "oBeforeStart", "u-1"); !errors.As(err, &ae) || ae.Code != "SYSTEM_ERROR" {
		t.Fatalf("fault set before Start: %v", err)
	}
	srv.Emulator.ClearFaults()
	if _, err := importCode(context.Background(), c, "oBeforeStart", "u-1"); err != nil {
		t.Fatal(err)
	}
}

// Client's options come after the server's, so they can change anything; an
// invalid one panics in Client and is an error from NewClient.
func TestClientOptions(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	dead := httptest.NewServer(nil)
	dead.Close() // a closed port: connection refused
	c := srv.Client(wxpay.WithBaseURL(dead.URL), wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}))
	var te *wxpay.TransportError
	if _, err := preAuth(context.Background(), c); !errors.As(err, &te) {
		t.Errorf("WithBaseURL not applied: %v", err)
	}
	if _, err := srv.NewClient(wxpay.WithTimeout(-time.Second)); err == nil {
		t.Error("NewClient accepted a negative timeout")
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "wxpaytest: Client") {
			t.Errorf("recovered %v", r)
		}
	}()
	srv.Client(wxpay.WithTimeout(-time.Second))
}

// Notifications built by the server verify and decrypt with the server's
// keys, in every key mode.
func TestNotificationRequest(t *testing.T) {
	t.Parallel()
	for _, opts := range [][]wxpaytest.Option{nil, {wxpaytest.WithCertificateMode()}, {wxpaytest.WithTransition()}} {
		srv := wxpaytest.NewServer(opts...)
		t.Cleanup(srv.Close)
		parser, err := notify.New(srv.Verifier(), srv.APIv3Key(), notify.WithClock(srv.Now))
		if err != nil {
			t.Fatal(err)
		}
		req, err := srv.NewNotificationRequest("/notify", notify.EventBrandMemberCardSPUserCardCreate, map[string]string{
			"card_id": emulator.DemoBrandCardID, "openid": emulator.DemoOpenID, "user_card_code": "478515832665"})
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			t.Fatal(err)
		}
		n, err := parser.Parse(req.Header, body)
		if err != nil {
			t.Fatalf("%v: %v", opts, err)
		}
		if n.EventType != notify.EventBrandMemberCardSPUserCardCreate || n.Resource.OriginalType != "user_card" ||
			!strings.Contains(string(n.Plaintext()), `"user_card_code":"478515832665"`) {
			t.Errorf("notification %+v: %s", n, n.Plaintext())
		}
	}
}
