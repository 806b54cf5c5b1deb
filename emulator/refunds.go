package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"
)

// Refunds start PROCESSING; the control API (or SettleRefund) ends them as
// SUCCESS, ABNORMAL (the payer's account cannot take the money: apply an
// abnormal refund, then settle again) or CLOSED, each with its notification.

// Refund statuses.
const (
	RefundProcessing = "PROCESSING"
	RefundSuccess    = "SUCCESS"
	RefundAbnormal   = "ABNORMAL"
	RefundClosed     = "CLOSED"
)

// Refund is a refund the emulator keeps.
type Refund struct {
	MchID         string // the direct merchant or the service provider
	SubMchID      string
	RefundID      string
	OutRefundNo   string
	OutTradeNo    string
	TransactionID string
	Amount        int64 // fen
	Status        string
	Channel       string // ORIGINAL, BALANCE, OTHER_BALANCE, OTHER_BANKCARD
	Account       string // user_received_account
	NotifyURL     string
	FundsAcct     string
	Created       time.Time
	SuccessTime   time.Time

	order *Order
	fp    [32]byte
}

type refundKey struct{ mchID, subMchID, outRefundNo string }

// refundWho reads the merchant a refund request speaks for: the caller, and
// for a service provider the sub_mchid of the body or query.
func (e *Emulator) refundWho(r *request) (mchID, subMchID string, bad *answer) {
	sub := str(r.body, "sub_mchid")
	if sub == "" {
		sub = r.query.Get("sub_mchid")
	}
	if sub != "" {
		e.state.mu.Lock()
		sm := e.state.subMerchants[sub]
		e.state.mu.Unlock()
		if sm == nil || sm.MchID != r.mchID {
			a := invalidRequest("子商户号sub_mchid与服务商商户号不存在受理关系")
			return "", "", &a
		}
	}
	return r.mchID, sub, nil
}

// createRefund applies for a refund of a paid order. The same out_refund_no
// with the same parameters answers the refund as it now stands.
func (e *Emulator) createRefund(r *request) answer {
	mchID, sub, bad := e.refundWho(r)
	if bad != nil {
		return *bad
	}
	amount, _ := r.body["amount"].(map[string]any)
	refund, total := integer(amount["refund"]), integer(amount["total"])
	txn, outTradeNo := str(r.body, "transaction_id"), str(r.body, "out_trade_no")
	switch {
	case txn == "" && outTradeNo == "":
		return paramError("body", "/transaction_id", "", "give transaction_id or out_trade_no")
	case refund <= 0:
		return paramError("body", "/amount/refund", fmt.Sprint(amount["refund"]), "must be a positive amount in fen")
	case str(amount, "currency") != "CNY":
		return paramError("body", "/amount/currency", clip(str(amount, "currency"), 16), "only CNY is supported")
	}
	fp := r.fingerprint()
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	k := refundKey{mchID, sub, str(r.body, "out_refund_no")}
	if rf := s.pay.refunds[k]; rf != nil {
		if rf.fp != fp {
			return invalidRequest(reusedNumber)
		}
		return ok(e.refundView(rf))
	}
	var o *Order
	if txn != "" {
		if x := s.pay.byTxn[txn]; x != nil && x.MchID == mchID && x.SubMchID == sub {
			o = x
		}
	} else {
		o = s.pay.orders[orderKey{mchID, sub, outTradeNo}]
	}
	switch {
	case o == nil:
		return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单号不存在", nil)
	case txn != "" && outTradeNo != "" && o.OutTradeNo != outTradeNo:
		return invalidRequest("transaction_id与out_trade_no不是同一笔订单")
	case o.State != TradeSuccess && o.State != TradeRefund:
		// The refund page documents an unpaid order under 404
		// RESOURCE_NOT_EXISTS 订单号不存在 ("unpaid orders cannot be
		// refunded"), not as a business-rule 400.
		return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "订单号不存在", nil)
	case total != o.Total:
		return fieldError("订单金额与原订单不一致", "body", "/amount/total", fmt.Sprint(total), fmt.Sprintf("the order's total is %d", o.Total))
	case o.Refunded+refund > o.Total:
		return invalidRequest(fmt.Sprintf("申请退款金额超过订单可退金额（可退%d分）", o.Total-o.Refunded))
	}
	nu := str(r.body, "notify_url")
	if nu == "" {
		// Without a notify_url the service uses the address configured on the
		// merchant platform; the emulator's stand-in is the order's.
		nu = o.NotifyURL
	}
	rf := &Refund{MchID: mchID, SubMchID: sub, OutRefundNo: k.outRefundNo, OutTradeNo: o.OutTradeNo, TransactionID: o.TransactionID,
		order: o, Amount: refund, Status: RefundProcessing,
		Channel: "ORIGINAL", Account: "支付用户零钱", NotifyURL: nu, FundsAcct: str(r.body, "funds_account"), Created: e.now(), fp: fp}
	for rf.RefundID == "" || s.pay.refundByID[rf.RefundID] != nil {
		rf.RefundID = "5000" + e.randString(4, "0123456789") + e.nowCST().Format("20060102") + e.randString(13, "0123456789")
	}
	o.Refunded += refund
	s.pay.refunds[k] = rf
	s.pay.refundByID[rf.RefundID] = rf
	s.recordRefund(rf)
	return ok(e.refundView(rf))
}

// refundView renders a refund as its query and creation answer it.
func (e *Emulator) refundView(rf *Refund) map[string]any {
	o := rf.order
	v := map[string]any{
		"refund_id": rf.RefundID, "out_refund_no": rf.OutRefundNo, "transaction_id": o.TransactionID, "out_trade_no": o.OutTradeNo,
		"channel": rf.Channel, "user_received_account": rf.Account, "create_time": rfc3339(rf.Created), "status": rf.Status,
		"amount": map[string]any{"total": o.Total, "refund": rf.Amount, "payer_total": o.Total, "payer_refund": rf.Amount,
			"settlement_total": o.Total, "settlement_refund": rf.Amount, "discount_refund": 0, "currency": o.Currency},
	}
	if rf.FundsAcct != "" {
		v["funds_account"] = rf.FundsAcct
	}
	if rf.Status == RefundSuccess {
		v["success_time"] = rfc3339(rf.SuccessTime)
	}
	return v
}

// refundNotice renders a refund as its REFUND.* notification carries it.
func (e *Emulator) refundNotice(rf *Refund) map[string]any {
	o := rf.order
	n := map[string]any{
		"out_trade_no": o.OutTradeNo, "transaction_id": o.TransactionID, "out_refund_no": rf.OutRefundNo, "refund_id": rf.RefundID,
		"refund_status": rf.Status, "user_received_account": rf.Account,
		"amount": map[string]any{"total": o.Total, "refund": rf.Amount, "payer_total": o.Total, "payer_refund": rf.Amount},
	}
	if rf.SubMchID != "" {
		n["sp_mchid"], n["sub_mchid"] = rf.MchID, rf.SubMchID
	} else {
		n["mchid"] = rf.MchID
	}
	if rf.Status == RefundSuccess {
		n["success_time"] = rfc3339(rf.SuccessTime)
	}
	return n
}

// getRefund answers the refund query by out_refund_no.
func (e *Emulator) getRefund(r *request) answer {
	mchID, sub, bad := e.refundWho(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	rf := e.state.pay.refunds[refundKey{mchID, sub, r.params["out_refund_no"]}]
	if rf == nil {
		return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在", nil)
	}
	return ok(e.refundView(rf))
}

// applyAbnormalRefund sends an ABNORMAL refund again: to the user's bank card
// (which needs the bank, account and name) or to the merchant's bank card.
func (e *Emulator) applyAbnormalRefund(r *request) answer {
	mchID, sub, bad := e.refundWho(r)
	if bad != nil {
		return *bad
	}
	typ := str(r.body, "type")
	if typ == "USER_BANK_CARD" {
		for _, f := range []string{"bank_type", "bank_account", "real_name"} {
			if str(r.body, f) == "" {
				return paramError("body", "/"+f, "", "is required for a refund to the user's bank card")
			}
		}
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	rf := e.state.pay.refundByID[r.params["refund_id"]]
	switch {
	case rf == nil || rf.MchID != mchID || rf.SubMchID != sub:
		return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "退款单不存在", nil)
	case rf.OutRefundNo != str(r.body, "out_refund_no"):
		return invalidRequest("out_refund_no与refund_id不是同一笔退款")
	case rf.Status != RefundAbnormal:
		return invalidRequest("退款单状态不是ABNORMAL，不能发起异常退款")
	}
	rf.Status = RefundProcessing
	rf.Channel, rf.Account = "OTHER_BANKCARD", "商户银行账户"
	if typ == "USER_BANK_CARD" {
		rf.Account = str(r.body, "bank_type") + "银行卡"
	}
	return ok(e.refundView(rf))
}

// ErrRefund is wrapped by SettleRefund's errors.
var ErrRefund = errors.New("emulator: the refund cannot be settled")

// SettleRefund ends a PROCESSING refund of a merchant (the direct merchant, or
// the sub-merchant of a partner refund) as SUCCESS, ABNORMAL or CLOSED, and
// delivers the REFUND.* notification. result "" is SUCCESS.
func (e *Emulator) SettleRefund(mchID, outRefundNo, result string) (Refund, error) {
	if result == "" {
		result = RefundSuccess
	}
	event := map[string]string{RefundSuccess: "REFUND.SUCCESS", RefundAbnormal: "REFUND.ABNORMAL", RefundClosed: "REFUND.CLOSED"}[result]
	if event == "" {
		return Refund{}, fmt.Errorf("%w: result %q is not SUCCESS, ABNORMAL or CLOSED", ErrRefund, result)
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	var rf *Refund
	for k, x := range s.pay.refunds {
		if k.outRefundNo == outRefundNo && (k.subMchID == mchID || k.subMchID == "" && k.mchID == mchID) {
			rf = x
		}
	}
	switch {
	case rf == nil:
		return Refund{}, fmt.Errorf("%w: merchant %s has no refund %q", ErrRefund, mchID, outRefundNo)
	case rf.Status != RefundProcessing:
		return *rf, fmt.Errorf("%w: refund %s is %s", ErrRefund, outRefundNo, rf.Status)
	}
	rf.Status = result
	switch result {
	case RefundSuccess:
		rf.SuccessTime = e.now()
		rf.order.State = TradeRefund
	case RefundClosed:
		rf.order.Refunded -= rf.Amount // the money stays with the merchant: refundable again
	}
	e.deliver(rf.NotifyURL, event, e.refundNotice(rf))
	return *rf, nil
}

// Refunds returns the refunds of a merchant (all for ""), oldest first.
func (e *Emulator) Refunds(mchID string) []Refund {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	var out []Refund
	for _, rf := range e.state.pay.refunds {
		if mchID == "" || rf.MchID == mchID || rf.SubMchID == mchID {
			out = append(out, *rf)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Created.Before(out[j].Created) || out[i].Created.Equal(out[j].Created) && out[i].OutRefundNo < out[j].OutRefundNo
	})
	return out
}
