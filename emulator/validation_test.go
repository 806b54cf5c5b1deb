package emulator_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/emulator"
)

// importBody is a valid import-by-openid body to which a test applies one change.
func importBody(change func(m map[string]any)) map[string]any {
	m := map[string]any{
		"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID, "openid": emulator.DemoOpenID,
		"user_card_code": "100200300", "pickup_time": "2026-01-01T10:00:00+08:00",
		"date_information": map[string]any{"type": "PERMANENT"},
	}
	change(m)
	return m
}

// Each invalid value is answered 400 PARAM_ERROR whose detail points at it: a
// JSON Pointer for the body (array indices included), the parameter name for
// path and query.
func TestValidationPointers(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	fixtures := len(srv.Emulator.Memberships(emulator.DemoBrandCardID)) // the demo member's user card
	sealed, err := wxpay.EncryptOAEP(nil, srv.PlatformPublicKey(), []byte("13800138000"))
	if err != nil {
		t.Fatal(err)
	}
	serial := wxpay.Header("Wechatpay-Serial", emulator.DemoPublicKeyID)
	importByOpenID := func(change func(m map[string]any)) error {
		_, err := c.Chain("v3/brand/partner/card-member/user-cards/import-by-openid").Post(ctx, importBody(change), serial)
		return err
	}
	userInfo := func(items ...any) func(m map[string]any) {
		return func(m map[string]any) { m["user_information"] = map[string]any{"common_field_list": items} }
	}
	tests := []struct {
		name            string
		call            func() error
		field, location string
		value           string // "" when not checked
		message         string // "" for the generic 参数错误
	}{
		{"enum inside an array element", func() error {
			return importByOpenID(userInfo(map[string]any{"name": "USER_FORM_FLAG_SEX", "value": sealed}, map[string]any{"name": "BAD", "value": sealed}))
		}, "/user_information/common_field_list/1/name", "body", "BAD", ""},
		{"ciphertext inside an array element", func() error {
			return importByOpenID(userInfo(map[string]any{"name": "USER_FORM_FLAG_SEX", "value": sealed}, map[string]any{"name": "USER_FORM_FLAG_NAME", "value": "张三"}))
		}, "/user_information/common_field_list/1/value", "body", "", "请确认待处理的消息是否为加密后的密文"},
		{"null array element", func() error {
			return importByOpenID(userInfo(nil))
		}, "/user_information/common_field_list/0", "body", "", ""},
		{"object where an array belongs", func() error {
			return importByOpenID(func(m map[string]any) { m["user_information"] = map[string]any{"common_field_list": map[string]any{}} })
		}, "/user_information/common_field_list", "body", "", ""},
		{"string where an integer belongs", func() error {
			return importByOpenID(func(m map[string]any) {
				m["date_information"] = map[string]any{"type": "PERMANENT", "available_day_after_receive": "7"}
			})
		}, "/date_information/available_day_after_receive", "body", "7", ""},
		{"fraction where an integer belongs", func() error {
			return importByOpenID(func(m map[string]any) {
				m["date_information"] = map[string]any{"type": "PERMANENT", "available_day_after_receive": 1.5}
			})
		}, "/date_information/available_day_after_receive", "body", "1.5", ""},
		{"null top-level value", func() error {
			return importByOpenID(func(m map[string]any) { m["pickup_time"] = nil })
		}, "/pickup_time", "body", "", ""},
		{"required member missing in a nested object", func() error {
			return importByOpenID(func(m map[string]any) { m["date_information"] = map[string]any{} })
		}, "/date_information/type", "body", "", ""},
		{"number where a string belongs", func() error {
			return importByOpenID(func(m map[string]any) { m["user_card_code"] = 100200300 })
		}, "/user_card_code", "body", "100200300", ""},
		{"boolean where an integer belongs", func() error {
			_, err := c.Chain("v3/brand/partner/card-member/user-points/sync").Post(ctx, map[string]any{
				"out_request_no": "sync-1", "brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID,
				"openid": emulator.DemoOpenID, "user_card_code": "1", "point_balance": true})
			return err
		}, "/point_balance", "body", "true", ""},
		{"pattern", func() error {
			_, err := c.Chain("v3/marketing/membercard-open/cards/{card_id}/users/import").Post(ctx,
				map[string]any{"openid": emulator.DemoOpenID, "out_request_no": "has space"}, wxpay.PathParam("card_id", emulator.DemoCardID))
			return err
		}, "/out_request_no", "body", "has space", ""},
		{"missing query parameter", func() error {
			_, err := c.Chain("v3/brand/partner/card-member/cards").Get(ctx)
			return err
		}, "brand_id", "query", "", ""},
		{"query integer", func() error {
			_, err := c.Chain("v3/marketing/membercard-open/cards").Get(ctx, wxpay.Query("offset", "0"), wxpay.Query("limit", "ten"))
			return err
		}, "limit", "query", "ten", ""},
		{"path parameter too long", func() error {
			_, err := c.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").Post(ctx,
				map[string]any{"activate_type": "AUTO_ACTIVATE"}, wxpay.PathParam("card_id", strings.Repeat("c", 200)))
			return err
		}, "card_id", "path", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var ae *wxpay.APIError
			if !errors.As(err, &ae) || ae.StatusCode != 400 || ae.Code != "PARAM_ERROR" || ae.Detail == nil {
				t.Fatalf("err = %v, want 400 PARAM_ERROR with detail", err)
			}
			d := ae.Detail
			if d.Field != tt.field || d.Location != tt.location || tt.value != "" && d.Value != tt.value {
				t.Errorf("detail field %q location %q value %q, want %q %q %q", d.Field, d.Location, d.Value, tt.field, tt.location, tt.value)
			}
			want := tt.message
			if want == "" {
				want = "参数错误"
			}
			if ae.Message != want {
				t.Errorf("message %q, want %q", ae.Message, want)
			}
		})
	}
	// Nothing invalid was imported.
	if n := len(srv.Emulator.Memberships(emulator.DemoBrandCardID)) - fixtures; n != 0 {
		t.Errorf("%d memberships after invalid imports", n)
	}
}
