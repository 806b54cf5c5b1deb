package pay_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/wxpaykit/wxpay/apiv3/bill"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/apiv3/refunddomestic"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The whole payment flow on the emulator: a JSAPI order, the payer's
// front-end parameters, the payment, its verified TRANSACTION.SUCCESS
// notification, the query, a partial refund and its REFUND.SUCCESS, and the
// day's trade bill downloaded, its hash checked and the order found in it.
func Example_paymentFlow() {
	srv := wxpaytest.NewServer()
	defer srv.Close()
	client := srv.Client()
	ctx := context.Background()

	// The merchant's notification endpoint: verified, replay-checked, decrypted.
	parser, err := notify.New(client.Verifier(), srv.APIv3Key())
	if err != nil {
		fmt.Println(err)
		return
	}
	events := make(chan *notify.Notification, 4)
	hook := httptest.NewServer(parser.Handler(func(_ context.Context, n *notify.Notification) error {
		events <- n
		return nil
	}))
	defer hook.Close()
	next := func() *notify.Notification {
		select {
		case n := <-events:
			return n
		case <-time.After(10 * time.Second):
			return nil
		}
	}

	// 1. Order, and sign the parameters of wx.requestPayment for the payer.
	const outTradeNo = "1217752501201407033233368018"
	prepay, _, err := client.V3.Pay.Transactions.JSAPI.Post(ctx, &pay.PrepayJSAPIRequest{
		AppID: emulator.DemoAppID, MchID: emulator.DemoMchID, Description: "Image形象店-深圳腾大-QQ公仔",
		OutTradeNo: outTradeNo, NotifyURL: hook.URL + "/pay",
		Amount: pay.Amount{Total: 1000, Currency: "CNY"}, Payer: pay.Payer{OpenID: emulator.DemoOpenID},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	params, err := pay.PaymentSigner{Key: srv.MerchantKey()}.JSAPI(emulator.DemoAppID, prepay.PrepayID)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.VerifyJSAPIPayment(params); err != nil { // as WeChat checks them before it shows the payment
		fmt.Println(err)
		return
	}
	fmt.Println("wx.requestPayment:", params.Package == "prepay_id="+prepay.PrepayID, params.SignType)

	// 2. The payer pays: TRANSACTION.SUCCESS arrives.
	if _, err := srv.Pay(outTradeNo, "SUCCESS"); err != nil {
		fmt.Println(err)
		return
	}
	n := next()
	paid := n.Event.(*pay.Transaction)
	fmt.Println(n.EventType, paid.OutTradeNo, paid.TradeState, *paid.Amount.Total)

	// 3. The query agrees.
	tx, _, err := client.V3.Pay.Transactions.OutTradeNo.OutTradeNo(outTradeNo).Get(ctx, &pay.GetTransactionByOutTradeNoRequest{MchID: emulator.DemoMchID})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("query:", tx.TradeState, tx.TransactionID == paid.TransactionID)

	// 4. A partial refund; the bank settles it: REFUND.SUCCESS arrives.
	rf, _, err := client.V3.Refund.Domestic.Refunds.Post(ctx, &refunddomestic.CreateRefundRequest{
		OutTradeNo: outTradeNo, OutRefundNo: "1217752501201407033233368018-R1", Reason: "商品已售完",
		Amount: refunddomestic.RefundRequestAmount{Refund: 300, Total: 1000, Currency: "CNY"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("refund:", rf.Status, rf.Amount.Refund)
	if _, err := srv.SettleRefund(rf.OutRefundNo, "SUCCESS"); err != nil {
		fmt.Println(err)
		return
	}
	n = next()
	done := n.Event.(*refunddomestic.RefundNotification)
	fmt.Println(n.EventType, done.RefundStatus, done.Amount.Refund)

	// 5. The day's trade bill: downloaded, its hash checked, the order found.
	day, err := srv.EndDay()
	if err != nil {
		fmt.Println(err)
		return
	}
	file, _, err := client.V3.Bill.TradeBill.Get(ctx, &bill.GetTradeBillRequest{BillDate: day, BillType: bill.BillTypeAll, TarType: bill.TarTypeGZIP})
	if err != nil {
		fmt.Println(err)
		return
	}
	var buf bytes.Buffer
	if _, err := bill.Download(ctx, client, file, &buf); err != nil {
		fmt.Println(err)
		return
	}
	r := bill.NewReader(&buf)
	for rec, err := range r.Records() {
		if err != nil {
			fmt.Println(err)
			return
		}
		if rec.Get("商户订单号") == outTradeNo {
			fmt.Println("bill:", rec.Get("交易状态"), rec.Get("订单金额"), rec.Get("退款金额"))
		}
	}
	sum, _ := r.Summary()
	fmt.Println("bill summary:", sum.Get("总交易单数"), "records,", sum.Get("应结订单总金额"), "settled,", sum.Get("退款总金额"), "refunded")
	// Output:
	// wx.requestPayment: true RSA
	// TRANSACTION.SUCCESS 1217752501201407033233368018 SUCCESS 1000
	// query: SUCCESS true
	// refund: PROCESSING 300
	// REFUND.SUCCESS SUCCESS 300
	// bill: SUCCESS 10.00 0.00
	// bill: REFUND 0.00 3.00
	// bill summary: 2 records, 10.00 settled, 3.00 refunded
}
