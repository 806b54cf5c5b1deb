package main

import "testing"

func TestNames(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][2]string{
		"card_id":               {"CardID", "cardID"},
		"openid":                {"OpenID", "openID"},
		"sub_appid":             {"SubAppID", "subAppID"},
		"id_card_number":        {"IDCardNumber", "idCardNumber"},
		"head_image_url":        {"HeadImageURL", "headImageURL"},
		"open-user-card-tokens": {"OpenUserCardTokens", "openUserCardTokens"},
		"import-by-openid":      {"ImportByOpenID", "importByOpenID"},
		"qrcode":                {"QRCode", "qrcode"},
		"type":                  {"Type", "type_"},
		"v3":                    {"V3", "v3"},
	} {
		if got := goName(in); got != want[0] {
			t.Errorf("goName(%q) = %q, want %q", in, got, want[0])
		}
		if got := lowerName(in); got != want[1] {
			t.Errorf("lowerName(%q) = %q, want %q", in, got, want[1])
		}
	}
}

func TestEnumConstNames(t *testing.T) {
	t.Parallel()
	e := &enum{Name: "BrandUserFormFlag", GoName: "BrandUserFormFlag", Values: []*enumValue{{Value: "USER_FORM_FLAG_SEX"}, {Value: "USER_FORM_FLAG_NAME"}}}
	nameEnumConsts(e)
	if e.Values[0].Const != "BrandUserFormFlagSex" || e.Values[1].Const != "BrandUserFormFlagName" {
		t.Errorf("%s %s", e.Values[0].Const, e.Values[1].Const)
	}
	e = &enum{Name: "ActivateType", GoName: "ActivateType", Values: []*enumValue{{Value: "AUTO_ACTIVATE"}, {Value: "JUMP_ACTIVATE", Const: "Jump"}}}
	nameEnumConsts(e)
	if e.Values[0].Const != "ActivateTypeAutoActivate" || e.Values[1].Const != "ActivateTypeJump" {
		t.Errorf("%s %s", e.Values[0].Const, e.Values[1].Const)
	}
}

func TestFamilyGoNames(t *testing.T) {
	t.Parallel()
	f := &family{Prefix: "PayrollCard"}
	for in, want := range map[string]string{
		"PayrollCardToken":                        "Token",
		"CreatePayrollCardToken":                  "CreateToken",
		"CreatePayrollCardAuthenticationPreOrder": "CreateAuthenticationPreOrder",
		"PayrollCard":                             "PayrollCard",  // nothing would be left
		"PayrollCardx":                            "PayrollCardx", // not at a word boundary
		"EmploymentType":                          "EmploymentType",
		"XPayrollCardToken":                       "XPayrollCardToken", // mid-word
	} {
		if got := f.goName(in); got != want {
			t.Errorf("goName(%q) = %q, want %q", in, got, want)
		}
	}
}
