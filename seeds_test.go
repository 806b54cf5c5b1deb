package wxpay_test

import (
	"context"
	"testing"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/apiv3/payrollcard"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The four seed operations through the declarative chain, against the emulator,
// which decrypts the payroll fields and keeps import state.
func TestSeedOperationsThroughTheChain(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	c := srv.Client()
	ctx := context.Background()

	resp, err := c.Chain("v3/brand/partner/card-member/open-user-card-tokens").Post(ctx, map[string]string{
		"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID, "openid": emulator.DemoOpenID,
	})
	var tok cardmember.PreAuthToken
	if err != nil || resp.Decode(&tok) != nil || len(tok.Token) != 32 || tok.ExpireTime != "2026-01-01T11:00:00+08:00" {
		t.Errorf("open-user-card-tokens: %+v %v", tok, err)
	}

	resp, err = c.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").Post(ctx,
		map[string]any{"activate_type": "AUTO_ACTIVATE", "navigate_back_previous_page": true},
		wxpay.PathParam("card_id", emulator.DemoCardID))
	var perm membercardopen.PermissionToken
	if err != nil || resp.Decode(&perm) != nil || perm.PermissionToken == "" {
		t.Errorf("permission-tokens: %+v %v", perm, err)
	}

	f := c.Chain("v3/payroll-card/tokens").PostAsync(ctx, map[string]any{
		"openid": emulator.DemoOpenID, "sub_mchid": emulator.DemoSubMchID, "appid": emulator.DemoAppID,
		"user_name": wxpay.Sensitive("张三"), "id_card_number": wxpay.Sensitive("110101199003077777"),
		"employment_type": "LONG_TERM_EMPLOYMENT",
	})
	resp, err = f.Wait()
	var payroll payrollcard.Token
	if err != nil || resp.Decode(&payroll) != nil || payroll.ExpiresIn != 1800 || payroll.MchID != emulator.DemoMchID {
		t.Errorf("payroll-card/tokens: %+v %v", payroll, err)
	}

	imp := c.Chain("v3/marketing/membercard-open/cards/{card_id}/users/import")
	body := map[string]string{"openid": emulator.DemoOpenID2, "out_request_no": "100002322019090134234sfdf"}
	resp, err = imp.Post(ctx, body, wxpay.PathParam("card_id", emulator.DemoCardID))
	var first, again membercardopen.Code
	if err != nil || resp.Decode(&first) != nil || len(first.Code) != 12 {
		t.Fatalf("users/import: %+v %v", first, err)
	}
	resp, err = imp.Post(ctx, body, wxpay.PathParam("card_id", emulator.DemoCardID))
	if err != nil || resp.Decode(&again) != nil || again.Code != first.Code {
		t.Errorf("repeated users/import: %+v %v, want code %s", again, err, first.Code)
	}
	if m, ok := srv.Emulator.Membership(emulator.DemoCardID, emulator.DemoOpenID2); !ok || m.Code != first.Code || len(srv.Emulator.Memberships(emulator.DemoCardID)) != 1 {
		t.Errorf("emulator state: %+v %v", m, ok)
	}
}
