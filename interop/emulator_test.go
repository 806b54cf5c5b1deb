package interop

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	officialnotify "github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payrollcard"

	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// toServer sends the official SDK's requests (hard-wired to api.mch.weixin.qq.com)
// to the emulator.
type toServer struct {
	base *url.URL
	rt   http.RoundTripper
}

func (t toServer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, t.base.Host
	return t.rt.RoundTrip(r)
}

// officialClient is a wechatpay-go client of the demo merchant, in public-key
// mode, whose requests go to srv.
func officialClient(t *testing.T, srv *wxpaytest.Server) *core.Client {
	t.Helper()
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	k := testkeys.Shared()
	c, err := core.NewClient(context.Background(),
		option.WithWechatPayPublicKeyAuthCipher(emulator.DemoMchID, emulator.DemoMerchantSerial, k.Merchant, emulator.DemoPublicKeyID, &k.Platform.PublicKey),
		option.WithHTTPClient(&http.Client{Transport: toServer{base: base, rt: srv.HTTPClient().Transport}}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The official wechatpay-go client completes CreateToken against the emulator
// with its own signing, encryption (user_name, id_card_number) and verification.
func TestOfficialClientAgainstEmulator(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer(wxpaytest.WithRealClock()) // the official SDK checks skew with time.Now
	t.Cleanup(srv.Close)
	ctx := context.Background()
	client := officialClient(t, srv)
	svc := payrollcard.TokensApiService{Client: client}
	tok, result, err := svc.CreateToken(ctx, payrollcard.CreateTokenRequest{
		Openid:         core.String(emulator.DemoOpenID),
		SubMchid:       core.String(emulator.DemoSubMchID),
		SubAppid:       core.String(emulator.DemoSubAppID),
		UserName:       core.String("张三"),
		IdCardNumber:   core.String("110101199003077777"),
		EmploymentType: payrollcard.EMPLOYMENTTYPE_LONG_TERM_EMPLOYMENT.Ptr(),
	})
	if err != nil {
		t.Fatalf("official CreateToken against the emulator: %v", err)
	}
	if *tok.ExpiresIn != 1800 || *tok.SubMchid != emulator.DemoSubMchID || *tok.Mchid != emulator.DemoMchID || *tok.Token == "" {
		t.Errorf("token = %+v", tok)
	}
	if result.Response.Header.Get("Wechatpay-Serial") != emulator.DemoPublicKeyID {
		t.Errorf("answer signed by %q", result.Response.Header.Get("Wechatpay-Serial"))
	}
	// Business rules apply to the official client as to ours.
	_, _, err = svc.CreateToken(ctx, payrollcard.CreateTokenRequest{
		Openid: core.String(emulator.DemoOpenID), SubMchid: core.String("1900000999"), SubAppid: core.String(emulator.DemoSubAppID),
		UserName: core.String("张三"), IdCardNumber: core.String("110101199003077777"),
	})
	if apiErr, ok := err.(*core.APIError); !ok || apiErr.StatusCode != 400 || apiErr.Code != "INVALID_REQUEST" {
		t.Errorf("unknown sub-merchant: %v", err)
	}
}

// The official notify handler verifies and decrypts a notification built by the
// emulator: its AES-GCM decryption opens our ciphertext, its verifier accepts
// our signature.
func TestOfficialNotifyHandlerParsesEmulatorNotifications(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer(wxpaytest.WithRealClock())
	t.Cleanup(srv.Close)
	k := testkeys.Shared()
	handler, err := officialnotify.NewRSANotifyHandler(wxpaytest.APIv3Key, verifiers.NewSHA256WithRSAPubkeyVerifier(emulator.DemoPublicKeyID, k.Platform.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	req, err := srv.NewNotificationRequest("http://merchant.example/notify", notify.EventMembercardActivateCard, map[string]string{
		"event_type": "MEMBER_CARD_ACTIVATE", "card_id": emulator.DemoCardID, "openid": emulator.DemoOpenID,
		"event_time": "2026-01-01T10:00:00+08:00", "activate_scene": "NEW_ACTIVATE"})
	if err != nil {
		t.Fatal(err)
	}
	var content struct {
		CardID string `json:"card_id"`
		OpenID string `json:"openid"`
	}
	n, err := handler.ParseNotifyRequest(context.Background(), req, &content)
	if err != nil {
		t.Fatalf("official handler rejects the emulator's notification: %v", err)
	}
	if n.EventType != notify.EventMembercardActivateCard || content.CardID != emulator.DemoCardID || content.OpenID != emulator.DemoOpenID {
		t.Errorf("notification %+v, content %+v", n, content)
	}
}
