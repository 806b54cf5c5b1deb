package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The member's side over the control API, as a PHP or Node test would drive
// it: plain HTTP posts of JSON, notifications received by a real handler.

// receiver is a merchant's notification endpoint: a notify.Parser handler on
// httptest that fails the first fail deliveries (500 FAIL: redelivered) and
// hands every accepted notification to got.
type receiver struct {
	URL   string
	got   chan *notify.Notification
	calls atomic.Int64
}

func newReceiver(t *testing.T, srv *wxpaytest.Server, fail int64) *receiver {
	t.Helper()
	parser, err := notify.New(srv.Verifier(), srv.APIv3Key(), notify.WithClock(srv.Now))
	if err != nil {
		t.Fatal(err)
	}
	rc := &receiver{got: make(chan *notify.Notification, 16)}
	hs := httptest.NewServer(parser.Handler(func(_ context.Context, n *notify.Notification) error {
		if rc.calls.Add(1) <= fail {
			return errors.New("not yet")
		}
		rc.got <- n
		return nil
	}))
	t.Cleanup(hs.Close)
	rc.URL = hs.URL
	return rc
}

// next waits for the next accepted notification, which must be of eventType
// and have the id the action answered.
func (rc *receiver) next(t *testing.T, eventType, id string) *notify.Notification {
	t.Helper()
	select {
	case n := <-rc.got:
		if n.EventType != eventType || n.ID != id {
			t.Fatalf("delivered %s %s, want %s %s: %s", n.EventType, n.ID, eventType, id, n.Plaintext())
		}
		return n
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s delivered", eventType)
	}
	return nil
}

// post sends body to a control endpoint (control_test.go checks the answer's
// form) and decodes the JSON answer.
func post(t *testing.T, srv *wxpaytest.Server, path, body string) (int, map[string]any) {
	t.Helper()
	return control(t, srv.HTTPClient(), http.MethodPost, srv.URL+"/_emulator/"+path, body)
}

// controlOK is post expecting 200.
func controlOK(t *testing.T, srv *wxpaytest.Server, path, body string) map[string]any {
	t.Helper()
	status, out := post(t, srv, path, body)
	if status != http.StatusOK {
		t.Fatalf("POST %s %s: %d %v", path, body, status, out)
	}
	return out
}

func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// withCallback points the demo merchant's membercard-open callback URL at rc.
func withCallback(t *testing.T, c *wxpay.Client, rc *receiver) {
	t.Helper()
	if _, _, err := c.V3.Marketing.MembercardOpen.Callback.Patch(context.Background(), &membercardopen.UpdateCallbackRequest{NotifyURL: rc.URL}); err != nil {
		t.Fatal(err)
	}
}

const fakeNow = "2026-01-01T10:00:00+08:00" // wxpaytest.Start

func TestMemberClaimActivateDeleteRecover(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	rc := newReceiver(t, srv, 0)
	withCallback(t, c, rc)
	ctx := context.Background()
	status := func(code string) membercardopen.UserCardStatus {
		t.Helper()
		uc, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Codes.Code(code).Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return uc.UserCardStatus
	}

	claim := controlOK(t, srv, "membercard/claim", jsonBody(map[string]string{"card_id": emulator.DemoCardID, "openid": emulator.DemoOpenID, "outer_str": "store_001"}))
	code, _ := claim["code"].(string)
	if !regexp.MustCompile(`^\d{12}$`).MatchString(code) || claim["state"] != "NOT_ACTIVATE" || claim["activate_type"] != "AUTO_ACTIVATE" ||
		claim["event_type"] != "MEMBERCARD.ACCEPT_CARD" || claim["openid"] != emulator.DemoOpenID {
		t.Fatalf("claim answered %v", claim)
	}
	n := rc.next(t, notify.EventMembercardAcceptCard, claim["notification_id"].(string))
	accept, ok := n.Event.(*membercardopen.AcceptCardEvent)
	if !ok || n.Resource.OriginalType != "membercard" || n.Summary != "会员卡领卡事件通知" {
		t.Fatalf("notification %v %T", n, n.Event)
	}
	if want := (membercardopen.AcceptCardEvent{EventType: membercardopen.AcceptEventTypeNewActivate, CardID: emulator.DemoCardID, Code: code,
		EventTime: fakeNow, OpenID: emulator.DemoOpenID, OuterStr: "store_001"}); *accept != want {
		t.Errorf("ACCEPT_CARD %+v, want %+v", *accept, want)
	}
	if s := status(code); s != membercardopen.UserCardStatusNotActivate {
		t.Errorf("claimed card is %s", s)
	}

	act := controlOK(t, srv, "membercard/activate", jsonBody(map[string]string{"card_id": emulator.DemoCardID, "code": code}))
	if act["state"] != "EFFECTIVE" || act["activate_ticket"] != nil || act["code"] != code {
		t.Fatalf("activate answered %v", act)
	}
	activated := rc.next(t, notify.EventMembercardActivateCard, act["notification_id"].(string)).Event.(*membercardopen.ActivateCardEvent)
	if want := (membercardopen.ActivateCardEvent{EventType: membercardopen.ActivateEventTypeMemberCardActivate, CardID: emulator.DemoCardID, Code: code,
		EventTime: fakeNow, ActivateScene: membercardopen.ActivateSceneNewActivate, OpenID: emulator.DemoOpenID, OuterStr: "store_001"}); *activated != want {
		t.Errorf("ACTIVATE_CARD %+v, want %+v", *activated, want)
	}
	if s := status(code); s != membercardopen.UserCardStatusEffective {
		t.Errorf("activated card is %s", s)
	}

	del := controlOK(t, srv, "membercard/delete", jsonBody(map[string]string{"card_id": emulator.DemoCardID, "code": code}))
	manage := rc.next(t, notify.EventMembercardUsercardManage, del["notification_id"].(string)).Event.(*membercardopen.UserCardManageEvent)
	if want := (membercardopen.UserCardManageEvent{EventType: membercardopen.ManageEventTypeUserDeleteMembercard, CardID: emulator.DemoCardID, Code: code,
		EventTime: fakeNow, OpenID: emulator.DemoOpenID}); *manage != want || del["state"] != "DELETE" {
		t.Errorf("USERCARD_MANAGE %+v (answer %v), want %+v", *manage, del, want)
	}
	if s := status(code); s != membercardopen.UserCardStatusDelete {
		t.Errorf("deleted card is %s", s)
	}
	list, _, err := c.V3.Marketing.MembercardOpen.User.Cards.Get(ctx, &membercardopen.ListUserCardsRequest{OpenID: emulator.DemoOpenID, AppID: emulator.DemoAppID, Limit: 10})
	if err != nil || list.TotalCount != 0 {
		t.Errorf("the user's cards after deleting the only one: %+v %v", list, err)
	}

	// Claiming it again recovers the card, code and all.
	again := controlOK(t, srv, "membercard/claim", jsonBody(map[string]string{"card_id": emulator.DemoCardID, "openid": emulator.DemoOpenID}))
	recovered := rc.next(t, notify.EventMembercardAcceptCard, again["notification_id"].(string)).Event.(*membercardopen.AcceptCardEvent)
	if again["code"] != code || recovered.EventType != membercardopen.AcceptEventTypeRecover || recovered.OuterStr != "" {
		t.Errorf("reclaim %v: %+v", again, *recovered)
	}
	act = controlOK(t, srv, "membercard/activate", jsonBody(map[string]string{"card_id": emulator.DemoCardID, "code": code}))
	if ev := rc.next(t, notify.EventMembercardActivateCard, act["notification_id"].(string)).Event.(*membercardopen.ActivateCardEvent); ev.ActivateScene != membercardopen.ActivateSceneRecover {
		t.Errorf("activation of a recovered card: %+v", *ev)
	}
	if ms := srv.Emulator.Memberships(emulator.DemoCardID); len(ms) != 1 || ms[0].State != "EFFECTIVE" {
		t.Errorf("memberships %+v", ms)
	}
}

// The codes follow the card's code mode, by the import's rules.
func TestMemberClaimCodeModes(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	rc := newReceiver(t, srv, 0)
	withCallback(t, c, rc)
	claim := func(cardID, code string) (int, map[string]any) {
		return post(t, srv, "membercard/claim", jsonBody(map[string]string{"card_id": cardID, "openid": emulator.DemoOpenID, "code": code}))
	}
	if st, out := claim(emulator.DemoRealTimeCardID, ""); st != 400 || out["code"] != "PARAM_ERROR" || !strings.Contains(out["message"].(string), "REAL_TIME") {
		t.Errorf("REAL_TIME without code: %d %v", st, out)
	}
	if st, out := claim(emulator.DemoRealTimeCardID, emulator.DemoMemberCode); st != 409 || out["code"] != "INVALID_STATE" {
		t.Errorf("REAL_TIME with a code in use: %d %v", st, out)
	}
	if st, out := claim(emulator.DemoRealTimeCardID, "830205716200"); st != 200 || out["code"] != "830205716200" {
		t.Errorf("REAL_TIME: %d %v", st, out)
	}
	if st, out := claim(emulator.DemoDepositCardID, ""); st != 409 || !strings.Contains(out["message"].(string), "no deposited code") {
		t.Errorf("MERCHANT_DEPOSIT without codes: %d %v", st, out)
	}
	srv.Emulator.DepositCodes(emulator.DemoDepositCardID, "DEP-0001")
	if st, out := claim(emulator.DemoDepositCardID, "ignored"); st != 200 || out["code"] != "DEP-0001" {
		t.Errorf("MERCHANT_DEPOSIT: %d %v", st, out)
	}
}

func TestMemberJumpActivation(t *testing.T) {
	t.Parallel()
	const otherMchID, otherSerial = "1900000002", "6B3C2D9A0F1E4A5B8C7D6E5F4A3B2C1D0E9F8A7B"
	otherKey := testkeys.Generate()
	srv, c := newServer(t, wxpaytest.WithEmulatorOptions(emulator.WithMerchant(otherMchID, otherSerial, &otherKey.PublicKey)))
	other, err := srv.NewClient(wxpay.WithMerchant(otherMchID, otherSerial, otherKey))
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, srv, 0)
	withCallback(t, c, rc)
	ctx := context.Background()
	// A card whose sign-up form asks for a name, a city and two fields of the merchant's.
	const cardID = "pbLatJumpActivationForm00001"
	if err := srv.Emulator.AddCard(emulator.Card{ID: cardID, Family: emulator.MembercardFamily, MchID: emulator.DemoMchID, AppID: emulator.DemoAppID,
		Template: map[string]any{"card_id": cardID, "user_information_form": map[string]any{
			"common_field_list": []any{"USER_FORM_FLAG_NAME", "USER_FORM_FLAG_CITY"},
			"custom_field_list": []any{
				map[string]any{"type": "RADIO", "name": "会员来源", "values": []any{"朋友推荐", "门店"}},
				map[string]any{"type": "CHECK_BOX", "name": "喜欢的运动", "values": []any{"篮球", "游泳", "跑步"}},
			}}}}); err != nil {
		t.Fatal(err)
	}

	claim := controlOK(t, srv, "membercard/claim", jsonBody(map[string]string{"card_id": cardID, "openid": emulator.DemoOpenID2, "activate_type": "JUMP_ACTIVATE"}))
	rc.next(t, notify.EventMembercardAcceptCard, claim["notification_id"].(string))
	code := claim["code"].(string)
	act := controlOK(t, srv, "membercard/activate", jsonBody(map[string]string{"card_id": cardID, "code": code}))
	ticket, _ := act["activate_ticket"].(string)
	if len(ticket) != 43 || act["state"] != "NOT_ACTIVATE" || act["activate_type"] != "JUMP_ACTIVATE" {
		t.Fatalf("activate answered %v", act)
	}
	ev := rc.next(t, notify.EventMembercardActivateCard, act["notification_id"].(string)).Event.(*membercardopen.ActivateCardEvent)
	if ev.Code != code || ev.ActivateScene != membercardopen.ActivateSceneNewActivate || ev.EventType != membercardopen.ActivateEventTypeMemberCardActivate {
		t.Errorf("ACTIVATE_CARD %+v", *ev)
	}
	if st, out := post(t, srv, "membercard/activate", jsonBody(map[string]string{"card_id": cardID, "code": code})); st != 409 || !strings.Contains(out["message"].(string), ticket) {
		t.Errorf("a second submission: %d %v", st, out)
	}

	// The merchant's activation page reads the form by its ticket…
	info, _, err := c.V3.Marketing.MembercardOpen.ActivateInformations.ActivateTicket(ticket).Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(info.UserInformation)
	want := `{"common_field_list":[{"name":"USER_FORM_FLAG_NAME","value":"张三"},{"name":"USER_FORM_FLAG_CITY","value":"深圳市"}],` +
		`"custom_field_list":[{"name":"会员来源","value":"朋友推荐"},{"name":"喜欢的运动","value_list":["篮球","游泳"]}]}`
	if info.Nickname != "张三" || !strings.HasPrefix(info.HeadImageURL, "https://") || !jsonEqual(got, want) {
		t.Errorf("activate information %+v: %s", info, got)
	}
	// …which is the card's merchant's only.
	_, _, err = other.V3.Marketing.MembercardOpen.ActivateInformations.ActivateTicket(ticket).Get(ctx)
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "")
	_, _, err = c.V3.Marketing.MembercardOpen.ActivateInformations.ActivateTicket("NoSuchTicket").Get(ctx)
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "")

	// The merchant activates the card.
	card := c.V3.Marketing.MembercardOpen.Cards.CardID(cardID).Codes.Code(code)
	if _, err := card.Activate.Post(ctx, &membercardopen.ActivateUserCardRequest{MembershipNumber: "VIP00020001"}); err != nil {
		t.Fatal(err)
	}
	if uc, _, err := card.Get(ctx); err != nil || uc.UserCardStatus != membercardopen.UserCardStatusEffective {
		t.Errorf("after the merchant's activation: %+v %v", uc, err)
	}
	// A card without a form gets the default one, mobile number first.
	info, _, err = c.V3.Marketing.MembercardOpen.ActivateInformations.ActivateTicket(emulator.DemoActivateTicket).Get(ctx)
	if err != nil || info.UserInformation == nil || len(info.UserInformation.CommonFieldList) == 0 ||
		info.UserInformation.CommonFieldList[0].Name != membercardopen.UserFormFlagMobile || string(info.UserInformation.CommonFieldList[0].Value) != "13800138000" {
		t.Errorf("demo ticket: %+v %v", info, err)
	}
	// A deleted card cannot be activated by the merchant.
	controlOK(t, srv, "membercard/delete", jsonBody(map[string]string{"card_id": cardID, "code": code}))
	_, err = card.Activate.Post(ctx, &membercardopen.ActivateUserCardRequest{})
	apiErr(t, err, 400, "INVALID_REQUEST", "用户已删除会员卡，不能激活")
}

func jsonEqual(a []byte, b string) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal([]byte(b), &y) == nil && jsonBody(x) == jsonBody(y)
}

func TestMemberBrandClaimConfirmExchangeDelete(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	rc := newReceiver(t, srv, 0)
	ctx := context.Background()
	brand := c.V3.Brand.Partner.CardMember
	// Brand notifications go to the notify_url of the card template.
	if _, _, err := brand.Cards.CardID(emulator.DemoBrandCardID).Patch(ctx, &cardmember.UpdateCardRequest{BrandID: emulator.DemoBrandID, NotifyURL: rc.URL}); err != nil {
		t.Fatal(err)
	}

	claim := controlOK(t, srv, "brand/claim", jsonBody(map[string]string{"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID, "openid": emulator.DemoOpenID}))
	code, _ := claim["user_card_code"].(string)
	if !regexp.MustCompile(`^\d{12}$`).MatchString(code) || claim["user_card_state"] != "UNACTIVATED" || claim["event_type"] != "BRAND_MEMBER_CARD_SP.USER_CARD.CREATE" {
		t.Fatalf("claim answered %v", claim)
	}
	n := rc.next(t, notify.EventBrandMemberCardSPUserCardCreate, claim["notification_id"].(string))
	created, ok := n.Event.(*cardmember.UserCardEvent)
	if !ok || n.Resource.OriginalType != "user_card" || n.Summary != "用户开通会员卡通知" {
		t.Fatalf("notification %v %T", n, n.Event)
	}
	if created.UserCardCode != code || created.CardID != emulator.DemoBrandCardID || created.OpenID != emulator.DemoOpenID || created.BrandID != emulator.DemoBrandID ||
		created.CardColor != "#FFFF00" || created.CardPictureURL != emulator.DemoBackgroundURL || created.CardType != cardmember.CardTypeNormal ||
		created.UserCardState != cardmember.UserCardEventStateNotEffective || created.ValidDateInformation.Type != cardmember.ValidDateTypePermanent ||
		created.PickupTime != fakeNow || created.CreateTime != fakeNow || created.ModifyTime != fakeNow {
		t.Errorf("USER_CARD.CREATE %+v", *created)
	}
	// Personal data is encrypted for the merchant.
	if phone, err := created.DecryptPhoneNumber(c); err != nil || string(phone) != "13800138000" {
		t.Errorf("phone number: %v", err)
	}
	ui := created.UserInformation
	if ui == nil || len(ui.CommonFieldList) != 3 || len(ui.CustomFieldList) != 1 {
		t.Fatalf("user_information %+v", ui)
	}
	if name, err := ui.CommonFieldList[0].DecryptValue(c); err != nil || ui.CommonFieldList[0].Name != cardmember.UserFormFlagName || string(name) != "张三" {
		t.Errorf("name field %v: %v", ui.CommonFieldList[0].Name, err)
	}
	if chosen, err := ui.CustomFieldList[0].DecryptUserChosenValues(c); err != nil || len(chosen) != 2 || string(chosen[0]) != "篮球" {
		t.Errorf("custom field %s: %d values, %v", ui.CustomFieldList[0].Name, len(chosen), err)
	}

	// Awaiting confirmation: no points yet, and the API says UNACTIVATED.
	get := &cardmember.GetUserCardRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID}
	if uc, _, err := brand.UserCards.UserCardCode(code).Get(ctx, get); err != nil || uc.UserCardState != cardmember.UserCardStateUnactivated || uc.PhoneNumber == "" {
		t.Errorf("before confirmation: %+v %v", uc, err)
	}
	exchange := jsonBody(map[string]any{"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID, "user_card_code": code, "deduct_points": 200})
	if st, out := post(t, srv, "brand/exchange-points", exchange); st != 409 || out["code"] != "INVALID_STATE" {
		t.Errorf("exchange on an unconfirmed card: %d %v", st, out)
	}

	confirm := &cardmember.ConfirmUserCardRequest{BrandID: emulator.DemoBrandID, OpenID: emulator.DemoOpenID, CardID: emulator.DemoBrandCardID,
		Level: "金卡", UserCardConfirmState: cardmember.UserCardConfirmStateCreateCardSuccess}
	uc, _, err := brand.UserCards.UserCardCode(code).Confirm.Post(ctx, confirm)
	if err != nil || uc.UserCardState != cardmember.UserCardStateEffective || uc.Level != "金卡" || uc.UserCardCode != code {
		t.Fatalf("confirm: %+v %v", uc, err)
	}
	if _, _, err := brand.UserCards.UserCardCode(code).Confirm.Post(ctx, confirm); err != nil {
		t.Errorf("the same confirmation again (a retry): %v", err)
	}
	fail := *confirm
	fail.UserCardConfirmState = cardmember.UserCardConfirmStateCreateCardFail
	_, _, err = brand.UserCards.UserCardCode(code).Confirm.Post(ctx, &fail)
	apiErr(t, err, 400, "INVALID_REQUEST", "")
	wrongUser := *confirm
	wrongUser.OpenID = emulator.DemoOpenID2
	_, _, err = brand.UserCards.UserCardCode(code).Confirm.Post(ctx, &wrongUser)
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "")
	_, _, err = brand.UserCards.UserCardCode("000000000000").Confirm.Post(ctx, confirm)
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "")

	// Points for a coupon: a pending record, settled by the merchant.
	x := controlOK(t, srv, "brand/exchange-points", exchange)
	recordID, _ := x["record_id"].(string)
	if len(recordID) != 22 || x["state"] != "PENDING" || x["stock_id"] != "98065001" || x["openid"] != emulator.DemoOpenID {
		t.Fatalf("exchange answered %v", x)
	}
	pe := rc.next(t, notify.EventBrandMemberCardSPPointExchangeCoupon, x["notification_id"].(string)).Event.(*cardmember.PointExchangeCouponEvent)
	if want := (cardmember.PointExchangeCouponEvent{RecordID: recordID, BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID,
		UserCardCode: code, ExchangeCouponTemplateID: emulator.DemoExchangeCouponTemplateID, DeductPoints: 200, StockID: "98065001"}); *pe != want {
		t.Errorf("POINT_EXCHANGE_COUPON %+v, want %+v", *pe, want)
	}
	settle := &cardmember.ConfirmPointExchangeRequest{RecordID: recordID, ExchangeCouponTemplateID: pe.ExchangeCouponTemplateID, BrandID: pe.BrandID,
		CardID: pe.CardID, OpenID: pe.OpenID, UserCardCode: pe.UserCardCode, State: cardmember.PointExchangeStatePointExchangeCouponSuccess, CouponCode: "870154236981"}
	out, _, err := brand.UserPoints.ExchangeCoupon.Confirm.Post(ctx, settle)
	if err != nil || out.RecordID != recordID || out.State != cardmember.PointExchangeStatePointExchangeCouponSuccess || out.CouponCode != "870154236981" {
		t.Fatalf("settle: %+v %v", out, err)
	}
	if rec, ok := srv.Emulator.PointExchangeRecord(recordID); !ok || rec.State != emulator.ExchangeSuccess || rec.CouponCode != "870154236981" {
		t.Errorf("record %+v", rec)
	}
	if _, _, err := brand.UserPoints.ExchangeCoupon.Confirm.Post(ctx, settle); err != nil {
		t.Errorf("the same outcome again (a retry): %v", err)
	}
	failed := *settle
	failed.State, failed.CouponCode, failed.FailReason = cardmember.PointExchangeStatePointExchangeCouponFail, "", "积分不足"
	_, _, err = brand.UserPoints.ExchangeCoupon.Confirm.Post(ctx, &failed)
	apiErr(t, err, 400, "INVALID_REQUEST", "")
	mismatch := *settle
	mismatch.UserCardCode = emulator.DemoBrandUserCardCode
	_, _, err = brand.UserPoints.ExchangeCoupon.Confirm.Post(ctx, &mismatch)
	apiErr(t, err, 400, "PARAM_ERROR", "参数与积分兑券记录不一致")
	unknown := *settle
	unknown.RecordID = "5200000000000000000000"
	_, _, err = brand.UserPoints.ExchangeCoupon.Confirm.Post(ctx, &unknown)
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "积分兑券记录不存在")

	// The user deletes the card.
	del := controlOK(t, srv, "brand/delete", jsonBody(map[string]string{"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID, "user_card_code": code}))
	deleted := rc.next(t, notify.EventBrandMemberCardSPUserCardDelete, del["notification_id"].(string)).Event.(*cardmember.UserCardEvent)
	if deleted.UserCardCode != code || deleted.UserCardState != cardmember.UserCardEventStateDelete || deleted.Level != "金卡" || del["user_card_state"] != "INVALID" {
		t.Errorf("USER_CARD.DELETE %+v (answer %v)", *deleted, del)
	}
	if uc, _, err := brand.UserCards.UserCardCode(code).Get(ctx, get); err != nil || uc.UserCardState != cardmember.UserCardStateInvalid || uc.InvalidReason != "用户删除会员卡" {
		t.Errorf("after deletion: %+v %v", uc, err)
	}
	_, _, err = brand.UserCards.UserCardCode(code).Confirm.Post(ctx, confirm)
	apiErr(t, err, 400, "INVALID_REQUEST", "用户已删除会员卡，不能同步开卡结果")
	// and may open it again: a new user card.
	again := controlOK(t, srv, "brand/claim", jsonBody(map[string]string{"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID, "openid": emulator.DemoOpenID}))
	if again["user_card_code"] == code {
		t.Errorf("a new opening reused the deleted code: %v", again)
	}
	rc.next(t, notify.EventBrandMemberCardSPUserCardCreate, again["notification_id"].(string))
}

// The demo's fixtures answer the generated examples: the pending exchange
// settles once, the imported user card confirms as it is.
func TestMemberDemoFixtures(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	uc, _, err := c.V3.Brand.Partner.CardMember.UserCards.UserCardCode(emulator.DemoBrandUserCardCode).Confirm.Post(context.Background(), &cardmember.ConfirmUserCardRequest{
		BrandID: emulator.DemoBrandID, OpenID: emulator.DemoMemberOpenID, Level: "银卡", UserCardConfirmState: cardmember.UserCardConfirmStateCreateCardSuccess,
		CardID: emulator.DemoBrandCardID})
	if err != nil || uc.UserCardState != cardmember.UserCardStateEffective || uc.Level != "银卡" {
		t.Errorf("confirm of the imported card: %+v %v", uc, err)
	}
	settle := &cardmember.ConfirmPointExchangeRequest{RecordID: emulator.DemoPointExchangeRecordID, ExchangeCouponTemplateID: emulator.DemoExchangeCouponTemplateID,
		BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoMemberOpenID, UserCardCode: emulator.DemoBrandUserCardCode,
		State: cardmember.PointExchangeStatePointExchangeCouponFail, FailReason: "积分不足"}
	out, _, err := c.V3.Brand.Partner.CardMember.UserPoints.ExchangeCoupon.Confirm.Post(context.Background(), settle)
	if err != nil || out.State != cardmember.PointExchangeStatePointExchangeCouponFail || out.FailReason != "积分不足" {
		t.Fatalf("%+v %v", out, err)
	}
	if rec, _ := srv.Emulator.PointExchangeRecord(emulator.DemoPointExchangeRecordID); rec.State != emulator.ExchangeFail {
		t.Errorf("record %+v", rec)
	}
}

// A notification is redelivered until the merchant answers 2xx.
func TestMemberNotificationRedelivered(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	rc := newReceiver(t, srv, 2)
	withCallback(t, c, rc)
	e := srv.Emulator
	e.SetNotificationSchedule(time.Millisecond, time.Millisecond, time.Millisecond)
	claim := controlOK(t, srv, "membercard/claim", jsonBody(map[string]string{"card_id": emulator.DemoCardID, "openid": emulator.DemoOpenID}))
	id := claim["notification_id"].(string)
	rc.next(t, notify.EventMembercardAcceptCard, id)
	e.Close() // waits for the delivery loop, so the bookkeeping below is final
	var d emulator.Delivery
	for _, x := range e.Deliveries() {
		if x.ID == id {
			d = x
		}
	}
	if !d.Delivered || d.Attempts != 3 || d.LastStatus != 200 || d.URL != rc.URL || rc.calls.Load() != 3 {
		t.Errorf("delivery = %+v after %d calls, want delivered on the third attempt", d, rc.calls.Load())
	}
}

func TestMemberControlErrors(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	rc := newReceiver(t, srv, 0)
	withCallback(t, c, rc)
	e := srv.Emulator
	// A card of a merchant without a callback URL, a brand card without notify_url.
	if err := e.AddCard(emulator.Card{ID: "pbLatNoCallbackMerchant00001", Family: emulator.MembercardFamily, MchID: "1900000003", AppID: emulator.DemoAppID}); err != nil {
		t.Fatal(err)
	}
	if err := e.AddCard(emulator.Card{ID: "pbLatBrandCardNoNotifyURL001", Family: emulator.BrandFamily, BrandID: emulator.DemoBrandID, AppID: emulator.DemoAppID}); err != nil {
		t.Fatal(err)
	}
	e.AddUser(emulator.User{OpenID: "oOtherAppUser000000000000001", AppID: "wx0000000000000000"})
	held := controlOK(t, srv, "membercard/claim", jsonBody(map[string]string{"card_id": emulator.DemoCardID, "openid": emulator.DemoOpenID2}))
	rc.next(t, notify.EventMembercardAcceptCard, held["notification_id"].(string))
	code := held["code"].(string)
	mc := func(card, openid string) string {
		return jsonBody(map[string]string{"card_id": card, "openid": openid})
	}
	uc := func(card, code string) string { return jsonBody(map[string]string{"card_id": card, "code": code}) }
	brand := func(card, code string) string {
		return jsonBody(map[string]string{"brand_id": emulator.DemoBrandID, "card_id": card, "user_card_code": code})
	}
	tests := []struct {
		name, path, body string
		status           int
		code, message    string
	}{
		{"unknown card", "membercard/claim", mc("pbLatNoSuchCard", emulator.DemoOpenID), 404, "RESOURCE_NOT_EXISTS", "no membercard-open card"},
		{"a brand card is no membercard-open card", "membercard/claim", mc(emulator.DemoBrandCardID, emulator.DemoOpenID), 404, "RESOURCE_NOT_EXISTS", ""},
		{"unknown user", "membercard/claim", mc(emulator.DemoCardID, "oNoSuchUser"), 404, "RESOURCE_NOT_EXISTS", "no user"},
		{"user of another AppID", "membercard/claim", mc(emulator.DemoCardID, "oOtherAppUser000000000000001"), 404, "RESOURCE_NOT_EXISTS", "AppID"},
		{"double claim", "membercard/claim", mc(emulator.DemoCardID, emulator.DemoOpenID2), 409, "INVALID_STATE", "already holds"},
		{"imported member claims", "membercard/claim", mc(emulator.DemoRealTimeCardID, emulator.DemoMemberOpenID), 409, "INVALID_STATE", emulator.DemoMemberCode},
		{"no callback URL", "membercard/claim", mc("pbLatNoCallbackMerchant00001", emulator.DemoOpenID), 409, "CANNOT_NOTIFY", "PATCH /v3/marketing/membercard-open/callback"},
		{"missing openid", "membercard/claim", `{"card_id":"` + emulator.DemoCardID + `"}`, 400, "PARAM_ERROR", "openid"},
		{"bad activate_type", "membercard/claim", `{"card_id":"` + emulator.DemoCardID + `","openid":"` + emulator.DemoOpenID + `","activate_type":"SOMETIMES"}`, 400, "PARAM_ERROR", "SOMETIMES"},
		{"unknown member", "membercard/claim", `{"card_id":"` + emulator.DemoCardID + `","open_id":"x"}`, 400, "PARAM_ERROR", "open_id"},
		{"not JSON", "membercard/claim", `card_id=1`, 400, "PARAM_ERROR", ""},
		{"two values", "membercard/claim", `{}{}`, 400, "PARAM_ERROR", "more than one"},
		{"unknown code", "membercard/activate", uc(emulator.DemoCardID, "000000000000"), 404, "RESOURCE_NOT_EXISTS", "000000000000"},
		{"missing code", "membercard/activate", `{"card_id":"` + emulator.DemoCardID + `"}`, 400, "PARAM_ERROR", "code"},
		{"activating an active card", "membercard/activate", uc(emulator.DemoRealTimeCardID, emulator.DemoMemberCode), 409, "INVALID_STATE", "EFFECTIVE"},
		{"unknown code deleted", "membercard/delete", uc(emulator.DemoCardID, "000000000000"), 404, "RESOURCE_NOT_EXISTS", ""},
		{"brand: unknown card", "brand/claim", jsonBody(map[string]string{"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoCardID, "openid": emulator.DemoOpenID}), 404, "RESOURCE_NOT_EXISTS", ""},
		{"brand: unknown brand", "brand/claim", jsonBody(map[string]string{"brand_id": "9999", "card_id": emulator.DemoBrandCardID, "openid": emulator.DemoOpenID}), 404, "RESOURCE_NOT_EXISTS", ""},
		{"brand: unknown user", "brand/claim", jsonBody(map[string]string{"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID, "openid": "oNoSuchUser"}), 404, "RESOURCE_NOT_EXISTS", "no user"},
		{"brand: double claim", "brand/claim", jsonBody(map[string]string{"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID, "openid": emulator.DemoMemberOpenID}), 409, "INVALID_STATE", "already holds"},
		{"brand: no notify_url", "brand/claim", jsonBody(map[string]string{"brand_id": emulator.DemoBrandID, "card_id": "pbLatBrandCardNoNotifyURL001", "openid": emulator.DemoOpenID}), 409, "CANNOT_NOTIFY", "notify_url"},
		{"brand: unknown user card", "brand/delete", brand(emulator.DemoBrandCardID, "000000000000"), 404, "RESOURCE_NOT_EXISTS", ""},
		{"brand: missing user_card_code", "brand/delete", brand(emulator.DemoBrandCardID, ""), 400, "PARAM_ERROR", "user_card_code"},
		{"brand: exchange on an unknown card", "brand/exchange-points", brand(emulator.DemoBrandCardID, "000000000000"), 404, "RESOURCE_NOT_EXISTS", ""},
		{"brand: negative points", "brand/exchange-points", `{"brand_id":"1004","card_id":"` + emulator.DemoBrandCardID + `","user_card_code":"` + emulator.DemoBrandUserCardCode + `","deduct_points":-1}`, 400, "PARAM_ERROR", "negative"},
	}
	for _, tt := range tests {
		status, out := post(t, srv, tt.path, tt.body)
		msg, _ := out["message"].(string)
		if status != tt.status || out["code"] != tt.code || !strings.Contains(msg, tt.message) {
			t.Errorf("%s: %d %v, want %d %s …%s…", tt.name, status, out, tt.status, tt.code, tt.message)
		}
	}
	// Delete twice.
	controlOK(t, srv, "membercard/delete", uc(emulator.DemoCardID, code))
	if status, out := post(t, srv, "membercard/delete", uc(emulator.DemoCardID, code)); status != 409 || out["code"] != "INVALID_STATE" {
		t.Errorf("second deletion: %d %v", status, out)
	}
	// A refused action changed nothing and sent nothing.
	if _, ok := e.Membership(emulator.DemoCardID, emulator.DemoOpenID); ok {
		t.Error("a refused claim left a membership")
	}
	if n := len(e.Deliveries()); n != 2 {
		t.Errorf("%d deliveries, want the two accepted actions'", n)
	}
	// Only POST.
	resp, err := srv.HTTPClient().Get(srv.URL + "/_emulator/membercard/claim")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

// The Go methods wrap the same sentinels the control API maps to statuses.
func TestMemberErrorsWrapSentinels(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t) // the demo callback URL is set, unreachable: nothing here is delivered
	e := srv.Emulator
	if _, err := e.ClaimCard(emulator.ClaimCardRequest{CardID: "pbLatNoSuchCard", OpenID: emulator.DemoOpenID}); !errors.Is(err, emulator.ErrNotFound) {
		t.Errorf("unknown card: %v", err)
	}
	if _, err := e.ClaimCard(emulator.ClaimCardRequest{CardID: emulator.DemoRealTimeCardID, OpenID: emulator.DemoMemberOpenID}); !errors.Is(err, emulator.ErrUserCardState) {
		t.Errorf("double claim: %v", err)
	}
	if _, err := e.ExchangePoints(emulator.ExchangePointsRequest{BrandID: emulator.DemoBrandID, CardID: "pbLatNoSuchCard", UserCardCode: "1"}); !errors.Is(err, emulator.ErrNotFound) {
		t.Errorf("unknown brand card: %v", err)
	}
	if err := e.AddCard(emulator.Card{ID: "pbLatNoCallbackMerchant00001", Family: emulator.MembercardFamily, MchID: "1900000003"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ClaimCard(emulator.ClaimCardRequest{CardID: "pbLatNoCallbackMerchant00001", OpenID: emulator.DemoOpenID}); !errors.Is(err, emulator.ErrCannotNotify) {
		t.Errorf("no callback URL: %v", err)
	}
	if n := len(e.Deliveries()); n != 0 {
		t.Errorf("%d deliveries", n)
	}
	// Without an APIv3 key nothing could be encrypted: refused before any change.
	k := testkeys.Shared()
	bare, err := emulator.New(emulator.WithMerchant(emulator.DemoMchID, emulator.DemoMerchantSerial, &k.Merchant.PublicKey),
		emulator.WithPublicKey(emulator.DemoPublicKeyID, k.Platform))
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if err := bare.SeedDemo(emulator.DemoMchID); err != nil {
		t.Fatal(err)
	}
	if _, err := bare.ClaimCard(emulator.ClaimCardRequest{CardID: emulator.DemoCardID, OpenID: emulator.DemoOpenID}); !errors.Is(err, emulator.ErrCannotNotify) {
		t.Errorf("no APIv3 key: %v", err)
	}
	if _, ok := bare.Membership(emulator.DemoCardID, emulator.DemoOpenID); ok {
		t.Error("a refused claim left a membership")
	}
}
