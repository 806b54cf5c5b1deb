package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/wxpaykit/wxpay"
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
// user card, a membercard member, a callback URL, cards that may be deleted, a
// MERCHANT_DEPOSIT card.
func prepare(ctx context.Context, c *wxpay.Client, srv *wxpaytest.Server) (membercardCode string, err error) {
	e := srv.Emulator
	for _, card := range []emulator.Card{
		{ID: throwawayCard, Family: emulator.BrandFamily, BrandID: emulator.DemoBrandID},
		{ID: throwawayMCard, Family: emulator.MembercardFamily, MchID: emulator.DemoMchID},
		{ID: depositCard, Family: emulator.MembercardFamily, MchID: emulator.DemoMchID, CodeMode: emulator.MerchantDeposit},
	} {
		if err := e.AddCard(card); err != nil {
			return "", err
		}
	}
	if _, _, err := c.V3.Brand.Partner.CardMember.UserCards.ImportByOpenID.Post(ctx, &cardmember.ImportUserCardByOpenIDRequest{
		BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID, UserCardCode: existingBrandCode,
		PickupTime: "2026-01-01T10:00:00+08:00", DateInformation: cardmember.ValidDateInformation{Type: cardmember.ValidDateTypePermanent}}); err != nil {
		return "", err
	}
	m, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import.Post(ctx, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "prepare-1"})
	if err != nil {
		return "", err
	}
	if _, _, err := c.V3.Marketing.MembercardOpen.Callback.Patch(ctx, &membercardopen.UpdateCallbackRequest{NotifyURL: "https://wxpay.example/notify"}); err != nil {
		return "", err
	}
	return m.Code, nil
}

// fixture returns the value a field named name should carry for op.
func fixture(op *apispec.Operation, name, membercardCode string) (string, bool) {
	brand := op.Family == "brand-card-member"
	importing := strings.Contains(op.ID, "Import")
	switch name {
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
		return membercardCode, true
	case "activity_id":
		return emulator.DemoActivityID, true
	case "sub_mchid":
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
func minimal(op *apispec.Operation, fields []*apispec.Field, code string, top bool) map[string]any {
	out := map[string]any{}
	for _, f := range fields {
		if v, ok := fixture(op, f.Name, code); ok && top && f.Type == apispec.String {
			out[f.Name] = v
			continue
		}
		if !f.Required {
			continue
		}
		out[f.Name] = minimalValue(op, f, f.Type, code)
	}
	return out
}

func minimalValue(op *apispec.Operation, f *apispec.Field, t apispec.Type, code string) any {
	switch t {
	case apispec.String:
		if f.Encrypted {
			return sealForPlatform("13800138000")
		}
		return minimalString(f)
	case apispec.Integer, apispec.Number:
		return 1
	case apispec.Boolean:
		return true
	case apispec.Object:
		return minimal(op, f.Fields, code, false)
	case apispec.Array:
		return []any{minimalValue(op, f, f.Items, code)}
	}
	return nil
}

// callMinimal calls op through the declarative chain with a minimal valid request.
func callMinimal(ctx context.Context, c *wxpay.Client, code string, op *apispec.Operation) (*wxpay.Response, error) {
	var opts []wxpay.CallOption
	for _, p := range op.PathParams {
		v, ok := fixture(op, p.Name, code)
		if !ok {
			v = "abc123"
		}
		opts = append(opts, wxpay.PathParam(p.Name, v))
	}
	for _, q := range op.Query {
		v, ok := fixture(op, q.Name, code)
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
	switch op.Method {
	case "GET":
		return ep.Get(ctx, opts...)
	case "DELETE":
		return ep.Delete(ctx, opts...)
	}
	body := minimal(op, op.Body, code, true)
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
