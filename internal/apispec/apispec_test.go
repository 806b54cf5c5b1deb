package apispec

import "testing"

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		method, path, wantID string
		wantParams           map[string]string
	}{
		{"POST", "/v3/marketing/membercard-open/cards/pbLat/permission-tokens", "CreateMembercardPermissionToken", map[string]string{"card_id": "pbLat"}},
		// A literal segment wins over a parameter at the same position.
		{"POST", "/v3/marketing/membercard-open/cards/pbLat/codes/deposit", "DepositMembercardCodes", map[string]string{"card_id": "pbLat"}},
		{"GET", "/v3/marketing/membercard-open/cards/pbLat/codes/478515832665", "GetMembercardUserCard", map[string]string{"card_id": "pbLat", "code": "478515832665"}},
		// Two parameter names at one position: each operation gets its own.
		{"GET", "/v3/refund/domestic/refunds/R20260101", "GetDomesticRefundByOutRefundNo", map[string]string{"out_refund_no": "R20260101"}},
		{"POST", "/v3/refund/domestic/refunds/50000000382019052709732678859/apply-abnormal-refund", "ApplyDomesticAbnormalRefund", map[string]string{"refund_id": "50000000382019052709732678859"}},
		{"GET", "/v3/payroll-card/relations/o%2F1", "GetPayrollCardRelation", map[string]string{"openid": "o/1"}},
		{"POST", "/v3/brand/partner/card-member/open-user-card-tokens", "CreateBrandOpenUserCardToken", nil},
		{"POST", "/v3/brand/partner/card-member/pre-auth-tokens", "CreateBrandPreAuthToken", nil},
		{"GET", "/v3/payroll-card/tokens", "", nil},
		{"POST", "/v3/nothing", "", nil},
		{"GET", "/v3/payroll-card/relations/", "", nil},
		{"GET", "/v3/payroll-card/relations/%zz", "", nil},
	}
	for _, tt := range tests {
		op, params, ok := Match(tt.method, tt.path)
		if tt.wantID == "" {
			if ok {
				t.Errorf("%s %s matched %s", tt.method, tt.path, op.ID)
			}
			continue
		}
		if !ok || op.ID != tt.wantID {
			t.Errorf("%s %s: got %v, want %s", tt.method, tt.path, op, tt.wantID)
			continue
		}
		if len(params) != len(tt.wantParams) {
			t.Errorf("%s: params %v", tt.path, params)
		}
		for k, v := range tt.wantParams {
			if params[k] != v {
				t.Errorf("%s: %s = %q, want %q", tt.path, k, params[k], v)
			}
		}
	}
	if !PathExists("/v3/payroll-card/tokens") || PathExists("/v3/none") {
		t.Error("PathExists")
	}
}

func TestSpecIsPopulated(t *testing.T) {
	t.Parallel()
	if n := len(Operations()); n != 93 {
		t.Errorf("%d operations, want 93", n)
	}
	if n := len(Events()); n != 11 {
		t.Errorf("%d events, want 11", n)
	}
	op, ok := ByID("CreatePayrollCardToken")
	if !ok || !op.EncryptsRequest() || op.ResponseStatus != 200 {
		t.Errorf("CreatePayrollCardToken: %+v", op)
	}
	if e, ok := EventByType("MEMBERCARD.ACTIVATE_CARD"); !ok || e.OriginalType != "membercard" {
		t.Errorf("event: %+v", e)
	}
}
