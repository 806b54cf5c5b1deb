package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/apiv3/payrollcard"
	"github.com/wxpaykit/wxpay/emulator"
)

func demoCommand() *command {
	return &command{
		name: "demo", short: "run the seed operations, a payment and an upload on the embedded emulator",
		long: `Starts the emulator in-process on 127.0.0.1 with freshly generated keys, then calls the four
seed operations — brand join-membership token, merchant permission token, payroll-card token
(with encrypted fields) and member import by openid — through the typed chain, the
declarative chain and asynchronously, and shows one documented error. Then it takes money end
to end — a JSAPI order, the payer's signed parameters, the payment and its verified
TRANSACTION.SUCCESS notification, the query, a partial refund and REFUND.SUCCESS, the day's
trade bill downloaded and its hash checked — and uploads a logo to create a card template with
it. Every answer is signed by the emulator and verified by the client. Needs no credentials
and no network.`,
		setup: func(fs *flag.FlagSet) func(context.Context, IO, []string) error {
			return func(ctx context.Context, io IO, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				return runDemo(ctx, io.Stdout)
			}
		},
	}
}

func runDemo(ctx context.Context, out io.Writer) error {
	dir, err := os.MkdirTemp("", "wxpay-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sb, err := emulator.OpenSandbox(dir)
	if err != nil {
		return err
	}
	defer sb.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := sb.HTTPServer()
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()

	client, err := wxpay.NewClient(
		wxpay.WithMerchant(sb.MchID, sb.MerchantSerial, sb.MerchantKey),
		wxpay.WithPlatformPublicKey(sb.PublicKeyID, sb.PlatformPublicKey),
		wxpay.WithBaseURL(base),
	)
	if err != nil {
		return err
	}
	d := demo{ctx: ctx, c: client, out: out, sb: sb}
	fmt.Fprintf(out, "wxpay demo: the seed operations, a payment and a card with its logo, on the embedded emulator at %s\n", base)
	fmt.Fprintf(out, "merchant %s, WeChat Pay public key %s\n", sb.MchID, sb.PublicKeyID)
	d.brandToken()
	d.permissionToken()
	d.payrollToken()
	d.importMember()
	d.documentedError()
	d.paymentFlow()
	d.cardWithLogo()
	if d.failed != nil {
		return fmt.Errorf("demo: %w", d.failed)
	}
	fmt.Fprintln(out, "\nEvery answer was signed by the emulator and verified by the client (WECHATPAY2-SHA256-RSA2048).")
	return nil
}

type demo struct {
	ctx    context.Context
	c      *wxpay.Client
	sb     *emulator.Sandbox
	out    io.Writer
	failed error
}

func (d *demo) title(n int, name, path string) {
	fmt.Fprintf(d.out, "\n%d. %s\n   %s\n", n, name, path)
}

// show prints one call style's result, or records the failure.
func (d *demo) show(style, call string, result string, err error) {
	if err != nil {
		fmt.Fprintf(d.out, "   %-11s %s\n               FAILED: %v\n", style, call, err)
		if d.failed == nil {
			d.failed = err
		}
		return
	}
	fmt.Fprintf(d.out, "   %-11s %s\n               → %s\n", style, call, result)
}

func (d *demo) brandToken() {
	d.title(1, "Brand join-membership pre-authorisation token (品牌会员入会组件预授权)", "POST /v3/brand/partner/card-member/open-user-card-tokens (today: …/pre-auth-tokens)")
	req := &cardmember.CreateOpenUserCardTokenRequest{BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID}
	tok, _, err := d.c.V3.Brand.Partner.CardMember.OpenUserCardTokens.Post(d.ctx, req)
	d.show("typed", "client.V3.Brand.Partner.CardMember.OpenUserCardTokens.Post(ctx, req)", tokenLine(tok, err), err)

	resp, err := d.c.Chain("v3/brand/partner/card-member/pre-auth-tokens").Post(d.ctx, map[string]string{
		"brand_id": emulator.DemoBrandID, "card_id": emulator.DemoBrandCardID, "openid": emulator.DemoOpenID})
	var t2 cardmember.PreAuthToken
	if err == nil {
		err = resp.Decode(&t2)
	}
	d.show("declarative", `client.Chain("v3/brand/partner/card-member/pre-auth-tokens").Post(ctx, body)`, tokenLine(&t2, err), err)

	f := d.c.V3.Brand.Partner.CardMember.PreAuthTokens.PostAsync(d.ctx, &cardmember.CreatePreAuthTokenRequest{
		BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID})
	t3, err := f.Wait()
	d.show("async", "client.V3.Brand.Partner.CardMember.PreAuthTokens.PostAsync(ctx, req).Wait()", tokenLine(t3, err), err)
}

func tokenLine(t *cardmember.PreAuthToken, err error) string {
	if err != nil || t == nil {
		return ""
	}
	return fmt.Sprintf("token %s, expires %s", t.Token, t.ExpireTime)
}

func (d *demo) permissionToken() {
	d.title(2, "Merchant permission token for distributing a card (商户预授权)", "POST /v3/marketing/membercard-open/cards/{card_id}/permission-tokens")
	cards := d.c.V3.Marketing.MembercardOpen.Cards
	p, _, err := cards.CardID(emulator.DemoCardID).PermissionTokens.Post(d.ctx, &membercardopen.CreatePermissionTokenRequest{
		ActivateType: membercardopen.ActivateTypeAutoActivate, OuterStr: "store_001"})
	d.show("typed", `client.V3.Marketing.MembercardOpen.Cards.CardID(id).PermissionTokens.Post(ctx, req)`, permLine(p, err), err)

	resp, err := d.c.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").Post(d.ctx,
		map[string]any{"activate_type": "JUMP_ACTIVATE", "activate_url": "https://shop.example/activate"},
		wxpay.PathParam("card_id", emulator.DemoCardID))
	var p2 membercardopen.PermissionToken
	if err == nil {
		err = resp.Decode(&p2)
	}
	d.show("declarative", `client.Chain(".../cards/{card_id}/permission-tokens").Post(ctx, body, wxpay.PathParam("card_id", id))`, permLine(&p2, err), err)

	f := cards.CardID(emulator.DemoCardID).PermissionTokens.PostAsync(d.ctx, &membercardopen.CreatePermissionTokenRequest{ActivateType: membercardopen.ActivateTypeAutoActivate})
	p3, err := f.Wait()
	d.show("async", "…PermissionTokens.PostAsync(ctx, req).Wait()", permLine(p3, err), err)
}

func permLine(p *membercardopen.PermissionToken, err error) string {
	if err != nil || p == nil {
		return ""
	}
	return fmt.Sprintf("permission_token %s… (%d chars)", p.PermissionToken[:16], len(p.PermissionToken))
}

func (d *demo) payrollToken() {
	d.title(3, "Payroll-card authorisation token (微工卡 生成授权token)", "POST /v3/payroll-card/tokens — user_name and id_card_number travel RSA-OAEP encrypted, Wechatpay-Serial set")
	req := &payrollcard.CreateTokenRequest{
		OpenID: emulator.DemoOpenID2, SubMchID: emulator.DemoSubMchID, SubAppID: emulator.DemoSubAppID,
		UserName: "张三", IDCardNumber: "110101199003077777", EmploymentType: payrollcard.EmploymentTypeLongTermEmployment,
	}
	tok, _, err := d.c.V3.PayrollCard.Tokens.Post(d.ctx, req)
	d.show("typed", fmt.Sprintf("client.V3.PayrollCard.Tokens.Post(ctx, req)   // req prints as %+v", req.UserName), payrollLine(tok, err), err)

	resp, err := d.c.Chain("v3/payroll-card/tokens").Post(d.ctx, map[string]any{
		"openid": emulator.DemoOpenID2, "sub_mchid": emulator.DemoSubMchID, "sub_appid": emulator.DemoSubAppID,
		"user_name": wxpay.Sensitive("张三"), "id_card_number": wxpay.Sensitive("110101199003077777"),
	})
	var t2 payrollcard.Token
	if err == nil {
		err = resp.Decode(&t2)
	}
	d.show("declarative", `client.Chain("v3/payroll-card/tokens").Post(ctx, {"user_name": wxpay.Sensitive(name), …})`, payrollLine(&t2, err), err)

	t3, err := d.c.V3.PayrollCard.Tokens.PostAsync(d.ctx, req).Wait()
	d.show("async", "client.V3.PayrollCard.Tokens.PostAsync(ctx, req).Wait()", payrollLine(t3, err), err)
}

func payrollLine(t *payrollcard.Token, err error) string {
	if err != nil || t == nil {
		return ""
	}
	return fmt.Sprintf("token %s… for sub-merchant %s, expires in %ds", t.Token[:12], t.SubMchID, t.ExpiresIn)
}

func (d *demo) importMember() {
	d.title(4, "Import an existing member by openid (根据openid导入用户会员卡)", "POST /v3/marketing/membercard-open/cards/{card_id}/users/import — idempotent by out_request_no")
	imp := d.c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import
	req := &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID, OutRequestNo: "1900000001-demo-0001"}
	m, _, err := imp.Post(d.ctx, req)
	d.show("typed", "client.V3.Marketing.MembercardOpen.Cards.CardID(id).Users.Import.Post(ctx, req)", codeLine(m, err, "new member"), err)

	resp, err := d.c.Chain("v3/marketing/membercard-open/cards/{card_id}/users/import").Post(d.ctx,
		map[string]string{"openid": emulator.DemoOpenID, "out_request_no": "1900000001-demo-0001"},
		wxpay.PathParam("card_id", emulator.DemoCardID))
	var m2 membercardopen.Code
	if err == nil {
		err = resp.Decode(&m2)
	}
	same := "the same out_request_no again"
	if err == nil && m != nil && m2.Code != m.Code {
		err = errors.New("a repeated import returned another code")
	}
	d.show("declarative", `client.Chain(".../cards/{card_id}/users/import").Post(ctx, body, …)`, codeLine(&m2, err, same+": same code, no second member"), err)

	m3, err := imp.PostAsync(d.ctx, &membercardopen.ImportUserRequest{OpenID: emulator.DemoOpenID2, OutRequestNo: "1900000001-demo-0002"}).Wait()
	d.show("async", "…Users.Import.PostAsync(ctx, req).Wait()", codeLine(m3, err, "another member"), err)
}

func codeLine(m *membercardopen.Code, err error, what string) string {
	if err != nil || m == nil {
		return ""
	}
	return fmt.Sprintf("code %s (%s)", m.Code, what)
}

func (d *demo) documentedError() {
	fmt.Fprintf(d.out, "\n5. A documented error: importing an openid the service does not know\n")
	_, _, err := d.c.V3.Marketing.MembercardOpen.Cards.CardID(emulator.DemoCardID).Users.Import.Post(d.ctx,
		&membercardopen.ImportUserRequest{OpenID: "oUnknownUser000000000000000", OutRequestNo: "1900000001-demo-0003"})
	var ae *wxpay.APIError
	if !errors.As(err, &ae) {
		d.show("typed", "…Users.Import.Post", "", fmt.Errorf("expected a *wxpay.APIError, got %v", err))
		return
	}
	fmt.Fprintf(d.out, "   errors.As(err, &apiErr) → HTTP %d, code %s, message %s", ae.StatusCode, ae.Code, ae.Message)
	if ae.Detail != nil && ae.Detail.Field != "" {
		fmt.Fprintf(d.out, ", field %s", ae.Detail.Field)
	}
	fmt.Fprintf(d.out, "\n   Request-ID %s\n", ae.RequestID)
}
