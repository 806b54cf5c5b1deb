package wxpay_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The examples run against the emulator (wxpaytest): fixed fixtures, a fixed
// seed and a fake clock starting 2026-01-01 10:00 CST make their output stable.

// The declarative chain reaches any endpoint from its documented path.
func ExampleClient_Chain() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	resp, err := client.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").
		Post(context.Background(), map[string]any{"activate_type": "AUTO_ACTIVATE"}, wxpay.PathParam("card_id", emulator.DemoCardID))
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

	f := client.V3.Brand.Partner.CardMember.PreAuthTokens.PostAsync(context.Background(), &cardmember.CreatePreAuthTokenRequest{
		BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID,
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

	_, _, err := client.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import.Post(context.Background(),
		&membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "no spaces allowed"})
	var ve *wxpay.ValidationError
	if errors.As(err, &ve) {
		for _, is := range ve.Issues {
			fmt.Println(is.Field, is.Issue)
		}
	}
	// Output: /out_request_no "no spaces allowed" does not match ^[0-9A-Za-z|_*-]+$
}
