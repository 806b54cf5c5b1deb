package emulator_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/apiv3/refunddomestic"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// paidOrder places and pays a direct JSAPI order.
func paidOrder(t *testing.T, srv *wxpaytest.Server, c *wxpay.Client, outTradeNo string, total int64) emulator.Order {
	t.Helper()
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(context.Background(), jsapiOrder(outTradeNo, total)); err != nil {
		t.Fatal(err)
	}
	o, err := srv.Pay(outTradeNo, "SUCCESS")
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func refundReq(outTradeNo, outRefundNo string, refund, total int64) *refunddomestic.CreateRefundRequest {
	return &refunddomestic.CreateRefundRequest{OutTradeNo: outTradeNo, OutRefundNo: outRefundNo, Reason: "商品已售完",
		Amount: refunddomestic.RefundRequestAmount{Refund: refund, Total: total, Currency: "CNY"}}
}

// Several partial refunds up to the order's total and not beyond; the same
// out_refund_no again; a CLOSED refund's amount refundable again.
func TestRefundAmounts(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	refunds := c.V3.Refund.Domestic.Refunds
	o := paidOrder(t, srv, c, "rf-order", 1000)

	r1, _, err := refunds.Post(ctx, refundReq("rf-order", "rf-1", 300, 1000))
	if err != nil || r1.Status != refunddomestic.RefundStatusProcessing || r1.Amount.Refund != 300 || r1.Amount.Total != 1000 ||
		r1.TransactionID != o.TransactionID || r1.Channel != refunddomestic.RefundChannelOriginal || r1.UserReceivedAccount != "支付用户零钱" ||
		len(r1.RefundID) != 29 || !strings.HasPrefix(r1.RefundID, "5000") || r1.CreateTime != "2026-01-01T10:00:00+08:00" || r1.SuccessTime != "" {
		t.Fatalf("first refund: %+v %v", r1, err)
	}
	again, _, err := refunds.Post(ctx, refundReq("rf-order", "rf-1", 300, 1000))
	if err != nil || again.RefundID != r1.RefundID {
		t.Errorf("the same refund again: %+v %v", again, err)
	}
	_, _, err = refunds.Post(ctx, refundReq("rf-order", "rf-1", 301, 1000))
	apiErr(t, err, 400, "INVALID_REQUEST", "请确认相同单号是否使用了不同的参数")
	// By transaction_id.
	r2, _, err := refunds.Post(ctx, &refunddomestic.CreateRefundRequest{TransactionID: o.TransactionID, OutRefundNo: "rf-2",
		Amount: refunddomestic.RefundRequestAmount{Refund: 500, Total: 1000, Currency: "CNY"}})
	if err != nil || r2.OutTradeNo != "rf-order" {
		t.Fatalf("by transaction_id: %+v %v", r2, err)
	}
	_, _, err = refunds.Post(ctx, refundReq("rf-order", "rf-3", 201, 1000))
	apiErr(t, err, 400, "INVALID_REQUEST", "申请退款金额超过订单可退金额（可退200分）")
	if _, _, err := refunds.Post(ctx, refundReq("rf-order", "rf-3", 200, 1000)); err != nil {
		t.Fatalf("the rest of the order: %v", err)
	}
	_, _, err = refunds.Post(ctx, refundReq("rf-order", "rf-4", 1, 1000))
	apiErr(t, err, 400, "INVALID_REQUEST", "申请退款金额超过订单可退金额（可退0分）")

	// The bank settles: SUCCESS makes the order REFUND; CLOSED gives the
	// amount back to what can be refunded.
	done, err := srv.SettleRefund("rf-1", "")
	if err != nil || done.Status != emulator.RefundSuccess {
		t.Fatalf("%+v %v", done, err)
	}
	if tx := query(t, c, "rf-order"); tx.TradeState != pay.TradeStateRefund {
		t.Errorf("order after a refund: %s", tx.TradeState)
	}
	got, _, err := refunds.OutRefundNo("rf-1").Get(ctx, &refunddomestic.GetRefundByOutRefundNoRequest{})
	if err != nil || got.Status != refunddomestic.RefundStatusSuccess || got.SuccessTime != "2026-01-01T10:00:00+08:00" || got.RefundID != r1.RefundID {
		t.Errorf("query after SUCCESS: %+v %v", got, err)
	}
	if _, err := srv.SettleRefund("rf-2", "CLOSED"); err != nil {
		t.Fatal(err)
	}
	_, _, err = refunds.Post(ctx, refundReq("rf-order", "rf-4", 501, 1000))
	apiErr(t, err, 400, "INVALID_REQUEST", "申请退款金额超过订单可退金额（可退500分）")
	if _, _, err := refunds.Post(ctx, refundReq("rf-order", "rf-4", 500, 1000)); err != nil {
		t.Errorf("a closed refund's amount: %v", err)
	}

	// SettleRefund refuses what is not a PROCESSING refund.
	for _, tt := range []struct{ no, result string }{{"rf-1", ""}, {"rf-2", "SUCCESS"}, {"rf-none", ""}, {"rf-3", "REFUNDED"}} {
		if _, err := srv.SettleRefund(tt.no, tt.result); !errors.Is(err, emulator.ErrRefund) {
			t.Errorf("SettleRefund(%s, %q): %v", tt.no, tt.result, err)
		}
	}
	if rs := ownRefunds(srv.Emulator.Refunds(emulator.DemoMchID)); len(rs) != 4 || rs[0].OutRefundNo != "rf-1" {
		t.Errorf("refunds: %+v", rs)
	}
}

// What a refund is refused for.
func TestRefundRejections(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	refunds := c.V3.Refund.Domestic.Refunds
	paid := paidOrder(t, srv, c, "rj-paid", 1000)
	other := paidOrder(t, srv, c, "rj-other", 1000)
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, jsapiOrder("rj-unpaid", 1000)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, jsapiOrder("rj-closed", 1000)); err != nil {
		t.Fatal(err)
	}
	if err := closeOrder(c, "rj-closed"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		req       *refunddomestic.CreateRefundRequest
		status    int
		code, msg string
	}{
		// An unpaid order cannot be refunded: the refund page's 404
		// RESOURCE_NOT_EXISTS ("no such order or it is unpaid").
		{"unpaid order", refundReq("rj-unpaid", "rj-1", 100, 1000), 404, "RESOURCE_NOT_EXISTS", "订单号不存在"},
		{"closed order", refundReq("rj-closed", "rj-2", 100, 1000), 404, "RESOURCE_NOT_EXISTS", "订单号不存在"},
		{"unknown order", refundReq("rj-none", "rj-3", 100, 1000), 404, "RESOURCE_NOT_EXISTS", "订单号不存在"},
		{"unknown transaction_id", &refunddomestic.CreateRefundRequest{TransactionID: "4200000000202601010000000000", OutRefundNo: "rj-4",
			Amount: refunddomestic.RefundRequestAmount{Refund: 100, Total: 1000, Currency: "CNY"}}, 404, "RESOURCE_NOT_EXISTS", "订单号不存在"},
		{"transaction_id of another order", &refunddomestic.CreateRefundRequest{TransactionID: other.TransactionID, OutTradeNo: "rj-paid", OutRefundNo: "rj-5",
			Amount: refunddomestic.RefundRequestAmount{Refund: 100, Total: 1000, Currency: "CNY"}}, 400, "INVALID_REQUEST", "transaction_id与out_trade_no不是同一笔订单"},
		{"wrong total", refundReq("rj-paid", "rj-6", 100, 999), 400, "PARAM_ERROR", "订单金额与原订单不一致"},
		{"more than the order", refundReq("rj-paid", "rj-7", 1001, 1000), 400, "INVALID_REQUEST", "申请退款金额超过订单可退金额（可退1000分）"},
		{"not for a sub-merchant of the caller", &refunddomestic.CreateRefundRequest{SubMchID: "1900000999", OutTradeNo: "rj-paid", OutRefundNo: "rj-8",
			Amount: refunddomestic.RefundRequestAmount{Refund: 100, Total: 1000, Currency: "CNY"}}, 400, "INVALID_REQUEST", "子商户号sub_mchid与服务商商户号不存在受理关系"},
		{"a direct order asked for as a sub-merchant's", &refunddomestic.CreateRefundRequest{SubMchID: emulator.DemoSubMchID, OutTradeNo: "rj-paid", OutRefundNo: "rj-9",
			Amount: refunddomestic.RefundRequestAmount{Refund: 100, Total: 1000, Currency: "CNY"}}, 404, "RESOURCE_NOT_EXISTS", "订单号不存在"},
	}
	for _, tt := range tests {
		_, _, err := refunds.Post(ctx, tt.req)
		apiErr(t, err, tt.status, tt.code, tt.msg)
	}
	if d := func() *wxpay.ErrorDetail {
		_, _, err := refunds.Post(ctx, refundReq("rj-paid", "rj-6", 100, 999))
		return detail(t, err)
	}(); d.Field != "/amount/total" || d.Value != "999" {
		t.Errorf("wrong total: %+v", d)
	}
	_, _, err := refunds.OutRefundNo("rj-none").Get(ctx, &refunddomestic.GetRefundByOutRefundNoRequest{})
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "退款单不存在")
	if rs := ownRefunds(srv.Emulator.Refunds("")); len(rs) != 0 {
		t.Errorf("refused refunds were kept: %+v", rs)
	}
	if o, _ := srv.Emulator.Order(emulator.DemoMchID, "rj-paid"); o.Refunded != 0 || o.TransactionID != paid.TransactionID {
		t.Errorf("refused refunds changed the order: %+v", o)
	}
}

// ABNORMAL → apply-abnormal-refund (to the user's or the merchant's bank card)
// → PROCESSING → settled.
func TestAbnormalRefund(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	refunds := c.V3.Refund.Domestic.Refunds
	paidOrder(t, srv, c, "ab-order", 1000)
	ids := map[string]string{}
	for _, no := range []string{"ab-user", "ab-merchant"} {
		r, _, err := refunds.Post(ctx, refundReq("ab-order", no, 400, 1000))
		if err != nil {
			t.Fatal(err)
		}
		ids[no] = r.RefundID
		if _, err := srv.SettleRefund(no, "ABNORMAL"); err != nil {
			t.Fatal(err)
		}
		if got, _, err := refunds.OutRefundNo(no).Get(ctx, &refunddomestic.GetRefundByOutRefundNoRequest{}); err != nil || got.Status != refunddomestic.RefundStatusAbnormal {
			t.Fatalf("%s: %+v %v", no, got, err)
		}
	}
	// An ABNORMAL refund still holds its amount: 200 left.
	_, _, err := refunds.Post(ctx, refundReq("ab-order", "ab-more", 201, 1000))
	apiErr(t, err, 400, "INVALID_REQUEST", "申请退款金额超过订单可退金额（可退200分）")

	apply := func(refundID string, r *refunddomestic.ApplyAbnormalRefundRequest) (*refunddomestic.RefundOrder, error) {
		out, _, err := refunds.RefundID(refundID).ApplyAbnormalRefund.Post(ctx, r, wxpay.WithoutValidation())
		return out, err
	}
	_, err = apply(ids["ab-user"], &refunddomestic.ApplyAbnormalRefundRequest{OutRefundNo: "ab-user", Type: refunddomestic.AbnormalRefundTypeUserBankCard})
	if d := detail(t, err); d.Field != "/bank_type" {
		t.Errorf("no bank: %+v", d)
	}
	_, err = apply(ids["ab-user"], &refunddomestic.ApplyAbnormalRefundRequest{OutRefundNo: "ab-merchant", Type: refunddomestic.AbnormalRefundTypeMerchantBankCard})
	apiErr(t, err, 400, "INVALID_REQUEST", "out_refund_no与refund_id不是同一笔退款")
	_, err = apply("50000000202601010000000000000", &refunddomestic.ApplyAbnormalRefundRequest{OutRefundNo: "ab-user", Type: refunddomestic.AbnormalRefundTypeMerchantBankCard})
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "退款单不存在")

	tests := []struct {
		no      string
		req     *refunddomestic.ApplyAbnormalRefundRequest
		account string
	}{
		{"ab-user", &refunddomestic.ApplyAbnormalRefundRequest{OutRefundNo: "ab-user", Type: refunddomestic.AbnormalRefundTypeUserBankCard,
			BankType: refunddomestic.BankTypeIcbcDebit, BankAccount: "6212260000000000000", RealName: "张三"}, "ICBC_DEBIT银行卡"},
		{"ab-merchant", &refunddomestic.ApplyAbnormalRefundRequest{OutRefundNo: "ab-merchant", Type: refunddomestic.AbnormalRefundTypeMerchantBankCard}, "商户银行账户"},
	}
	for _, tt := range tests {
		r, err := apply(ids[tt.no], tt.req)
		if err != nil || r.Status != refunddomestic.RefundStatusProcessing || r.Channel != refunddomestic.RefundChannelOtherBankcard || r.UserReceivedAccount != tt.account {
			t.Fatalf("%s: %+v %v", tt.no, r, err)
		}
		_, err = apply(ids[tt.no], tt.req)
		apiErr(t, err, 400, "INVALID_REQUEST", "退款单状态不是ABNORMAL，不能发起异常退款")
		if rf, err := srv.SettleRefund(tt.no, "SUCCESS"); err != nil || rf.Status != emulator.RefundSuccess || rf.Account != tt.account {
			t.Errorf("%s settled: %+v %v", tt.no, rf, err)
		}
	}
}

// A service provider refunds its sub-merchant's orders with sub_mchid.
func TestPartnerRefund(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	e := srv.Emulator
	if _, _, err := c.V3.Pay.Partner.Transactions.JSAPI.Post(ctx, partnerJSAPIOrder("pr-order", 800, pay.PartnerPayer{SubOpenID: emulator.DemoSubOpenID})); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Pay(emulator.DemoSubMchID, "pr-order", ""); err != nil {
		t.Fatal(err)
	}
	req := refundReq("pr-order", "pr-1", 800, 800)
	_, _, err := c.V3.Refund.Domestic.Refunds.Post(ctx, req)
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "订单号不存在") // not the provider's own order
	req.SubMchID = emulator.DemoSubMchID
	r, _, err := c.V3.Refund.Domestic.Refunds.Post(ctx, req)
	if err != nil || r.Amount.Refund != 800 {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := e.SettleRefund(emulator.DemoMchID, "pr-1", ""); !errors.Is(err, emulator.ErrRefund) {
		t.Errorf("settled as the provider's own refund: %v", err)
	}
	if _, err := e.SettleRefund(emulator.DemoSubMchID, "pr-1", ""); err != nil {
		t.Fatal(err)
	}
	got, _, err := c.V3.Refund.Domestic.Refunds.OutRefundNo("pr-1").Get(ctx, &refunddomestic.GetRefundByOutRefundNoRequest{SubMchID: emulator.DemoSubMchID})
	if err != nil || got.Status != refunddomestic.RefundStatusSuccess {
		t.Errorf("%+v %v", got, err)
	}
	_, _, err = c.V3.Refund.Domestic.Refunds.OutRefundNo("pr-1").Get(ctx, &refunddomestic.GetRefundByOutRefundNoRequest{})
	apiErr(t, err, 404, "RESOURCE_NOT_EXISTS", "退款单不存在")
}
