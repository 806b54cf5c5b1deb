package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net/http/httptest"
	"time"

	"github.com/wxpaykit/wxpay/apiv3/bill"
	"github.com/wxpaykit/wxpay/apiv3/media"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/apiv3/refunddomestic"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/notify"
)

// fail records the first failure of a step and says so.
func (d *demo) fail(step string, err error) bool {
	if err == nil {
		return false
	}
	fmt.Fprintf(d.out, "   %s FAILED: %v\n", step, err)
	if d.failed == nil {
		d.failed = err
	}
	return true
}

// paymentFlow takes money end to end: order, the payer's parameters, the
// payment and its verified notification, the query, a partial refund and its
// notification, the day's bill downloaded and checked.
func (d *demo) paymentFlow() {
	fmt.Fprintf(d.out, "\n6. Taking money: JSAPI order → pay → TRANSACTION.SUCCESS → query → partial refund → REFUND.SUCCESS → bill\n")
	parser, err := notify.New(d.c.Verifier(), d.sb.APIv3Key)
	if d.fail("notify.New", err) {
		return
	}
	events := make(chan *notify.Notification, 4)
	hook := httptest.NewServer(parser.Handler(func(_ context.Context, n *notify.Notification) error {
		events <- n
		return nil
	}))
	defer hook.Close()
	next := func(want string) *notify.Notification {
		select {
		case n := <-events:
			return n
		case <-time.After(15 * time.Second):
			d.fail("waiting for "+want, errors.New("no notification within 15 s"))
			return nil
		}
	}

	outTradeNo := "DEMO" + time.Now().Format("20060102150405")
	prepay, _, err := d.c.V3.Pay.Transactions.JSAPI.Post(d.ctx, &pay.PrepayJSAPIRequest{
		AppID: emulator.DemoAppID, MchID: d.sb.MchID, Description: "演示商品", OutTradeNo: outTradeNo,
		NotifyURL: hook.URL + "/pay", Amount: pay.Amount{Total: 1000}, Payer: pay.Payer{OpenID: emulator.DemoOpenID},
	})
	if d.fail("order", err) {
		return
	}
	fmt.Fprintf(d.out, "   order      client.V3.Pay.Transactions.JSAPI.Post → prepay_id %s…\n", prepay.PrepayID[:12])
	params, err := pay.PaymentSigner{Key: d.sb.MerchantKey}.JSAPI(emulator.DemoAppID, prepay.PrepayID)
	if d.fail("payer parameters", err) {
		return
	}
	fmt.Fprintf(d.out, "   payer      wx.requestPayment{package: %q, signType: %s, paySign: %s…}\n", params.Package, params.SignType, params.PaySign[:12])

	if _, err := d.sb.Pay(d.sb.MchID, outTradeNo, "SUCCESS"); d.fail("pay", err) {
		return
	}
	n := next("TRANSACTION.SUCCESS")
	if n == nil {
		return
	}
	paid, ok := n.Event.(*pay.Transaction)
	if !ok {
		d.fail("TRANSACTION.SUCCESS", fmt.Errorf("resource decoded as %T", n.Event))
		return
	}
	fmt.Fprintf(d.out, "   notified   %s, verified and decrypted: %s, transaction %s\n", n.EventType, paid.TradeState, paid.TransactionID)

	tx, _, err := d.c.V3.Pay.Transactions.OutTradeNo.OutTradeNo(outTradeNo).Get(d.ctx, &pay.GetTransactionByOutTradeNoRequest{MchID: d.sb.MchID})
	if d.fail("query", err) {
		return
	}
	var total int64
	if tx.Amount != nil && tx.Amount.Total != nil {
		total = *tx.Amount.Total
	}
	fmt.Fprintf(d.out, "   query      trade_state %s, %d fen\n", tx.TradeState, total)

	rf, _, err := d.c.V3.Refund.Domestic.Refunds.Post(d.ctx, &refunddomestic.CreateRefundRequest{
		OutTradeNo: outTradeNo, OutRefundNo: outTradeNo + "-R1", Reason: "部分退款",
		Amount: refunddomestic.RefundRequestAmount{Refund: 300, Total: 1000, Currency: "CNY"},
	})
	if d.fail("refund", err) {
		return
	}
	if _, err := d.sb.SettleRefund(d.sb.MchID, rf.OutRefundNo, "SUCCESS"); d.fail("settle", err) {
		return
	}
	if n = next("REFUND.SUCCESS"); n == nil {
		return
	}
	if done, ok := n.Event.(*refunddomestic.RefundNotification); ok {
		fmt.Fprintf(d.out, "   refunded   %d of %d fen: %s %s\n", done.Amount.Refund, done.Amount.Total, n.EventType, done.RefundStatus)
	}

	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	if d.fail("end of day", d.sb.EndDay(day)) {
		return
	}
	file, _, err := d.c.V3.Bill.TradeBill.Get(d.ctx, &bill.GetTradeBillRequest{BillDate: day, TarType: bill.TarTypeGZIP})
	if d.fail("trade bill", err) {
		return
	}
	var buf bytes.Buffer
	size, err := bill.Download(d.ctx, d.c, file, &buf)
	if d.fail("bill download", err) {
		return
	}
	rows := 0
	for rec, err := range bill.NewReader(&buf).Records() {
		if d.fail("bill", err) {
			return
		}
		if rec.Get("商户订单号") == outTradeNo {
			rows++
		}
	}
	fmt.Fprintf(d.out, "   bill       %s: %d bytes, SHA-1 checked, the order in %d rows (payment and refund)\n", day, size, rows)
}

// cardWithLogo uploads a logo, creates a card template with it and reads it back.
func (d *demo) cardWithLogo() {
	fmt.Fprintf(d.out, "\n7. A card with its logo: upload → create the template → fetch it\n")
	img := image.NewRGBA(image.Rect(0, 0, 96, 96))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = 0x07, 0xc1, 0x60, 0xff
	}
	var logo bytes.Buffer
	_ = png.Encode(&logo, img)
	up, _, err := d.c.V3.Marketing.Favor.Media.ImageUpload.Post(d.ctx, &media.UploadMarketingImageRequest{Filename: "logo.png", File: &logo})
	if d.fail("upload", err) {
		return
	}
	fmt.Fprintf(d.out, "   upload     client.V3.Marketing.Favor.Media.ImageUpload.Post → %s\n", up.MediaURL)
	card, _, err := d.c.V3.Marketing.MembercardOpen.Cards.Post(d.ctx, &membercardopen.CreateCardRequest{
		OutRequestNo: "DEMO" + time.Now().Format("20060102150405"), AppID: emulator.DemoAppID, Title: "演示会员卡",
		LogoURL: up.MediaURL, BackgroundPictureURL: up.MediaURL, Description: "会员专享九折",
		Brand:    membercardopen.Brand{BrandID: emulator.DemoBrandID, DisplayName: "演示品牌"},
		CodeMode: membercardopen.CodeModeSystemAllocate, CodeType: membercardopen.CodeTypeQRCode,
		DateInformation: membercardopen.DateInformation{Type: membercardopen.ValidDateTypePermanent},
	})
	if d.fail("create card", err) {
		return
	}
	got, _, err := d.c.V3.Marketing.MembercardOpen.Cards.CardID(card.CardID).Get(d.ctx)
	if d.fail("fetch card", err) {
		return
	}
	fmt.Fprintf(d.out, "   card       %s %q, logo %s\n", got.CardID, got.Title, got.LogoURL)
}
