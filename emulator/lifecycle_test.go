package emulator_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/apispec"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/internal/wire"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// detail returns the PARAM_ERROR detail of err, failing the test otherwise.
func detail(t *testing.T, err error) *wxpay.ErrorDetail {
	t.Helper()
	var ae *wxpay.APIError
	if !errors.As(err, &ae) || ae.Code != "PARAM_ERROR" || ae.Detail == nil {
		t.Fatalf("err = %v, want PARAM_ERROR with detail", err)
	}
	return ae.Detail
}

func TestListPaging(t *testing.T) {
	t.Parallel()
	_, c := newServer(t)
	ctx := context.Background()
	tests := []struct {
		offset, limit string
		total, n      int
	}{
		// This list's offset is a page index (分页页码): pages of limit items.
		{"0", "10", 4, 4},
		{"1", "1", 4, 1},
		{"1", "3", 4, 1}, // the second page of three holds the fourth card
		{"3", "10", 4, 0},
		{"99", "10", 4, 0},
		{"2", "9223372036854775807", 4, 0}, // offset×limit overflows int64
		{"9223372036854775807", "2", 4, 0},
	}
	// The demo merchant owns the SYSTEM_ALLOCATE, REAL_TIME and
	// MERCHANT_DEPOSIT cards; one more.
	create, _ := apispec.ByID("CreateMembercardCard")
	if _, err := c.Chain(create.Path).Post(ctx, minimal(create, create.Body, nil, true)); err != nil {
		t.Fatalf("create: %v", err)
	}
	for _, tt := range tests {
		resp, err := c.Chain("v3/marketing/membercard-open/cards").Get(ctx, wxpay.Query("offset", tt.offset), wxpay.Query("limit", tt.limit))
		if err != nil {
			t.Fatalf("offset %s limit %s: %v", tt.offset, tt.limit, err)
		}
		var page struct {
			TotalCount int   `json:"total_count"`
			Data       []any `json:"data"`
		}
		if err := resp.Decode(&page); err != nil || page.TotalCount != tt.total || len(page.Data) != tt.n {
			t.Errorf("offset %s limit %s: %s %v", tt.offset, tt.limit, resp.Body, err)
		}
	}
	for q, other := range map[string]string{"offset": "limit", "limit": "offset"} {
		_, err := c.Chain("v3/marketing/membercard-open/cards").Get(ctx, wxpay.Query(q, "-1"), wxpay.Query(other, "1"))
		if d := detail(t, err); d.Field != q || d.Location != "query" || d.Value != "-1" {
			t.Errorf("negative %s: %+v", q, d)
		}
	}
}

func TestImportRules(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	e := srv.Emulator
	fixtures := e.MembershipCount() // the demo member's cards
	e.AddUser(emulator.User{OpenID: "oOtherApp", AppID: "wxOtherApp0000001"})
	imp := func(card string, r *membercardopen.ImportUserRequest) (string, error) {
		m, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID(card).Users.Import.Post(ctx, r)
		if err != nil {
			return "", err
		}
		return m.Code, nil
	}

	// SYSTEM_ALLOCATE: the service allocates, whatever code is sent.
	code, err := imp(emulator.DemoCardID, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "r-1", Code: "MINE0001"})
	if err != nil || len(code) != 12 || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("code %q %v", code, err)
	}
	// The same number for another card is "the same number, different parameters".
	_, err = imp(emulator.DemoRealTimeCardID, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "r-1", Code: "MINE0001"})
	apiErr(t, err, 400, "INVALID_REQUEST", "请确认相同单号是否使用了不同的参数")
	// The user already holds the card.
	_, err = imp(emulator.DemoCardID, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "r-2"})
	apiErr(t, err, 400, "INVALID_REQUEST", "该用户已领取过此会员卡，不可重复导入")
	// An openid of another AppID is not an openid of the card's AppID.
	_, err = imp(emulator.DemoCardID, &membercardopen.ImportUserRequest{OpenID: "oOtherApp", OutRequestNo: "r-3"})
	apiErr(t, err, 400, "PARAM_ERROR", "OpenID有误")
	if d := detail(t, err); d.Field != "/openid" || d.Location != "body" || d.Value != "oOtherApp" {
		t.Errorf("detail %+v", d)
	}
	// REAL_TIME: the code is required and used, once per card.
	_, err = imp(emulator.DemoRealTimeCardID, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "rt-1"})
	if d := detail(t, err); d.Field != "/code" {
		t.Errorf("detail %+v", d)
	}
	if code, err := imp(emulator.DemoRealTimeCardID, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "rt-2", Code: "RT1"}); err != nil || code != "RT1" {
		t.Fatalf("%q %v", code, err)
	}
	_, err = imp(emulator.DemoRealTimeCardID, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID2, OutRequestNo: "rt-3", Code: "RT1"})
	apiErr(t, err, 400, "INVALID_REQUEST", "该code已被使用")
	// A failed import leaves nothing behind: the number can be used once the user exists.
	_, err = imp(emulator.DemoCardID, &membercardopen.ImportUserRequest{OpenID: "oLater", OutRequestNo: "r-4"})
	apiErr(t, err, 400, "PARAM_ERROR", "OpenID有误")
	e.AddUser(emulator.User{OpenID: "oLater"})
	if _, err := imp(emulator.DemoCardID, &membercardopen.ImportUserRequest{OpenID: "oLater", OutRequestNo: "r-4"}); err != nil {
		t.Errorf("after adding the user: %v", err)
	}
	if n := e.MembershipCount() - fixtures; n != 3 {
		t.Errorf("%d memberships imported, want 3", n)
	}
	// Deposited codes: duplicates (in the pool or in use) are refused.
	if err := e.AddCard(emulator.Card{ID: "pbLatDeposit", Family: emulator.MembercardFamily, MchID: emulator.DemoMchID, CodeMode: emulator.MerchantDeposit}); err != nil {
		t.Fatal(err)
	}
	if n := e.DepositCodes("pbLatDeposit", "D1", "D2", "D1", ""); n != 2 {
		t.Errorf("%d codes deposited, want 2", n)
	}
	if code, err := imp("pbLatDeposit", &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "d-1", Code: "IGNORED"}); err != nil || code != "D1" {
		t.Errorf("%q %v", code, err)
	}
	if n := e.DepositCodes("pbLatDeposit", "D1"); n != 0 {
		t.Error("a code in use was deposited again")
	}
}

func TestMembercardUserCardLifecycle(t *testing.T) {
	t.Parallel()
	_, c := newServer(t)
	ctx := context.Background()
	m, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import.Post(ctx,
		&membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "lc-1"})
	if err != nil {
		t.Fatal(err)
	}
	codes := c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Codes
	if _, err := codes.Code(m.Code).Activate.Post(ctx, &membercardopen.ActivateUserCardRequest{MembershipNumber: "M0001"}); err != nil {
		t.Fatal(err)
	}
	if _, err := codes.Code(m.Code).Patch(ctx, &membercardopen.UpdateUserCardRequest{Level: "金卡"}); err != nil {
		t.Fatal(err)
	}
	got, _, err := codes.Code(m.Code).Get(ctx)
	if err != nil || got.OpenID != emulator.DemoOpenID || got.MembershipNumber != "M0001" || got.Level != "金卡" || got.UserCardStatus != "EFFECTIVE" {
		t.Fatalf("get: %+v %v", got, err)
	}
	list, _, err := c.V3.Marketing.MembercardOpen.User.Cards.Get(ctx, &membercardopen.ListUserCardsRequest{OpenID: emulator.DemoOpenID, Limit: 10})
	if err != nil || list.TotalCount != 1 || len(list.Data) != 1 || list.Data[0].Code != m.Code {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := codes.Code(m.Code).Unavailable.Post(ctx, &membercardopen.InvalidateUserCardRequest{Reason: "注销"}); err != nil {
		t.Fatal(err)
	}
	_, err = codes.Code(m.Code).Activate.Post(ctx, &membercardopen.ActivateUserCardRequest{})
	apiErr(t, err, 400, "INVALID_REQUEST", "")
	_, err = codes.Code("000000000000").Patch(ctx, &membercardopen.UpdateUserCardRequest{Level: "金卡"})
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "")
}

func TestBrandCardAndUserCardLists(t *testing.T) {
	t.Parallel()
	_, c := newServer(t)
	ctx := context.Background()
	bc := c.V3.Brand.Partner.CardMember
	if _, _, err := bc.UserCards.ImportByOpenID.Post(ctx, &cardmember.ImportUserCardByOpenIDRequest{
		BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID, UserCardCode: "100000000001",
		PickupTime: "2026-01-01T10:00:00+08:00", DateInformation: cardmember.ValidDateInformation{Type: cardmember.ValidDateTypePermanent}}); err != nil {
		t.Fatal(err)
	}
	for state, want := range map[cardmember.UserCardState]int64{"": 1, "EFFECTIVE": 1, "INVALID": 0} {
		list, _, err := bc.UserCards.Get(ctx, &cardmember.ListUserCardsRequest{BrandID: emulator.DemoBrandID, OpenID: emulator.DemoOpenID, UserCardState: state, Limit: 10})
		if err != nil || list.TotalCount != want || int64(len(list.Data)) != want {
			t.Fatalf("state %q: %+v %v", state, list, err)
		}
		if want == 1 && list.Data[0].UserCardCode != "100000000001" {
			t.Errorf("state %q: %+v", state, list.Data[0])
		}
	}
	inv, _, err := bc.Cards.CardID(emulator.DemoBrandCardID).Invalidate.Post(ctx, &cardmember.InvalidateCardRequest{BrandID: emulator.DemoBrandID})
	if err != nil || inv.State != "CARD_INVALID" || inv.CardID != emulator.DemoBrandCardID {
		t.Fatalf("invalidate: %+v %v", inv, err)
	}
	got, _, err := bc.Cards.CardID(emulator.DemoBrandCardID).Get(ctx, &cardmember.GetCardRequest{BrandID: emulator.DemoBrandID})
	if err != nil || got.State != "CARD_INVALID" {
		t.Errorf("get: %+v %v", got, err)
	}
}

// Details of the protocol that sit outside the happy path.
func TestProtocolEdges(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	body := `{"activate_type":"AUTO_ACTIVATE"}`

	// A serial is matched whatever its case.
	lower := rawRequest{method: "POST", target: permissionPath, body: body, serial: strings.ToLower(emulator.DemoMerchantSerial)}
	if resp, b := lower.do(t, srv); resp.StatusCode != 200 {
		t.Errorf("lower-case serial: %d %v", resp.StatusCode, b)
	}
	// /v3/certificates exists for GET only.
	if resp, b := (rawRequest{method: "POST", target: "/v3/certificates", body: "{}"}).do(t, srv); resp.StatusCode != 405 || b["code"] != "INVALID_REQUEST" {
		t.Errorf("POST /v3/certificates: %d %v", resp.StatusCode, b)
	}
	// The signed target is the raw one: an escaped path parameter verifies as sent.
	escaped := "/v3/marketing/membercard-open/cards/" + "pbLat%2Fslash" + "/permission-tokens"
	if resp, b := (rawRequest{method: "POST", target: escaped, body: body}).do(t, srv); resp.StatusCode != 400 || b["message"] != "会员卡ID无效" {
		t.Errorf("escaped card_id: %d %v", resp.StatusCode, b)
	}
	// A SIGN_ERROR with a multi-byte body truncates its diagnostic on a character boundary.
	long := `{"outer_str":"` + strings.Repeat("店", 300) + `"}`
	resp, b := rawRequest{method: "POST", target: permissionPath, body: long, alterBody: long + " "}.do(t, srv)
	info := b["detail"].(map[string]any)["sign_information"].(map[string]any)
	if msg := info["truncated_sign_message"].(string); resp.StatusCode != 401 || strings.ContainsRune(msg, '\uFFFD') || len(msg) > 512 {
		t.Errorf("truncated message %q", msg)
	}
	// A long multi-byte value echoed in a PARAM_ERROR is clipped on a character boundary too.
	target := "/v3/marketing/membercard-open/cards?offset=" + url.QueryEscape(strings.Repeat("店", 30))
	resp, b = rawRequest{method: "GET", target: target}.do(t, srv)
	if v, _ := b["detail"].(map[string]any)["value"].(string); resp.StatusCode != 400 || strings.ContainsRune(v, '\uFFFD') ||
		v != strings.Repeat("店", 21)+"…" {
		t.Errorf("clipped value %q (%d %v)", v, resp.StatusCode, b)
	}
}

// A request handed to ServeHTTP directly (no server, so no RequestURI) is
// verified against its URL.
func TestServeHTTPDirectly(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewUnstartedServer()
	t.Cleanup(srv.Close)
	body := `{"activate_type":"AUTO_ACTIVATE"}`
	ts := strconv.FormatInt(srv.Now().Unix(), 10)
	d := sha256.Sum256(wire.AppendRequestMessage(nil, "POST", permissionPath, ts, "DIRECT0000000000000000000000001", []byte(body)))
	sig, err := rsa.SignPKCS1v15(nil, testkeys.Shared().Merchant, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", permissionPath, strings.NewReader(body))
	req.RequestURI = ""
	req.Header.Set("Accept", "*/*")
	req.Header.Set("User-Agent", "direct")
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", wire.Authorization{MchID: emulator.DemoMchID, SerialNo: emulator.DemoMerchantSerial,
		NonceStr: "DIRECT0000000000000000000000001", Timestamp: ts, Signature: base64.StdEncoding.EncodeToString(sig)}.String())
	w := httptest.NewRecorder()
	srv.Emulator.ServeHTTP(w, req)
	if w.Code != http.StatusOK || w.Header().Get("Wechatpay-Signature") == "" || w.Header().Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("%d %v %s", w.Code, w.Header(), w.Body)
	}
}

// Brand-member coupon activities: the state follows the clock until the
// activity is terminated; an activity is found only through its own brand.
func TestMembershipActivities(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	acts := c.V3.Brand.Partner.CardMember.MembershipActivities
	req := &cardmember.CreateMembershipActivityRequest{
		OutRequestNo: "act-1", BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID,
		ActivityChannel: cardmember.ActivityChannelMechantAppComponent, Title: "春节入会礼", SubTitle: "3张满减券",
		BeginTime: "2026-01-02T00:00:00+08:00", EndTime: "2026-01-03T00:00:00+08:00", ApplyTotal: 500,
		ProductCouponStockList: []cardmember.ProductCouponStock{{ProductCouponID: "1002631856790419876", StockID: "98065002"}},
	}
	created, _, err := acts.Post(ctx, req)
	if err != nil || created.ActivityState != "MEMBERSHIP_ACTIVITY_CREATED" || created.ApplyAvailable != 500 || created.ActivityID == emulator.DemoActivityID {
		t.Fatalf("create: %+v %v", created, err)
	}
	if again, _, err := acts.Post(ctx, req); err != nil || again.ActivityID != created.ActivityID {
		t.Errorf("repeat: %+v %v", again, err)
	}
	state := func(id string) cardmember.ActivityState {
		t.Helper()
		got, _, err := acts.ActivityID(id).Get(ctx, &cardmember.GetMembershipActivityRequest{BrandID: emulator.DemoBrandID})
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		return got.ActivityState
	}
	count := func(s cardmember.ActivityState) int64 {
		t.Helper()
		list, _, err := acts.Get(ctx, &cardmember.ListMembershipActivitiesRequest{BrandID: emulator.DemoBrandID, ActivityState: s, Limit: 10})
		if err != nil || list.TotalCount != int64(len(list.Data)) {
			t.Fatalf("list %q: %+v %v", s, list, err)
		}
		return list.TotalCount
	}
	if n, effective := count(""), count("MEMBERSHIP_ACTIVITY_EFFECTIVE"); n != 2 || effective != 1 {
		t.Errorf("%d activities, %d in effect; want the fixture's and the new one, the fixture's in effect", n, effective)
	}
	srv.Clock().Advance(24 * time.Hour)
	if s := state(created.ActivityID); s != "MEMBERSHIP_ACTIVITY_EFFECTIVE" {
		t.Errorf("after begin_time: %s", s)
	}
	srv.Clock().Advance(24 * time.Hour)
	if s := state(created.ActivityID); s != "MEMBERSHIP_ACTIVITY_EXPIRED" {
		t.Errorf("after end_time: %s", s)
	}
	term, _, err := acts.ActivityID(emulator.DemoActivityID).Terminate.Post(ctx, &cardmember.TerminateMembershipActivityRequest{BrandID: emulator.DemoBrandID})
	if err != nil || term.ActivityState != "MEMBERSHIP_ACTIVITY_TERMINATED" {
		t.Fatalf("terminate: %+v %v", term, err)
	}
	srv.Clock().Advance(365 * 24 * time.Hour)
	if s := state(emulator.DemoActivityID); s != "MEMBERSHIP_ACTIVITY_TERMINATED" {
		t.Errorf("terminated, then past end_time: %s", s)
	}
	_, _, err = acts.ActivityID("999999").Get(ctx, &cardmember.GetMembershipActivityRequest{BrandID: emulator.DemoBrandID})
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "")
	_, _, err = acts.ActivityID(emulator.DemoActivityID).Get(ctx, &cardmember.GetMembershipActivityRequest{BrandID: "1999"})
	apiErr(t, err, 400, "INVALID_REQUEST", "品牌ID无效或不属于该服务商")
}

// The pay-view token of a brand card is valid 10 minutes, for a user of the
// card's AppID.
func TestPayViewToken(t *testing.T) {
	t.Parallel()
	_, c := newServer(t)
	ctx := context.Background()
	pv := c.V3.Brand.Partner.CardMember.PayViewTokens
	tok, _, err := pv.Post(ctx, &cardmember.CreatePayViewTokenRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoMemberOpenID})
	if err != nil || tok.ExpireTime != "2026-01-01T10:10:00+08:00" || len(tok.Token) != 32 {
		t.Fatalf("%+v %v", tok, err)
	}
	_, _, err = pv.Post(ctx, &cardmember.CreatePayViewTokenRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: "oNobody"})
	apiErr(t, err, 400, "PARAM_ERROR", "OpenID有误")
}
