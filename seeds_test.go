package wxpay_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wxpaykit/wxpay"
)

// seedServer answers the four seed operations the way the catalog documents them,
// decrypting payroll fields with the platform private key.
func seedServer(t *testing.T) *testServer {
	return newTestServer(t, func(r seenRequest) reply {
		var in map[string]any
		if err := json.Unmarshal(r.Body, &in); err != nil || !r.SignatureOK {
			return reply{status: 400, body: `{"code":"PARAM_ERROR","message":"bad"}`}
		}
		switch {
		case r.Method == "POST" && strings.HasSuffix(r.Target, "/v3/brand/partner/card-member/open-user-card-tokens"):
			return reply{body: `{"token":"d2df23f2f4fasf3gws","expire_time":"2020-05-20T14:29:35+08:00"}`}
		case r.Method == "POST" && strings.HasSuffix(r.Target, "/permission-tokens"):
			return reply{body: `{"permission_token":"pt-` + in["activate_type"].(string) + `"}`}
		case r.Method == "POST" && strings.HasSuffix(r.Target, "/v3/payroll-card/tokens"):
			if r.Header.Get("Wechatpay-Serial") != testPubKeyID {
				return reply{status: 400, body: `{"code":"PARAM_ERROR","message":"Wechatpay-Serial"}`}
			}
			name, err1 := wxpay.DecryptOAEP(keys().platform, in["user_name"].(string))
			id, err2 := wxpay.DecryptOAEP(keys().platform, in["id_card_number"].(string))
			if err1 != nil || err2 != nil {
				return reply{status: 400, body: `{"code":"PARAM_ERROR","message":"请确认待处理的消息是否为加密后的密文"}`}
			}
			out, _ := json.Marshal(map[string]any{"openid": in["openid"], "mchid": testMchID, "sub_mchid": in["sub_mchid"],
				"token": "tok-" + string(name) + "-" + string(id[len(id)-4:]), "expires_in": 1800})
			return reply{body: string(out)}
		case r.Method == "POST" && strings.HasSuffix(r.Target, "/users/import"):
			return reply{body: `{"code":"478515832665"}`}
		}
		return reply{status: 404, body: `{"code":"RESOURCE_NOT_EXISTS","message":"no"}`}
	})
}

func TestSeedOperationsThroughTheChain(t *testing.T) {
	t.Parallel()
	ts := seedServer(t)
	c := newClient(t, ts)
	ctx := context.Background()

	resp, err := c.Chain("v3/brand/partner/card-member/open-user-card-tokens").Post(ctx, map[string]string{
		"brand_id": "1004", "card_id": "pbLatjvWOibDc5-TBnbUk1pD12o0", "openid": "obLatjnx9gnqzS4myYGmLZ7LgLBA",
	})
	var tok struct{ Token, ExpireTime string }
	if err != nil || resp.Decode(&tok) != nil || tok.Token != "d2df23f2f4fasf3gws" {
		t.Errorf("open-user-card-tokens: %+v %v", tok, err)
	}

	resp, err = c.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").Post(ctx,
		map[string]any{"activate_type": "AUTO_ACTIVATE", "navigate_back_previous_page": true},
		wxpay.PathParam("card_id", "pbLatjvWOibDc5-TBnbUk1pD12o0"))
	var pt struct {
		PermissionToken string `json:"permission_token"`
	}
	if err != nil || resp.Decode(&pt) != nil || pt.PermissionToken != "pt-AUTO_ACTIVATE" {
		t.Errorf("permission-tokens: %+v %v", pt, err)
	}

	f := c.Chain("v3/payroll-card/tokens").PostAsync(ctx, map[string]any{
		"openid": "onqOjjmo8wmTOOtSKwXtGjg9Gb58", "sub_mchid": "1111111", "appid": "wxa1111111",
		"user_name": wxpay.Sensitive("张三"), "id_card_number": wxpay.Sensitive("110101199003077777"),
		"employment_type": "LONG_TERM_EMPLOYMENT",
	})
	resp, err = f.Wait()
	var payroll struct {
		Token     string `json:"token"`
		ExpiresIn int64  `json:"expires_in"`
	}
	if err != nil || resp.Decode(&payroll) != nil || payroll.Token != "tok-张三-7777" || payroll.ExpiresIn != 1800 {
		t.Errorf("payroll-card/tokens: %+v %v", payroll, err)
	}
	mustContainNone(t, "payroll request", ts.last().Body, "张三", "110101199003077777")

	resp, err = c.Chain("v3/marketing/membercard-open/cards/{card_id}/users/import").Post(ctx,
		map[string]string{"openid": "obLatjnx9gnqzS4myYGmLZ7LgLBA", "out_request_no": "100002322019090134234sfdf"},
		wxpay.PathParam("card_id", "pbLatjvWOibDc5-TBnbUk1pD12o0"))
	var imp struct{ Code string }
	if err != nil || resp.Decode(&imp) != nil || imp.Code != "478515832665" {
		t.Errorf("users/import: %+v %v", imp, err)
	}
}
