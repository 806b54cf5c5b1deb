package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"strings"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/bill"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/apispec"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

func specOperations() []*apispec.Operation { return apispec.Operations() }

// knownBusinessErrors lists operations whose minimal valid request still meets a
// business rule of the emulator; none today.
var knownBusinessErrors = map[string]struct {
	status int
	code   string
}{}

const (
	existingBrandCode = "478515832665"
	throwawayCard     = "pbLatThrowawayBrandCard00000"
	throwawayMCard    = "pbLatThrowawayMemberCard0000"
	depositCard       = "pbLatDepositCardEveryOp00000"
)

// prepare creates the state that operations with real behaviour need: a brand
// user card with a pending points exchange, a membercard member, a callback
// URL, cards that may be deleted, a MERCHANT_DEPOSIT card.
// fixtures are the values prepare made: "code" a membercard member's code,
// "record-id" the pending points exchange,
// "txn"/"p-txn" the transaction IDs of paid direct and partner orders,
// "refund-id"/"p-refund-id" ABNORMAL refunds' IDs.
type fixtures map[string]string

func prepare(ctx context.Context, c *wxpay.Client, srv *wxpaytest.Server) (fx fixtures, err error) {
	e := srv.Emulator
	for _, card := range []emulator.Card{
		{ID: throwawayCard, Family: emulator.BrandFamily, BrandID: emulator.DemoBrandID},
		{ID: throwawayMCard, Family: emulator.MembercardFamily, MchID: emulator.DemoMchID},
		{ID: depositCard, Family: emulator.MembercardFamily, MchID: emulator.DemoMchID, CodeMode: emulator.MerchantDeposit},
	} {
		if err := e.AddCard(card); err != nil {
			return nil, err
		}
	}
	if _, _, err := c.V3.Brand.Partner.CardMember.UserCards.ImportByOpenID.Post(ctx, &cardmember.ImportUserCardByOpenIDRequest{
		BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID, UserCardCode: existingBrandCode,
		PickupTime: "2026-01-01T10:00:00+08:00", DateInformation: cardmember.ValidDateInformation{Type: cardmember.ValidDateTypePermanent}}); err != nil {
		return nil, err
	}
	m, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import.Post(ctx, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "prepare-1"})
	if err != nil {
		return nil, err
	}
	if _, _, err := c.V3.Marketing.MembercardOpen.Callback.Patch(ctx, &membercardopen.UpdateCallbackRequest{NotifyURL: "https://wxpay.example/notify"}); err != nil {
		return nil, err
	}
	x, err := e.ExchangePoints(emulator.ExchangePointsRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, UserCardCode: existingBrandCode})
	if err != nil {
		return nil, err
	}
	fx = fixtures{"code": m.Code, "record-id": x.RecordID}
	// Orders: paid (queries, refunds), unpaid (close), a payment code waiting
	// for its payer (reverse); a PROCESSING and an ABNORMAL refund — for a
	// direct merchant and for the service provider's sub-merchant.
	for _, p := range []struct {
		prefix, chain, merchant string
		body                    map[string]any
	}{
		{"", "v3/pay/transactions/", emulator.DemoMchID, map[string]any{"appid": emulator.DemoAppID, "mchid": emulator.DemoMchID, "payer": map[string]any{"openid": emulator.DemoOpenID}}},
		{"p-", "v3/pay/partner/transactions/", emulator.DemoSubMchID, map[string]any{"sp_appid": emulator.DemoAppID, "sp_mchid": emulator.DemoMchID, "sub_mchid": emulator.DemoSubMchID, "payer": map[string]any{"sp_openid": emulator.DemoOpenID}}},
	} {
		order := func(kind, no string) error {
			b := map[string]any{"description": "everyop", "out_trade_no": no, "notify_url": "https://wxpay.example/pay", "amount": map[string]any{"total": 100}}
			for k, v := range p.body {
				b[k] = v
			}
			if kind == "codepay" {
				delete(b, "notify_url")
				b["payer"] = map[string]any{"auth_code": "134567890123456789"}
				b["scene_info"] = map[string]any{"store_info": map[string]any{"out_id": "A1"}}
			}
			_, err := c.Chain(p.chain+kind).Post(ctx, b)
			return err
		}
		if err := order("jsapi", "everyop-"+p.prefix+"paid"); err != nil {
			return nil, err
		}
		paid, err := e.Pay(p.merchant, "everyop-"+p.prefix+"paid", "SUCCESS")
		if err != nil {
			return nil, err
		}
		fx[p.prefix+"txn"] = paid.TransactionID
		if err := order("jsapi", "everyop-"+p.prefix+"open"); err != nil {
			return nil, err
		}
		if err := e.RegisterPayerCode("134567890123456789", "USERPAYING"); err != nil {
			return nil, err
		}
		if err := order("codepay", "everyop-"+p.prefix+"code"); err != nil {
			return nil, err
		}
		for _, no := range []string{"everyop-" + p.prefix + "refund", "everyop-" + p.prefix + "abnormal"} {
			b := map[string]any{"out_trade_no": "everyop-" + p.prefix + "paid", "out_refund_no": no, "amount": map[string]any{"refund": 10, "total": 100, "currency": "CNY"}}
			if p.prefix != "" {
				b["sub_mchid"] = emulator.DemoSubMchID
			}
			if _, err := c.Chain("v3/refund/domestic/refunds").Post(ctx, b); err != nil {
				return nil, err
			}
		}
		rf, err := e.SettleRefund(p.merchant, "everyop-"+p.prefix+"abnormal", "ABNORMAL")
		if err != nil {
			return nil, err
		}
		fx[p.prefix+"refund-id"] = rf.RefundID
	}
	// A bill of the day, for the download.
	if err := e.EndDay("2026-01-01"); err != nil {
		return nil, err
	}
	tb, _, err := c.V3.Bill.TradeBill.Get(ctx, &bill.GetTradeBillRequest{BillDate: "2026-01-01"})
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(tb.DownloadURL)
	if err != nil {
		return nil, err
	}
	fx["bill-token"] = u.Query().Get("token")
	return fx, nil
}

// fixture returns the value a field named name should carry for op.
func fixture(op *apispec.Operation, name string, fx fixtures) (string, bool) {
	brand := op.Family == "brand-card-member"
	importing := strings.Contains(op.ID, "Import")
	partner := strings.HasPrefix(op.ID, "Partner") || op.Family == "refund-domestic" && strings.Contains(op.ID, "Partner")
	p := ""
	if partner {
		p = "p-"
	}
	switch name {
	case "mchid", "sp_mchid":
		return emulator.DemoMchID, true
	case "sp_appid":
		return emulator.DemoAppID, true
	case "sp_openid":
		return emulator.DemoOpenID, true
	case "auth_code":
		return "130000000000000001", true // pays at once; prepare made ...789 wait for its payer
	case "currency":
		return "CNY", true
	case "transaction_id":
		if op.Family == "refund-domestic" {
			return "", false
		}
		return fx[p+"txn"], true
	case "out_trade_no":
		switch {
		case strings.Contains(op.ID, "GetTransaction") || op.ID == "CreateDomesticRefund":
			return "everyop-" + p + "paid", true
		case strings.Contains(op.ID, "CloseTransaction"):
			return "everyop-" + p + "open", true
		case strings.Contains(op.ID, "ReverseTransaction"):
			return "everyop-" + p + "code", true
		}
		return "everyop-" + op.ID, true
	case "out_refund_no":
		switch op.ID {
		case "GetDomesticRefundByOutRefundNo":
			return "everyop-refund", true
		case "ApplyDomesticAbnormalRefund":
			return "everyop-abnormal", true
		}
		return "everyop-" + op.ID, true
	case "refund_id":
		return fx["refund-id"], true
	case "type":
		if op.ID == "ApplyDomesticAbnormalRefund" {
			return "MERCHANT_BANK_CARD", true
		}
	case "logo_url", "card_picture_url":
		return emulator.DemoLogoURL, true
	case "background_picture_url":
		return emulator.DemoBackgroundURL, true
	case "bill_date":
		return "2026-01-01", true
	case "bill_type":
		return "SUCCESS", true
	case "token":
		return fx["bill-token"], fx["bill-token"] != ""
	case "brand_id":
		return emulator.DemoBrandID, true
	case "card_id":
		switch {
		case op.ID == "DeleteBrandCard":
			return throwawayCard, true
		case op.ID == "DeleteMembercardCard":
			return throwawayMCard, true
		case op.ID == "DepositMembercardCodes":
			return depositCard, true
		case brand:
			return emulator.DemoBrandCardID, true
		}
		return emulator.DemoCardID, true
	case "openid":
		if importing {
			return emulator.DemoOpenID2, true
		}
		return emulator.DemoOpenID, true
	case "user_card_code":
		if importing {
			return "999999000001", true
		}
		return existingBrandCode, true
	case "code":
		if op.ID == "DepositMembercardCodes" {
			return "", false
		}
		return fx["code"], true
	case "activity_id":
		return emulator.DemoActivityID, true
	case "activate_ticket":
		return emulator.DemoActivateTicket, true
	case "record_id":
		return fx["record-id"], true
	case "exchange_coupon_template_id":
		return emulator.DemoExchangeCouponTemplateID, true
	case "sub_mchid":
		if op.Family == "refund-domestic" || op.Family == "bill" && op.ID != "GetBillSubMerchantFundFlowBill" {
			return "", false // these take a sub_mchid only for a sub-merchant's refund or bill
		}
		return emulator.DemoSubMchID, true
	case "sub_appid":
		return emulator.DemoSubAppID, true
	case "appid":
		return emulator.DemoAppID, true
	case "out_request_no":
		return "min-" + op.ID, true
	}
	return "", false
}

// sealForPlatform encrypts a value by hand, as a merchant without an SDK would:
// RSAES-OAEP (SHA-1) for the WeChat Pay public key of every wxpaytest server,
// named by emulator.DemoPublicKeyID in Wechatpay-Serial (protocol §8).
func sealForPlatform(plaintext string) string {
	ct, err := wxpay.EncryptOAEP(nil, &testkeys.Shared().Platform.PublicKey, []byte(plaintext))
	if err != nil {
		panic(err) // a 2048-bit key and 11 bytes: cannot fail
	}
	return ct
}

func minimalString(f *apispec.Field) string {
	switch {
	case len(f.Enum) > 0:
		return f.Enum[0]
	case strings.HasSuffix(f.Name, "_time"):
		return "2026-01-01T10:00:00+08:00"
	case strings.HasSuffix(f.Name, "_date"):
		return "2026-01-01"
	case strings.HasSuffix(f.Name, "url"):
		return "https://wxpay.example/x"
	}
	return "abc123"
}

// minimal builds the required fields of an object, with fixture values where names match.
func minimal(op *apispec.Operation, fields []*apispec.Field, fx fixtures, top bool) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		if v, ok := fixture(op, f.Name, fx); ok && (top || nestedFixture[f.Name]) && f.Type == apispec.String {
			out[f.Name] = v
			continue
		}
		if !f.Required {
			continue
		}
		out[f.Name] = minimalValue(op, f, f.Type, fx)
	}
	return out
}

// nestedFixture are the names that take a fixture inside an object too: the
// payer of an order.
var nestedFixture = map[string]bool{"openid": true, "sp_openid": true, "auth_code": true, "currency": true}

func minimalValue(op *apispec.Operation, f *apispec.Field, t apispec.Type, fx fixtures) any {
	switch t {
	case apispec.String:
		if f.Encrypted {
			return sealForPlatform("13800138000")
		}
		return minimalString(f)
	case apispec.Integer, apispec.Number:
		if op.Family == "refund-domestic" && f.Name == "total" {
			return 100 // the total of the order prepare paid
		}
		return 1
	case apispec.Boolean:
		return true
	case apispec.Object:
		return minimal(op, f.Fields, fx, false)
	case apispec.Array:
		return []any{minimalValue(op, f, f.Items, fx)}
	}
	return nil
}

// callMinimal calls op through the declarative chain with a minimal valid request.
func callMinimal(ctx context.Context, c *wxpay.Client, fx fixtures, op *apispec.Operation) (*wxpay.Response, error) {
	var opts []wxpay.CallOption
	for _, p := range op.PathParams {
		v, ok := fixture(op, p.Name, fx)
		if !ok {
			v = "abc123"
		}
		opts = append(opts, wxpay.PathParam(p.Name, v))
	}
	for _, q := range op.Query {
		v, ok := fixture(op, q.Name, fx)
		switch {
		case q.Encrypted:
			opts = append(opts, wxpay.Query(q.Name, sealForPlatform("13800138000")), wxpay.Header("Wechatpay-Serial", emulator.DemoPublicKeyID))
		case ok:
			opts = append(opts, wxpay.Query(q.Name, v))
		case q.Required && q.Type == apispec.Integer:
			opts = append(opts, wxpay.Query(q.Name, "1"))
		case q.Required:
			opts = append(opts, wxpay.Query(q.Name, minimalString(q)))
		}
	}
	ep := c.Chain(op.Path)
	if op.Upload != nil {
		name := "demo.png"
		if _, ok := op.Upload["mp4"]; ok {
			name = "demo.mp4"
		}
		return ep.Upload(ctx, name, bytes.NewReader(demoPNG), opts...)
	}
	switch op.Method {
	case "GET":
		return ep.Get(ctx, opts...)
	case "DELETE":
		return ep.Delete(ctx, opts...)
	}
	body := minimal(op, op.Body, fx, true)
	if op.ID == "CreatePayrollCardToken" || op.ID == "ValidatePayrollCardToken" {
		body["sub_appid"] = emulator.DemoSubAppID
	}
	if op.ID == "DepositMembercardCodes" {
		body["code"] = []string{"DEP001"}
	}
	if anyEncrypted(op.Body) {
		opts = append(opts, wxpay.Header("Wechatpay-Serial", emulator.DemoPublicKeyID))
	}
	switch op.Method {
	case "PUT":
		return ep.Put(ctx, body, opts...)
	case "PATCH":
		return ep.Patch(ctx, body, opts...)
	}
	return ep.Post(ctx, body, opts...)
}

func anyEncrypted(fs []*apispec.Field) bool {
	for _, f := range fs {
		if f.Encrypted || anyEncrypted(f.Fields) {
			return true
		}
	}
	return false
}

// checkShape reports the first required response field that is missing or of
// the wrong JSON type.
func checkShape(obj map[string]any, fields []*apispec.Field, ptr string) string {
	for _, f := range fields {
		v, ok := obj[f.Name]
		p := ptr + "/" + f.Name
		if !ok {
			if f.Required {
				return p + " is missing"
			}
			continue
		}
		if issue := checkType(v, f, f.Type, p); issue != "" {
			return issue
		}
	}
	return ""
}

func checkType(v any, f *apispec.Field, t apispec.Type, p string) string {
	ok := true
	switch t {
	case apispec.String:
		_, ok = v.(string)
	case apispec.Integer, apispec.Number:
		_, ok = v.(float64)
	case apispec.Boolean:
		_, ok = v.(bool)
	case apispec.Object:
		m, isObj := v.(map[string]any)
		if !isObj {
			return p + " is not an object"
		}
		return checkShape(m, f.Fields, p)
	case apispec.Array:
		list, isArr := v.([]any)
		if !isArr {
			return p + " is not an array"
		}
		for i, it := range list {
			if issue := checkType(it, f, f.Items, fmt.Sprintf("%s/%d", p, i)); issue != "" {
				return issue
			}
		}
	}
	if !ok {
		b, _ := json.Marshal(v)
		return fmt.Sprintf("%s is %s, want a %s", p, b, t)
	}
	return ""
}

// demoPNG is a 1×1 PNG, a file every image upload takes.
var demoPNG = func() []byte {
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 1, 1)))
	return b.Bytes()
}()
