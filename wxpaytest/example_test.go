package wxpaytest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The examples call the four core operations through the declarative chain,
// client.Chain("v3/…"), against a server started by NewServer. The server's
// fixed seed and fake clock (2026-01-01 10:00 CST, shared with its clients)
// make every answer, codes included, the same on every run.

// A brand join-membership pre-authorisation token (CORE-1). The token is valid
// for one hour of the server's clock.
func Example_preAuthToken() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	resp, err := client.Chain("v3/brand/partner/card-member/pre-auth-tokens").Post(ctx, map[string]string{
		"brand_id": emulator.DemoBrandID,
		"card_id":  emulator.DemoBrandCardID,
		"openid":   emulator.DemoOpenID,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var tok struct {
		Token      string `json:"token"`
		ExpireTime string `json:"expire_time"`
	}
	if err := resp.Decode(&tok); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, len(tok.Token), tok.ExpireTime)

	// An openid the service does not know is a documented business error.
	_, err = client.Chain("v3/brand/partner/card-member/pre-auth-tokens").Post(ctx, map[string]string{
		"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID, "openid": "oUnknown",
	})
	var apiErr *wxpay.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.Message)
	}
	// Output:
	// 200 32 2026-01-01T11:00:00+08:00
	// 400 PARAM_ERROR OpenID有误
}

// A merchant permission token for distributing a membership card (CORE-2); the
// {card_id} segment is filled with PathParam.
func Example_permissionToken() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	resp, err := client.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").Post(context.Background(),
		map[string]any{"activate_type": "AUTO_ACTIVATE", "outer_str": "store001"},
		wxpay.PathParam("card_id", emulator.DemoCardID))
	if err != nil {
		fmt.Println(err)
		return
	}
	var perm struct {
		PermissionToken string `json:"permission_token"`
	}
	if err := resp.Decode(&perm); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, perm.PermissionToken != "")
	fmt.Println("signed by", resp.Header.Get("Wechatpay-Serial"))
	// Output:
	// 200 true
	// signed by PUB_KEY_ID_0114232134912410000000000000
}

// A payroll-card token (CORE-3). wxpay.Sensitive values are encrypted for the
// server's public key on the wire, with Wechatpay-Serial set; the server
// decrypts them.
func Example_payrollCardToken() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	resp, err := client.Chain("v3/payroll-card/tokens").Post(context.Background(), map[string]any{
		"openid":          emulator.DemoOpenID,
		"sub_mchid":       emulator.DemoSubMchID,
		"sub_appid":       emulator.DemoSubAppID,
		"user_name":       wxpay.Sensitive("张三"),
		"id_card_number":  wxpay.Sensitive("110101199003077777"),
		"employment_type": "LONG_TERM_EMPLOYMENT",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var tok struct {
		OpenID    string `json:"openid"`
		MchID     string `json:"mchid"`
		SubMchID  string `json:"sub_mchid"`
		Token     string `json:"token"`
		ExpiresIn int    `json:"expires_in"`
	}
	if err := resp.Decode(&tok); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(tok.OpenID, tok.MchID, tok.SubMchID, tok.ExpiresIn, tok.Token != "")
	// Output:
	// obLatjnx9gnqzS4myYGmLZ7LgLBA 1900000001 1900000109 1800 true
}

// Importing a member (CORE-4) is idempotent by out_request_no: the same request
// again gets the same code; another number for the same user is refused.
func Example_usersImport() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()
	imp := client.Chain("v3/marketing/membercard-open/cards/{card_id}/users/import")
	card := wxpay.PathParam("card_id", emulator.DemoCardID)

	for range 2 {
		resp, err := imp.Post(ctx, map[string]string{"openid": emulator.DemoOpenID, "out_request_no": "1900000001-20260101-0001"}, card)
		if err != nil {
			fmt.Println(err)
			return
		}
		var m struct {
			Code string `json:"code"`
		}
		if err := resp.Decode(&m); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("code", m.Code)
	}
	_, err := imp.Post(ctx, map[string]string{"openid": emulator.DemoOpenID, "out_request_no": "1900000001-20260101-0002"}, card)
	fmt.Println(err != nil)
	fmt.Println("members:", len(srv.Emulator.Memberships(emulator.DemoCardID)))
	// Output:
	// code 468024131285
	// code 468024131285
	// true
	// members: 1
}

// Faults are set on the emulator, per operation ID, path template or "*"; here
// every call is refused with a rate limit until the clock moves on.
func ExampleServer_faults() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client(wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}))
	ctx := context.Background()
	srv.Emulator.SetFault("CreateMembercardPermissionToken", emulator.Fault{QPS: 1})

	call := func() error {
		_, err := client.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").Post(ctx,
			map[string]string{"activate_type": "AUTO_ACTIVATE"}, wxpay.PathParam("card_id", emulator.DemoCardID))
		return err
	}
	fmt.Println(call())
	var apiErr *wxpay.APIError
	if err := call(); errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code)
	}
	srv.Clock().Advance(time.Second)
	fmt.Println(call())
	// Output:
	// <nil>
	// 429 FREQUENCY_LIMITED
	// <nil>
}

// NewNotificationRequest builds a notification as WeChat Pay sends it (signed,
// resource encrypted with the APIv3 key) for testing one's own handler.
func ExampleServer_NewNotificationRequest() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	parser, err := notify.New(srv.Verifier(), srv.APIv3Key(), notify.WithClock(srv.Now))
	if err != nil {
		fmt.Println(err)
		return
	}
	handler := parser.Handler(func(_ context.Context, n *notify.Notification) error {
		ev := n.Event.(*membercardopen.ActivateCardEvent)
		fmt.Println(n.EventType, n.Summary, ev.CardID, ev.Code)
		return nil
	})

	req, err := srv.NewNotificationRequest("/wxpay/notify", notify.EventMembercardActivateCard, map[string]string{
		"event_type": "MEMBER_CARD_ACTIVATE", "card_id": emulator.DemoCardID, "code": "478515832665",
		"openid": emulator.DemoOpenID, "event_time": "2026-01-01T10:00:00+08:00", "activate_scene": "NEW_ACTIVATE",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code)
	// Output:
	// MEMBERCARD.ACTIVATE_CARD 会员卡激活通知 pbLatjvWOibDc5-TBnbUk1pD12o0 478515832665
	// 200
}
