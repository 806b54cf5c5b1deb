package emulator_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/wxpaykit/wxpay/apiv3/bill"
	"github.com/wxpaykit/wxpay/emulator"
)

// The demo payments are consistent: each order in its state, the refunds
// counted against their order, and DemoBillToken's file the very trade bill
// that applying for DemoBillDate's bill hands out.
func TestDemoPayments(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	e := srv.Emulator

	for _, want := range []struct{ merchant, outTradeNo, state, txn string }{
		{emulator.DemoMchID, emulator.DemoOutTradeNo, emulator.TradeSuccess, emulator.DemoTransactionID},
		{emulator.DemoMchID, emulator.DemoUnpaidOutTradeNo, emulator.TradeNotPay, ""},
		{emulator.DemoMchID, emulator.DemoUserPayingOutTradeNo, emulator.TradeUserPaying, ""},
		{emulator.DemoSubMchID, emulator.DemoPartnerOutTradeNo, emulator.TradeSuccess, emulator.DemoPartnerTransactionID},
		{emulator.DemoSubMchID, emulator.DemoPartnerUnpaidOutTradeNo, emulator.TradeNotPay, ""},
		{emulator.DemoSubMchID, emulator.DemoPartnerUserPayingOutTradeNo, emulator.TradeUserPaying, ""},
	} {
		o, ok := e.Order(want.merchant, want.outTradeNo)
		if !ok || o.State != want.state || o.TransactionID != want.txn {
			t.Errorf("order %s of %s = %+v, %v; want %s, transaction %q", want.outTradeNo, want.merchant, o, ok, want.state, want.txn)
		}
	}
	paid, _ := e.Order(emulator.DemoMchID, emulator.DemoOutTradeNo)
	var refunded int64
	for _, rf := range e.Refunds(emulator.DemoMchID) {
		if rf.OutTradeNo == emulator.DemoOutTradeNo {
			refunded += rf.Amount
		}
	}
	if paid.Refunded != refunded || refunded == 0 {
		t.Errorf("DemoOutTradeNo: Refunded = %d, its refunds sum to %d", paid.Refunded, refunded)
	}

	// The trade bill of the day, applied for and downloaded with its hash
	// checked, is the demo download's file.
	file, _, err := c.V3.Bill.TradeBill.Get(ctx, &bill.GetTradeBillRequest{BillDate: emulator.DemoBillDate, BillType: bill.BillTypeAll})
	if err != nil {
		t.Fatal(err)
	}
	var applied, demo bytes.Buffer
	if _, err := bill.Download(ctx, c, file, &applied); err != nil {
		t.Fatal(err)
	}
	if _, err := c.V3.BillDownload.File.Get(ctx, &bill.DownloadFileRequest{Token: emulator.DemoBillToken}, &demo); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(applied.Bytes(), demo.Bytes()) {
		t.Errorf("DemoBillToken's file differs from the trade bill of %s:\n%s\nwant:\n%s", emulator.DemoBillDate, demo.String(), applied.String())
	}
	r := bill.NewReader(&applied)
	for _, err := range r.Records() {
		if err != nil {
			t.Fatal(err)
		}
	}
	sum, err := r.Summary()
	if err != nil {
		t.Fatal(err)
	}
	if n := sum.Get("总交易单数"); n != "4" { // two payments, two refunds
		t.Errorf("trade bill of %s: %s records, want 4", emulator.DemoBillDate, n)
	}
	if _, _, err := c.V3.Bill.FundFlowBill.Get(ctx, &bill.GetFundFlowBillRequest{BillDate: emulator.DemoBillDate}); err != nil {
		t.Errorf("fund-flow bill of %s: %v", emulator.DemoBillDate, err)
	}
}
