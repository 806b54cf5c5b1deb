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

// The member's side: a user claims a card whose activation goes through the
// sign-up form (JUMP_ACTIVATE) and fills it in; the merchant's handler
// receives both notifications, the activation page reads the form by its
// activate_ticket, and the merchant activates the card.
func ExampleServer_ActivateCard() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()
	parser, err := notify.New(srv.Verifier(), srv.APIv3Key(), notify.WithClock(srv.Now))
	if err != nil {
		fmt.Println(err)
		return
	}
	events := make(chan string, 2)
	merchant := httptest.NewServer(parser.Handler(func(_ context.Context, n *notify.Notification) error {
		switch ev := n.Event.(type) {
		case *membercardopen.AcceptCardEvent:
			events <- fmt.Sprint(n.EventType, " ", ev.EventType)
		case *membercardopen.ActivateCardEvent:
			events <- fmt.Sprint(n.EventType, " ", ev.ActivateScene)
		}
		return nil
	}))
	defer merchant.Close()
	received := func() string {
		select {
		case s := <-events:
			return s
		case <-time.After(10 * time.Second):
			return "no notification"
		}
	}
	if _, _, err := client.V3.Marketing.MembercardOpen.Callback.Patch(ctx, &membercardopen.UpdateCallbackRequest{NotifyURL: merchant.URL}); err != nil {
		fmt.Println(err)
		return
	}

	claim, err := srv.ClaimCard(emulator.ClaimCardRequest{CardID: emulator.DemoCardID, OpenID: emulator.DemoOpenID, ActivateType: emulator.JumpActivate})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(received())
	act, err := srv.ActivateCard(claim.CardID, claim.Code)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(received())
	info, _, err := client.V3.Marketing.MembercardOpen.ActivateInformations.ActivateTicket(act.ActivateTicket).Get(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range info.UserInformation.CommonFieldList {
		fmt.Println(f.Name, string(f.Value)) // Personal: printed only when asked for
	}
	card := client.V3.Marketing.MembercardOpen.Cards.CardID(claim.CardID).Codes.Code(claim.Code)
	if _, err := card.Activate.Post(ctx, &membercardopen.ActivateUserCardRequest{MembershipNumber: "VIP00020001"}); err != nil {
		fmt.Println(err)
		return
	}
	uc, _, err := card.Get(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(act.State, "→", uc.UserCardStatus)
	// Output:
	// MEMBERCARD.ACCEPT_CARD NEW_ACTIVATE
	// MEMBERCARD.ACTIVATE_CARD NEW_ACTIVATE
	// USER_FORM_FLAG_MOBILE 13800138000
	// USER_FORM_FLAG_NAME 张三
	// USER_FORM_FLAG_SEX 男
	// USER_FORM_FLAG_BIRTHDAY 1990-05-20
	// NOT_ACTIVATE → EFFECTIVE
}
