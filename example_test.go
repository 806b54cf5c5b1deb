package wxpay_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The examples run against the emulator (wxpaytest): fixed fixtures, a fixed
// seed and a fake clock starting 2026-01-01 10:00 CST make their output stable.

// A brand join-membership pre-authorisation token (CORE-1), on its original path.
func ExampleV3BrandPartnerCardMemberOpenUserCardTokens_Post() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	tok, _, err := client.V3.Brand.Partner.CardMember.OpenUserCardTokens.Post(context.Background(), &wxpay.CreateBrandOpenUserCardTokenRequest{
		BrandID: wxpaytest.BrandID,
		CardID:  wxpaytest.BrandCardID,
		OpenID:  wxpaytest.OpenID,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("token length:", len(tok.Token))
	fmt.Println("expires:", tok.ExpireTime)
	// Output:
	// token length: 32
	// expires: 2026-01-01T11:00:00+08:00
}

// A merchant permission token for distributing a card in H5 (CORE-2).
func ExampleV3MarketingMembercardOpenCardsCardIDPermissionTokens_Post() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	perm, resp, err := client.V3.Marketing.MembercardOpen.Cards.CardID(wxpaytest.CardID).PermissionTokens.Post(context.Background(),
		&wxpay.CreateMembercardPermissionTokenRequest{
			ActivateType: wxpay.ActivateTypeJumpActivate,
			ActivateURL:  "https://shop.example/activate",
			OuterStr:     "store_001",
		})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("status:", resp.StatusCode)
	fmt.Println("token issued:", perm.PermissionToken != "")
	// Output:
	// status: 200
	// token issued: true
}

// A payroll-card token (CORE-3): the name and ID-card number are wxpay.Sensitive,
// encrypted on the wire with Wechatpay-Serial set, and never printed.
func ExampleV3PayrollCardTokens_Post() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	req := &wxpay.CreatePayrollCardTokenRequest{
		OpenID:         wxpaytest.OpenID,
		SubMchID:       wxpaytest.SubMchID,
		SubAppID:       wxpaytest.SubAppID,
		UserName:       "张三",
		IDCardNumber:   "110101199003077777",
		EmploymentType: wxpay.EmploymentTypeLongTermEmployment,
	}
	tok, _, err := client.V3.PayrollCard.Tokens.Post(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("user name prints as:", req.UserName)
	fmt.Println("sub-merchant:", tok.SubMchID, "expires in:", tok.ExpiresIn, "s")
	// Output:
	// user name prints as: [REDACTED]
	// sub-merchant: 1900000109 expires in: 1800 s
}

// Importing a member by openid (CORE-4) is idempotent by out_request_no; an
// unknown openid is a documented *wxpay.APIError.
func ExampleV3MarketingMembercardOpenCardsCardIDUsersImport_Post() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()
	imp := client.V3.Marketing.MembercardOpen.Cards.CardID(wxpaytest.CardID).Users.Import
	ctx := context.Background()

	req := &wxpay.ImportMembercardUserRequest{OpenID: wxpaytest.OpenID, OutRequestNo: "1900000001202601010001"}
	first, _, err := imp.Post(ctx, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	again, _, err := imp.Post(ctx, req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("12-digit code:", len(first.Code) == 12, "same code on repeat:", again.Code == first.Code)

	_, _, err = imp.Post(ctx, &wxpay.ImportMembercardUserRequest{OpenID: "oUnknown", OutRequestNo: "1900000001202601010002"})
	var apiErr *wxpay.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.Message)
	}
	// Output:
	// 12-digit code: true same code on repeat: true
	// 400 PARAM_ERROR OpenID有误
}

// The declarative chain reaches any endpoint from its documented path.
func ExampleClient_Chain() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	resp, err := client.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").
		Post(context.Background(), map[string]any{"activate_type": "AUTO_ACTIVATE"}, wxpay.PathParam("card_id", wxpaytest.CardID))
	if err != nil {
		fmt.Println(err)
		return
	}
	var out struct {
		PermissionToken string `json:"permission_token"`
	}
	if err := resp.Decode(&out); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, out.PermissionToken != "")
	// Output: 200 true
}

// Every call has an asynchronous twin.
func ExampleFuture() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	f := client.V3.Brand.Partner.CardMember.PreAuthTokens.PostAsync(context.Background(), &wxpay.CreateBrandPreAuthTokenRequest{
		BrandID: wxpaytest.BrandID, CardID: wxpaytest.BrandCardID, OpenID: wxpaytest.OpenID,
	})
	<-f.Done() // or select on it with other work
	tok, err := f.Wait()
	fmt.Println(len(tok.Token), err)
	// Output: 32 <nil>
}

// Client-side validation names each problem before anything is sent.
func ExampleValidationError() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	_, _, err := client.V3.Marketing.MembercardOpen.Cards.CardID(wxpaytest.CardID).Users.Import.Post(context.Background(),
		&wxpay.ImportMembercardUserRequest{OpenID: wxpaytest.OpenID, OutRequestNo: "no spaces allowed"})
	var ve *wxpay.ValidationError
	if errors.As(err, &ve) {
		for _, is := range ve.Issues {
			fmt.Println(is.Field, is.Issue)
		}
	}
	// Output: /out_request_no "no spaces allowed" does not match ^[0-9A-Za-z|_*-]+$
}
