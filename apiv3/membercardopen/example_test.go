package membercardopen_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The examples run against the emulator (wxpaytest): fixed fixtures, a fixed
// seed and a fake clock starting 2026-01-01 10:00 CST make their output stable.

// A merchant permission token for distributing a card in H5 (CORE-2).
func ExampleCardsCardIDPermissionTokens_Post_jumpActivate() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	perm, resp, err := client.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).PermissionTokens.Post(context.Background(),
		&membercardopen.CreatePermissionTokenRequest{
			ActivateType: membercardopen.ActivateTypeJumpActivate,
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

// Importing a member by openid (CORE-4) is idempotent by out_request_no; an
// unknown openid is a documented *wxpay.APIError.
func ExampleCardsCardIDUsersImport_Post_idempotent() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()
	imp := client.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import
	ctx := context.Background()

	req := &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "1900000001202601010001"}
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

	_, _, err = imp.Post(ctx, &membercardopen.ImportUserRequest{OpenID: "oUnknown", OutRequestNo: "1900000001202601010002"})
	var apiErr *wxpay.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Code, apiErr.Message)
	}
	// Output:
	// 12-digit code: true same code on repeat: true
	// 400 PARAM_ERROR OpenID有误
}
