package cardmember_test

import (
	"context"
	"fmt"

	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The examples run against the emulator (wxpaytest): fixed fixtures, a fixed
// seed and a fake clock starting 2026-01-01 10:00 CST make their output stable.

// A brand join-membership pre-authorisation token (CORE-1), on its original path.
func ExampleOpenUserCardTokens_Post_preAuthorisation() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	tok, _, err := client.V3.Brand.Partner.CardMember.OpenUserCardTokens.Post(context.Background(), &cardmember.CreateOpenUserCardTokenRequest{
		BrandID: emulator.DemoBrandID,
		CardID:  emulator.DemoBrandCardID,
		OpenID:  emulator.DemoOpenID,
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
