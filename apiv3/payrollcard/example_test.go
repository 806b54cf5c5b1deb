package payrollcard_test

import (
	"context"
	"fmt"

	"github.com/wxpaykit/wxpay/apiv3/payrollcard"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The examples run against the emulator (wxpaytest): fixed fixtures, a fixed
// seed and a fake clock starting 2026-01-01 10:00 CST make their output stable.

// A payroll-card token (CORE-3): the name and ID-card number are wxpay.Sensitive,
// encrypted on the wire with Wechatpay-Serial set, and never printed.
func ExampleTokens_Post_sensitiveFields() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()

	req := &payrollcard.CreateTokenRequest{
		OpenID:         emulator.DemoOpenID,
		SubMchID:       emulator.DemoSubMchID,
		SubAppID:       emulator.DemoSubAppID,
		UserName:       "张三",
		IDCardNumber:   "110101199003077777",
		EmploymentType: payrollcard.EmploymentTypeLongTermEmployment,
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
