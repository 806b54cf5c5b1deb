package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/apiv3/payrollcard"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/apispec"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

func apiErr(t *testing.T, err error, status int, code, message string) {
	t.Helper()
	var ae *wxpay.APIError
	if !errors.As(err, &ae) || ae.StatusCode != status || ae.Code != code || message != "" && ae.Message != message {
		t.Fatalf("err = %v, want %d %s %s", err, status, code, message)
	}
}

func newServer(t *testing.T, opts ...wxpaytest.Option) (*wxpaytest.Server, *wxpay.Client) {
	t.Helper()
	srv := wxpaytest.NewServer(opts...)
	t.Cleanup(srv.Close)
	c, err := srv.NewClient(wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestPreAuthTokens(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	if err := srv.Emulator.AddBrand(emulator.Brand{ID: "2002", MchID: emulator.DemoMchID}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Emulator.AddCard(emulator.Card{ID: "pbLatOtherBrandCard000000000", Family: emulator.BrandFamily, BrandID: "2002"}); err != nil {
		t.Fatal(err)
	}
	for _, legacy := range []bool{true, false} {
		post := func(req cardmember.CreatePreAuthTokenRequest) (*cardmember.PreAuthToken, error) {
			if legacy {
				tok, _, err := c.V3.Brand.Partner.CardMember.OpenUserCardTokens.Post(ctx, &cardmember.CreateOpenUserCardTokenRequest{
					BrandID: req.BrandID, CardID: req.CardID, OpenID: req.OpenID})
				return tok, err
			}
			tok, _, err := c.V3.Brand.Partner.CardMember.PreAuthTokens.Post(ctx, &req)
			return tok, err
		}
		tok, err := post(cardmember.CreatePreAuthTokenRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID})
		if err != nil || len(tok.Token) != 32 || tok.ExpireTime != "2026-01-01T11:00:00+08:00" {
			t.Fatalf("legacy=%v: %+v %v", legacy, tok, err)
		}
		_, err = post(cardmember.CreatePreAuthTokenRequest{BrandID: emulator.DemoBrandID, CardID: "pbLatOtherBrandCard000000000", OpenID: emulator.DemoOpenID})
		apiErr(t, err, 400, "INVALID_REQUEST", "会员卡模版ID不属于该品牌")
		_, err = post(cardmember.CreatePreAuthTokenRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: "oNobody"})
		apiErr(t, err, 400, "PARAM_ERROR", "OpenID有误")
	}
	// The expiry follows the clock.
	srv.Clock().Advance(90 * time.Minute)
	tok, _, err := c.V3.Brand.Partner.CardMember.PreAuthTokens.Post(ctx, &cardmember.CreatePreAuthTokenRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID})
	if err != nil || tok.ExpireTime != "2026-01-01T12:30:00+08:00" {
		t.Errorf("%+v %v", tok, err)
	}
}

func TestPermissionTokens(t *testing.T) {
	t.Parallel()
	// A second merchant, with its own key, registered on the same emulator.
	const otherMchID, otherSerial = "1900000002", "6B3C2D9A0F1E4A5B8C7D6E5F4A3B2C1D0E9F8A7B"
	otherKey := testkeys.Generate()
	srv, c := newServer(t, wxpaytest.WithEmulatorOptions(emulator.WithMerchant(otherMchID, otherSerial, &otherKey.PublicKey)))
	other, err := srv.NewClient(wxpay.WithMerchant(otherMchID, otherSerial, otherKey))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// It creates a card template through the API.
	create, _ := apispec.ByID("CreateMembercardCard")
	resp, err := other.Chain(create.Path).Post(ctx, minimal(create, create.Body, nil, true))
	var created struct {
		CardID string `json:"card_id"`
	}
	if err != nil || resp.Decode(&created) != nil || created.CardID == "" {
		t.Fatalf("the second merchant creates a card: %v", err)
	}

	cards := c.V3.Marketing.MembercardOpen.Cards
	auto := &membercardopen.CreatePermissionTokenRequest{ActivateType: membercardopen.ActivateTypeAutoActivate}
	p, _, err := cards.CardID(emulator.DemoCardID).PermissionTokens.Post(ctx, auto)
	if err != nil || !strings.HasPrefix(p.PermissionToken, "pt_") || len(p.PermissionToken) != 67 {
		t.Fatalf("%+v %v", p, err)
	}
	if p2, _, err := other.V3.Marketing.MembercardOpen.Cards.CardID(created.CardID).PermissionTokens.Post(ctx, auto); err != nil || p2.PermissionToken == p.PermissionToken {
		t.Errorf("the creator's own card: %+v %v", p2, err)
	}
	tests := []struct {
		name   string
		client *wxpay.Client
		cardID string
		msg    string
	}{
		{"unknown card", c, "pbLatNoSuchCard", "会员卡ID无效"},
		{"a brand card is no membercard-open card", c, emulator.DemoBrandCardID, "会员卡ID无效"},
		{"card created by another merchant", c, created.CardID, "会员卡的创建商户号不等于调用方商户号"},
		{"and the other way round", other, emulator.DemoCardID, "会员卡的创建商户号不等于调用方商户号"},
	}
	for _, tt := range tests {
		_, _, err := tt.client.V3.Marketing.MembercardOpen.Cards.CardID(tt.cardID).PermissionTokens.Post(ctx, auto)
		var ae *wxpay.APIError
		if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != "INVALID_REQUEST" || ae.Message != tt.msg {
			t.Errorf("%s: %v, want 400 INVALID_REQUEST %s", tt.name, err, tt.msg)
		}
	}
	// A value outside the enum, sent past the client's own validation.
	_, _, err = cards.CardID(emulator.DemoCardID).PermissionTokens.Post(ctx, &membercardopen.CreatePermissionTokenRequest{ActivateType: "SOMETIMES"}, wxpay.WithoutValidation())
	apiErr(t, err, 400, "PARAM_ERROR", "参数错误")
	var ae *wxpay.APIError
	errors.As(err, &ae)
	if ae.Detail == nil || ae.Detail.Field != "/activate_type" || ae.Detail.Location != "body" || ae.Detail.Value != "SOMETIMES" {
		t.Errorf("detail = %+v", ae.Detail)
	}
}

func TestPayrollTokens(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	if err := srv.Emulator.AddSubMerchant(emulator.SubMerchant{SubMchID: "1900000777", MchID: "1900000002"}); err != nil {
		t.Fatal(err)
	}
	req := payrollcard.CreateTokenRequest{OpenID: emulator.DemoOpenID, SubMchID: emulator.DemoSubMchID, SubAppID: emulator.DemoSubAppID,
		UserName: "张三", IDCardNumber: "110101199003077777", EmploymentType: payrollcard.EmploymentTypeShortTermEmployment}
	var ae *wxpay.APIError
	tok, _, err := c.V3.PayrollCard.Tokens.Post(ctx, &req)
	if err != nil || tok.ExpiresIn != 1800 || len(tok.Token) != 40 || tok.MchID != emulator.DemoMchID || tok.SubMchID != emulator.DemoSubMchID || tok.OpenID != emulator.DemoOpenID {
		t.Fatalf("%+v %v", tok, err)
	}
	other := req
	other.SubMchID = "1900000777"
	_, _, err = c.V3.PayrollCard.Tokens.Post(ctx, &other)
	apiErr(t, err, 400, "INVALID_REQUEST", "子商户号sub_mchid与服务商商户号不存在受理关系")
	noApp := req
	noApp.SubAppID = ""
	_, _, err = c.V3.PayrollCard.Tokens.Post(ctx, &noApp)
	apiErr(t, err, 400, "PARAM_ERROR", "")
	// Plain text where ciphertext is expected.
	_, err = c.Chain("v3/payroll-card/tokens").Post(ctx, map[string]string{"openid": "o", "sub_mchid": emulator.DemoSubMchID, "appid": emulator.DemoAppID,
		"user_name": "张三", "id_card_number": "1101"}, wxpay.Header("Wechatpay-Serial", emulator.DemoPublicKeyID))
	apiErr(t, err, 400, "PARAM_ERROR", "请确认待处理的消息是否为加密后的密文")
	if errors.As(err, &ae); ae.Detail == nil || ae.Detail.Field != "/user_name" || ae.Detail.Location != "body" {
		t.Errorf("detail %+v, want /user_name in body", ae.Detail)
	}
	// Ciphertext for another key (the merchant's own) does not decrypt either.
	foreign, err := wxpay.EncryptOAEP(nil, &testkeys.Shared().Other.PublicKey, []byte("110101199003077777"))
	if err != nil {
		t.Fatal(err)
	}
	name, _ := wxpay.EncryptOAEP(nil, srv.PlatformPublicKey(), []byte("张三"))
	_, err = c.Chain("v3/payroll-card/tokens").Post(ctx, map[string]string{"openid": "o", "sub_mchid": emulator.DemoSubMchID, "appid": emulator.DemoAppID,
		"user_name": name, "id_card_number": foreign}, wxpay.Header("Wechatpay-Serial", emulator.DemoPublicKeyID))
	apiErr(t, err, 400, "PARAM_ERROR", "请确认待处理的消息是否为加密后的密文")
	if errors.As(err, &ae); ae.Detail == nil || ae.Detail.Field != "/id_card_number" {
		t.Errorf("detail %+v, want /id_card_number", ae.Detail)
	}
	// A Wechatpay-Serial naming no key of the service.
	_, err = c.Chain("v3/payroll-card/tokens").Post(ctx, map[string]any{"openid": "o", "sub_mchid": emulator.DemoSubMchID,
		"user_name": wxpay.Sensitive("张三"), "id_card_number": wxpay.Sensitive("1101")}, wxpay.Header("Wechatpay-Serial", "PUB_KEY_ID_0000000000000000000000000099"))
	if err == nil || !errors.Is(err, wxpay.ErrInvalidRequest) {
		t.Errorf("a hand-set serial that differs from the encryption key must be refused locally: %v", err)
	}
	_, err = c.Chain("v3/payroll-card/tokens").Post(ctx, map[string]any{"openid": "o", "sub_mchid": emulator.DemoSubMchID, "appid": "wx",
		"user_name": "x", "id_card_number": "y"}, wxpay.Header("Wechatpay-Serial", "PUB_KEY_ID_0000000000000000000000000099"))
	apiErr(t, err, 400, "PARAM_ERROR", "Wechatpay-Serial无效，请使用微信支付公钥ID或有效的平台证书序列号")
	if errors.As(err, &ae); ae.Detail == nil || ae.Detail.Location != "header" || ae.Detail.Field != "Wechatpay-Serial" {
		t.Errorf("detail %+v", ae.Detail)
	}
}

func TestUsersImport(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	e := srv.Emulator
	e.AddUser(emulator.User{OpenID: "oRace"}, emulator.User{OpenID: "oDeposit1"}, emulator.User{OpenID: "oDeposit2"}, emulator.User{OpenID: "oDeposit3"})
	imp := func(card string) membercardopen.CardsCardIDUsersImport {
		return c.V3.Marketing.MembercardOpen.Cards.CardID(card).Users.Import
	}
	req := &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "no-1"}
	first, _, err := imp(emulator.DemoCardID).Post(ctx, req)
	if err != nil || len(first.Code) != 12 {
		t.Fatalf("%+v %v", first, err)
	}
	again, _, err := imp(emulator.DemoCardID).Post(ctx, req)
	if err != nil || again.Code != first.Code || len(e.Memberships(emulator.DemoCardID)) != 1 {
		t.Fatalf("repeat: %+v %v", again, err)
	}
	_, _, err = imp(emulator.DemoCardID).Post(ctx, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID2, OutRequestNo: "no-1"})
	apiErr(t, err, 400, "INVALID_REQUEST", "请确认相同单号是否使用了不同的参数")
	_, _, err = imp(emulator.DemoCardID).Post(ctx, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "no-2"})
	apiErr(t, err, 400, "INVALID_REQUEST", "该用户已领取过此会员卡，不可重复导入")
	if n := len(e.Memberships(emulator.DemoCardID)); n != 1 {
		t.Fatalf("%d memberships after the refusals, want 1", n)
	}
	_, _, err = imp(emulator.DemoCardID).Post(ctx, &membercardopen.ImportUserRequest{OpenID: "oNobody", OutRequestNo: "no-3"})
	apiErr(t, err, 400, "PARAM_ERROR", "OpenID有误")

	// REAL_TIME cards need the code.
	_, _, err = imp(emulator.DemoRealTimeCardID).Post(ctx, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "rt-1"})
	apiErr(t, err, 400, "PARAM_ERROR", "实时code模式的会员卡必须传入code")
	rt, _, err := imp(emulator.DemoRealTimeCardID).Post(ctx, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "rt-2", Code: "RT000001"})
	if err != nil || rt.Code != "RT000001" {
		t.Fatalf("%+v %v", rt, err)
	}

	// MERCHANT_DEPOSIT cards use deposited codes in order, then refuse.
	if err := e.AddCard(emulator.Card{ID: "pbLatDepositCard000000000000", Family: emulator.MembercardFamily, MchID: emulator.DemoMchID, CodeMode: emulator.MerchantDeposit}); err != nil {
		t.Fatal(err)
	}
	dep, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID("pbLatDepositCard000000000000").Codes.Deposit.Post(ctx,
		&membercardopen.DepositCodesRequest{Code: []string{"D1", "D2", "D1"}})
	if err != nil || len(dep.Data) != 3 || dep.Data[2].Result != "DUPLICATE" || dep.Data[0].Result != "SUCCESS" {
		t.Fatalf("deposit: %+v %v", dep, err)
	}
	for i, want := range []string{"D1", "D2"} {
		got, _, err := imp("pbLatDepositCard000000000000").Post(ctx, &membercardopen.ImportUserRequest{OpenID: fmt.Sprintf("oDeposit%d", i+1), OutRequestNo: fmt.Sprintf("d-%d", i)})
		if err != nil || got.Code != want {
			t.Fatalf("deposit import %d: %+v %v", i, got, err)
		}
	}
	_, _, err = imp("pbLatDepositCard000000000000").Post(ctx, &membercardopen.ImportUserRequest{OpenID: "oDeposit3", OutRequestNo: "d-3"})
	apiErr(t, err, 400, "INVALID_REQUEST", "会员卡已无可用的预存code，请先导入code")
	// A new deposit serves the waiting user.
	if n := e.DepositCodes("pbLatDepositCard000000000000", "D3"); n != 1 {
		t.Fatalf("deposited %d", n)
	}
	if got, _, err := imp("pbLatDepositCard000000000000").Post(ctx, &membercardopen.ImportUserRequest{OpenID: "oDeposit3", OutRequestNo: "d-3"}); err != nil || got.Code != "D3" {
		t.Fatalf("after a new deposit: %+v %v", got, err)
	}

	// 50 racing imports of one user with different numbers: exactly one
	// membership; every other import is refused as a second membership.
	var wg sync.WaitGroup
	errs := make([]error, 50)
	codes := make([]string, 50)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, _, err := imp(emulator.DemoCardID).Post(ctx, &membercardopen.ImportUserRequest{OpenID: "oRace", OutRequestNo: fmt.Sprintf("race-%d", i)})
			errs[i] = err
			if err == nil {
				codes[i] = m.Code
			}
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		var ae *wxpay.APIError
		switch {
		case err == nil && winner >= 0:
			t.Errorf("imports %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Message != "该用户已领取过此会员卡，不可重复导入":
			t.Errorf("import %d: %v", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no racing import succeeded")
	}
	m, ok := e.Membership(emulator.DemoCardID, "oRace")
	if !ok || m.Code != codes[winner] || m.RequestNo != fmt.Sprintf("race-%d", winner) {
		t.Errorf("membership %+v, want code %s of race-%d", m, codes[winner], winner)
	}
	n := 0
	for _, m := range e.Memberships(emulator.DemoCardID) {
		if m.OpenID == "oRace" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d memberships of oRace, want 1", n)
	}
}

func TestValidationDetail(t *testing.T) {
	t.Parallel()
	_, c := newServer(t)
	ctx := context.Background()
	noVal := wxpay.WithoutValidation()
	tests := []struct {
		name  string
		call  func() error
		field string
		loc   string
	}{
		{"nested array element", func() error {
			_, _, err := c.V3.Brand.Partner.CardMember.UserCards.ImportByOpenID.Post(ctx, &cardmember.ImportUserCardByOpenIDRequest{
				BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID, UserCardCode: "1", PickupTime: "2026-01-01T10:00:00+08:00",
				DateInformation: cardmember.ValidDateInformation{Type: cardmember.ValidDateTypePermanent},
				UserInformation: &cardmember.UserInformationInput{CommonFieldList: []cardmember.UserFormValueInput{{Name: cardmember.UserFormFlagSex}, {Name: "BAD"}}},
			}, noVal)
			return err
		}, "/user_information/common_field_list/1/name", "body"},
		{"required nested field", func() error {
			_, err := c.Chain("v3/brand/partner/card-member/user-cards/import-by-openid").Post(ctx, map[string]any{
				"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID, "openid": "o", "user_card_code": "1",
				"pickup_time": "t", "date_information": map[string]any{}}, wxpay.Header("Wechatpay-Serial", emulator.DemoPublicKeyID))
			return err
		}, "/date_information/type", "body"},
		{"null value", func() error {
			_, err := c.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").Post(ctx,
				map[string]any{"activate_type": "AUTO_ACTIVATE", "outer_str": nil}, wxpay.PathParam("card_id", emulator.DemoCardID))
			return err
		}, "/outer_str", "body"},
		{"wrong JSON type", func() error {
			_, err := c.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").Post(ctx,
				map[string]any{"activate_type": "AUTO_ACTIVATE", "navigate_back_previous_page": "yes"}, wxpay.PathParam("card_id", emulator.DemoCardID))
			return err
		}, "/navigate_back_previous_page", "body"},
		{"missing query parameter", func() error {
			_, _, err := c.V3.Brand.Partner.CardMember.Cards.Get(ctx, &cardmember.ListCardsRequest{}, noVal)
			return err
		}, "brand_id", "query"},
		{"length in characters", func() error {
			_, _, err := c.V3.Brand.Partner.CardMember.PreAuthTokens.Post(ctx, &cardmember.CreatePreAuthTokenRequest{
				BrandID: "品品品品品品品品品品品品品品品品品品品品品品品品品品品品品品品品品", CardID: "c", OpenID: "o"}, noVal)
			return err
		}, "/brand_id", "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae *wxpay.APIError
			if !errors.As(err, &ae) || ae.Code != "PARAM_ERROR" || ae.Detail == nil || ae.Detail.Field != tt.field || ae.Detail.Location != tt.loc {
				t.Fatalf("err = %v, detail %+v; want field %s in %s", err, ae, tt.field, tt.loc)
			}
		})
	}
}

func TestCardTemplateLifecycle(t *testing.T) {
	t.Parallel()
	_, c := newServer(t)
	ctx := context.Background()
	brand := c.V3.Brand.Partner.CardMember.Cards
	req := &cardmember.CreateCardRequest{
		BrandID: emulator.DemoBrandID, AppID: emulator.DemoAppID, CardType: cardmember.CardTypeNormal, CardTitle: "金卡", CardColor: "#FFD700",
		CardPictureURL: "https://wxpay.example/gold.png", CodeMode: cardmember.CodeModeSystemAllocate, CodeType: cardmember.CodeTypeQRCode,
		Benefits: "九折", NotifyURL: "https://wxpay.example/notify", ValidDateInformation: cardmember.ValidDateInformation{Type: cardmember.ValidDateTypePermanent},
	}
	// An image the service never issued is refused, as the service refuses
	// images not uploaded through its marketing image upload.
	_, _, err := brand.Post(ctx, req)
	if d := detail(t, err); d.Field != "/card_picture_url" {
		t.Fatalf("a foreign image: %+v", d)
	}
	req.CardPictureURL = emulator.DemoBackgroundURL
	created, _, err := brand.Post(ctx, req)
	if err != nil || created.CardID == "" || created.CardTitle != "金卡" {
		t.Fatalf("create: %+v %v", created, err)
	}
	got, _, err := brand.CardID(created.CardID).Get(ctx, &cardmember.GetCardRequest{BrandID: emulator.DemoBrandID})
	if err != nil || got.CardTitle != "金卡" || got.State != "CARD_EFFECTIVE" || got.CreateTime != "2026-01-01T10:00:00+08:00" {
		t.Fatalf("get: %+v %v", got, err)
	}
	upd, _, err := brand.CardID(created.CardID).Patch(ctx, &cardmember.UpdateCardRequest{BrandID: emulator.DemoBrandID, CardTitle: "白金卡"})
	if err != nil || upd.CardTitle != "白金卡" {
		t.Fatalf("update: %+v %v", upd, err)
	}
	list, _, err := brand.Get(ctx, &cardmember.ListCardsRequest{BrandID: emulator.DemoBrandID})
	if err != nil || list.TotalCount != 2 {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, _, err := brand.CardID(created.CardID).Delete(ctx, &cardmember.DeleteCardRequest{BrandID: emulator.DemoBrandID}); err != nil {
		t.Fatal(err)
	}
	_, _, err = brand.CardID(created.CardID).Get(ctx, &cardmember.GetCardRequest{BrandID: emulator.DemoBrandID})
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "")
}

func TestBrandUserCards(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	req := &cardmember.ImportUserCardByOpenIDRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID,
		UserCardCode: "478515832665", PhoneNumber: "13800138000", PickupTime: "2026-01-01T10:00:00+08:00",
		DateInformation: cardmember.ValidDateInformation{Type: cardmember.ValidDateTypePermanent}}
	card, _, err := c.V3.Brand.Partner.CardMember.UserCards.ImportByOpenID.Post(ctx, req)
	if err != nil || card.UserCardCode != "478515832665" || card.UserCardState != "EFFECTIVE" {
		t.Fatalf("%+v %v", card, err)
	}
	// The phone comes back encrypted for the merchant.
	if phone, err := card.DecryptPhoneNumber(c); err != nil || phone != "13800138000" {
		t.Errorf("phone %v %v", phone, err)
	}
	// Re-sending the same content is a repeat (the ciphertext differs: OAEP is randomised).
	if again, _, err := c.V3.Brand.Partner.CardMember.UserCards.ImportByOpenID.Post(ctx, req); err != nil || again.UserCardCode != card.UserCardCode {
		t.Errorf("repeat: %v", err)
	}
	got, _, err := c.V3.Brand.Partner.CardMember.UserCards.UserCardCode("478515832665").Get(ctx, &cardmember.GetUserCardRequest{
		BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID})
	if err != nil || got.OpenID != emulator.DemoOpenID {
		t.Fatalf("get: %+v %v", got, err)
	}
	inv, _, err := c.V3.Brand.Partner.CardMember.UserCards.UserCardCode("478515832665").Invalidate.Post(ctx, &cardmember.InvalidateUserCardRequest{
		BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID, InvalidReason: "用户注销"})
	if err != nil || inv.UserCardState != "INVALID" {
		t.Fatalf("invalidate: %+v %v", inv, err)
	}
	if m, ok := srv.Emulator.Membership(emulator.DemoBrandCardID, emulator.DemoOpenID); !ok || m.State != "INVALID" {
		t.Errorf("state %+v", m)
	}
}

// TestEveryOperationAnswersWellFormed calls each of the spec's operations with a
// minimal valid request and checks the answer's status and required fields.
func TestEveryOperationAnswersWellFormed(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	fx, err := prepare(ctx, c, srv)
	if err != nil {
		t.Fatal(err)
	}
	ops := specOperations()
	if len(ops) < 60 {
		t.Fatalf("only %d operations in the spec", len(ops))
	}
	for _, op := range ops {
		t.Run(op.ID, func(t *testing.T) {
			resp, err := callMinimal(ctx, c, fx, op)
			if expected, ok := knownBusinessErrors[op.ID]; ok {
				apiErr(t, err, expected.status, expected.code, "")
				return
			}
			if err != nil {
				t.Fatalf("%s %s: %v", op.Method, op.Path, err)
			}
			if resp.StatusCode != op.ResponseStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, op.ResponseStatus)
			}
			if op.ResponseStream {
				// A file, unsigned by design (protocol §11).
				if resp.Header.Get("Wechatpay-Signature") != "" || !strings.HasPrefix(string(resp.Body), "交易时间,") {
					t.Errorf("file answer: signature %q, body %.40q", resp.Header.Get("Wechatpay-Signature"), resp.Body)
				}
				return
			}
			if !requestIDShape.MatchString(resp.RequestID) || resp.Header.Get("Wechatpay-Signature") == "" {
				t.Errorf("Request-ID %q, signature %q", resp.RequestID, resp.Header.Get("Wechatpay-Signature"))
			}
			if op.ResponseStatus == http.StatusNoContent && len(resp.Body) != 0 {
				t.Errorf("204 with a body: %s", resp.Body)
			}
			if op.ResponseStatus == http.StatusOK && op.ResponseDocumented {
				var body map[string]any
				if err := json.Unmarshal(resp.Body, &body); err != nil {
					t.Fatal(err)
				}
				if issue := checkShape(body, op.Response, ""); issue != "" {
					t.Errorf("answer %s: %s", resp.Body, issue)
				}
			}
		})
	}
}
