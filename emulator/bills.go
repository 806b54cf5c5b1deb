package emulator

import (
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/wxpaykit/wxpay"
)

// Bills are generated from the day's real state in the documented format: a
// header line, one line per payment or refund with every field behind a back
// tick, a summary header and a summary line, comma-separated, CRLF-terminated,
// amounts in yuan. A day's bills can be applied for once it has ended: from
// 09:00 the next day (China time), or at once after the control API ended it.
// The download URL is valid for 30 seconds; the file's answer is unsigned and
// its SHA-1 (of the uncompressed file) is the hash_value of the application.
//
// A sub-merchant's fund-flow bill is the same file, of that sub-merchant's
// flows, encrypted: one file (bill_sequence 1; the service splits only bills of
// about 16 GB), gzipped first when asked, then sealed with AES-256-GCM under a
// fresh random key and a 16-character nonce, empty associated data; the key is
// RSAES-OAEP encrypted with the public key of the certificate that signed the
// application. hash_value stays the SHA-1 of the original, uncompressed file.

// feeRate is the emulator's processing fee, 0.6 %, the common rate.
const (
	feePerMille = 6
	feeRateText = "0.60%"
)

// ledgerEntry is one payment or refund, in the order they happened.
type ledgerEntry struct {
	at     time.Time
	order  *Order
	refund *Refund // nil for a payment
}

// recordPayment and recordRefund keep the day's trades for its bills. The
// caller holds the lock.
func (s *state) recordPayment(o *Order) {
	s.pay.ledger = append(s.pay.ledger, ledgerEntry{at: o.SuccessTime, order: o})
}

func (s *state) recordRefund(rf *Refund) {
	s.pay.ledger = append(s.pay.ledger, ledgerEntry{at: rf.Created, order: rf.order, refund: rf})
}

// EndDay ends the business day date (YYYY-MM-DD, China time) so that its bills
// can be applied for at once, without waiting for 09:00 the next day.
func (e *Emulator) EndDay(date string) error {
	if _, err := time.ParseInLocation(time.DateOnly, date, cst); err != nil {
		return fmt.Errorf("emulator: bill date %q is not YYYY-MM-DD", date)
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	e.state.pay.closedDays[date] = true
	return nil
}

// download is a bill file handed out by a download URL.
type download struct {
	token   string
	mchID   string
	expires time.Time
	file    []byte // uncompressed
	gzip    bool
	// sealed is an encrypted bill as it is served (compressed before its
	// encryption when gzip); file is then nil.
	sealed []byte
}

// downloadLifetime: a download_url is valid for 30 seconds.
const downloadLifetime = 30 * time.Second

// billDay checks a bill_date: well-formed, within the last three months, and
// ended. The caller holds the lock.
func (e *Emulator) billDay(date string) (time.Time, *answer) {
	day, err := time.ParseInLocation(time.DateOnly, date, cst)
	fail := func(a answer) (time.Time, *answer) { return time.Time{}, &a }
	if err != nil {
		return fail(paramError("query", "bill_date", clip(date, 16), "must be a date, YYYY-MM-DD"))
	}
	now := e.nowCST()
	switch {
	case day.Before(now.AddDate(0, -3, 0)):
		return fail(invalidRequest("仅支持申请三个月内的账单"))
	case !e.state.pay.closedDays[date] && now.Before(day.AddDate(0, 0, 1).Add(9*time.Hour)):
		if day.After(now) {
			return fail(apiError(http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在", nil))
		}
		return fail(apiError(http.StatusBadRequest, "STATEMENT_CREATING", "账单生成中", nil))
	}
	return day, nil
}

// tradeBill answers GET /v3/bill/tradebill.
func (e *Emulator) tradeBill(r *request) answer {
	sub := r.query.Get("sub_mchid")
	billType := r.query.Get("bill_type")
	if billType == "" {
		billType = "ALL"
	}
	if billType != "ALL" && billType != "SUCCESS" && billType != "REFUND" {
		return paramError("query", "bill_type", billType, "the emulator makes ALL, SUCCESS and REFUND bills")
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub != "" {
		if sm := s.subMerchants[sub]; sm == nil || sm.MchID != r.mchID {
			return apiError(http.StatusForbidden, "NO_AUTH", "权限异常", nil)
		}
	}
	day, bad := e.billDay(r.query.Get("bill_date"))
	if bad != nil {
		return *bad
	}
	var rows []ledgerEntry
	for _, le := range s.pay.ledger {
		o := le.order
		if !sameDay(le.at, day) || o.MchID != r.mchID || sub != "" && o.SubMchID != sub {
			continue
		}
		if billType == "SUCCESS" && le.refund != nil || billType == "REFUND" && le.refund == nil {
			continue
		}
		rows = append(rows, le)
	}
	if len(rows) == 0 {
		return apiError(http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在", nil)
	}
	return e.billAnswer(r, tradeBillFile(billType, rows))
}

// fundFlowBill answers GET /v3/bill/fundflowbill: the flows of the caller's
// basic account (payments in, refunds and fees out).
func (e *Emulator) fundFlowBill(r *request) answer {
	acct := r.query.Get("account_type")
	if acct == "" {
		acct = "BASIC"
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	day, bad := e.billDay(r.query.Get("bill_date"))
	if bad != nil {
		return *bad
	}
	var rows []ledgerEntry
	for _, le := range s.pay.ledger {
		// A service provider's basic account takes no payment of its
		// sub-merchants: their money goes to the sub-merchant.
		if acct == "BASIC" && sameDay(le.at, day) && le.order.MchID == r.mchID && le.order.SubMchID == "" {
			rows = append(rows, le)
		}
	}
	if len(rows) == 0 {
		return apiError(http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在", nil)
	}
	return e.billAnswer(r, fundFlowFile(rows))
}

// billAnswer hands out a download URL for file. The caller holds the lock.
func (e *Emulator) billAnswer(r *request, file []byte) answer {
	sum := sha1.Sum(file)
	u := e.newDownload(r, &download{file: file, gzip: r.query.Get("tar_type") == "GZIP"})
	return ok(map[string]any{"hash_type": "SHA1", "hash_value": hex.EncodeToString(sum[:]), "download_url": u})
}

// newDownload stores d under a fresh token, valid for downloadLifetime, and
// returns its download URL. The caller holds the lock.
func (e *Emulator) newDownload(r *request, d *download) string {
	d.token, d.mchID, d.expires = e.randString(40, alnum), r.mchID, e.now().Add(downloadLifetime)
	e.state.pay.downloads[d.token] = d
	scheme := "http"
	if r.r.TLS != nil {
		scheme = "https"
	}
	u := scheme + "://" + r.r.Host + "/v3/billdownload/file?token=" + d.token
	if d.gzip {
		u += "&tartype=GZIP"
	}
	return u
}

// subMerchantFundFlowBill answers GET /v3/bill/sub-merchant-fundflowbill: the
// flows of a sub-merchant's basic account (its payments in, refunds and fees
// out), for the service provider that serves it, as encrypted files.
func (e *Emulator) subMerchantFundFlowBill(r *request) answer {
	sub := r.query.Get("sub_mchid")
	if alg := r.query.Get("algorithm"); alg != wxpay.AEADAlgorithm {
		return paramError("query", "algorithm", alg, "the emulator encrypts bills with AEAD_AES_256_GCM only")
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if sm := s.subMerchants[sub]; sm == nil || sm.MchID != r.mchID {
		return apiError(http.StatusForbidden, "NO_AUTH", "权限异常", nil)
	}
	day, bad := e.billDay(r.query.Get("bill_date"))
	if bad != nil {
		return *bad
	}
	var rows []ledgerEntry
	if r.query.Get("account_type") == "BASIC" { // the other accounts have no flows here
		for _, le := range s.pay.ledger {
			if sameDay(le.at, day) && le.order.MchID == r.mchID && le.order.SubMchID == sub {
				rows = append(rows, le)
			}
		}
	}
	if len(rows) == 0 {
		return apiError(http.StatusBadRequest, "NO_STATEMENT_EXIST", "账单文件不存在", nil)
	}
	return e.encryptedBillAnswer(r, fundFlowFile(rows))
}

// encryptedBillAnswer encrypts file for the merchant that applied and hands
// out its download URL, as a list of one file. The caller holds the lock.
func (e *Emulator) encryptedBillAnswer(r *request, file []byte) answer {
	gz := r.query.Get("tar_type") == "GZIP"
	plain := file
	if gz {
		plain = gzipped(file)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails
	var nb [8]byte
	_, _ = rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:]) // 16 characters, as the documented example
	block, err := aes.NewCipher(key)
	if err != nil {
		return systemError()
	}
	g, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if err != nil {
		return systemError()
	}
	encKey, err := wxpay.EncryptOAEP(nil, r.merchantPub, key)
	if err != nil {
		return systemError()
	}
	sum := sha1.Sum(file)
	u := e.newDownload(r, &download{gzip: gz, sealed: g.Seal(nil, []byte(nonce), plain, nil)})
	return ok(map[string]any{"download_bill_count": 1, "download_bill_list": []any{map[string]any{
		"bill_sequence": 1, "download_url": u, "encrypt_key": encKey, "hash_type": "SHA1",
		"hash_value": hex.EncodeToString(sum[:]), "nonce": nonce,
	}}})
}

func systemError() answer {
	return apiError(http.StatusInternalServerError, "SYSTEM_ERROR", "系统异常，请稍后重试", nil)
}

func gzipped(file []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(file) // a bytes.Buffer never fails
	_ = zw.Close()
	return buf.Bytes()
}

// billDownload answers GET /v3/billdownload/file with the file, unsigned.
func (e *Emulator) billDownload(r *request) answer {
	e.state.mu.Lock()
	d := e.state.pay.downloads[r.query.Get("token")]
	e.state.mu.Unlock()
	switch {
	case d == nil || !e.now().Before(d.expires):
		return invalidRequest("下载链接已过期或不存在，请重新申请账单")
	case d.mchID != r.mchID:
		return apiError(http.StatusForbidden, "NO_AUTH", "权限异常", nil)
	}
	switch {
	case d.sealed != nil:
		return answer{status: http.StatusOK, raw: d.sealed, contentType: "application/octet-stream"}
	case !d.gzip:
		return answer{status: http.StatusOK, raw: d.file, contentType: "text/plain;charset=utf-8"}
	}
	return answer{status: http.StatusOK, raw: gzipped(d.file), contentType: "application/x-gzip"}
}

func sameDay(t, day time.Time) bool {
	y1, m1, d1 := t.In(cst).Date()
	y2, m2, d2 := day.Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// yuan formats fen as yuan with two decimals.
func yuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// fee is the processing fee of an amount, rounded half up to the fen.
func fee(fen int64) int64 { return (fen*feePerMille + 500) / 1000 }

// billWriter writes the lines of a bill file.
type billWriter struct{ b bytes.Buffer }

func (w *billWriter) header(cols ...string) { w.b.WriteString(strings.Join(cols, ",") + "\r\n") }

func (w *billWriter) row(vals ...string) {
	for i, v := range vals {
		if i > 0 {
			w.b.WriteByte(',')
		}
		w.b.WriteByte('`')
		w.b.WriteString(strings.NewReplacer(",", "，", "\r", " ", "\n", " ").Replace(v))
	}
	w.b.WriteString("\r\n")
}

// tradeBillFile writes a trade bill: ALL, SUCCESS (payments) or REFUND.
func tradeBillFile(billType string, rows []ledgerEntry) []byte {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].at.Before(rows[j].at) })
	var w billWriter
	base := []string{"交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识", "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额"}
	switch billType {
	case "SUCCESS":
		w.header(append(base, "商品名称", "商户数据包", "手续费", "费率", "订单金额", "费率备注")...)
	case "REFUND":
		w.header(append(base, "退款申请时间", "退款成功时间", "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注")...)
	default:
		w.header(append(base, "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注")...)
	}
	var settled, refunded, fees, ordered, applied int64
	for _, le := range rows {
		o, rf := le.order, le.refund
		sub := o.SubMchID
		if sub == "" {
			sub = "0"
		}
		payer := o.OpenID
		if o.SubOpenID != "" {
			payer = o.SubOpenID
		}
		state, settle, f, rfAmt, rfID, rfNo, rfType, rfStatus := "SUCCESS", o.Total, fee(o.Total), int64(0), "0", "0", "", ""
		if rf != nil {
			state, settle, f, rfAmt = "REFUND", 0, -fee(rf.Amount), rf.Amount
			rfID, rfNo, rfType, rfStatus = rf.RefundID, rf.OutRefundNo, rf.Channel, rf.Status
		}
		settled += settle
		refunded += rfAmt
		fees += f
		applied += rfAmt
		if rf == nil {
			ordered += o.Total
		}
		when := le.at.In(cst).Format(time.DateTime)
		lead := []string{when, o.AppID, o.MchID, sub, o.DeviceID, o.TransactionID, o.OutTradeNo, payer, o.TradeType, state, "OTHERS", o.Currency, yuan(settle), "0.00"}
		orderAmt := o.Total
		if rf != nil {
			orderAmt = 0
		}
		switch billType {
		case "SUCCESS":
			w.row(append(lead, o.Description, o.Attach, yuan(f), feeRateText, yuan(orderAmt), "")...)
		case "REFUND":
			done := ""
			if rf.Status == RefundSuccess {
				done = rf.SuccessTime.In(cst).Format(time.DateTime)
			}
			w.row(append(lead, rf.Created.In(cst).Format(time.DateTime), done, rfID, rfNo, yuan(rfAmt), "0.00", rfType, rfStatus, o.Description, o.Attach, yuan(f), feeRateText, yuan(orderAmt), yuan(rfAmt), "")...)
		default:
			w.row(append(lead, rfID, rfNo, yuan(rfAmt), "0.00", rfType, rfStatus, o.Description, o.Attach, yuan(f), feeRateText, yuan(orderAmt), yuan(rfAmt), "")...)
		}
	}
	w.header("总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额")
	w.row(fmt.Sprint(len(rows)), yuan(settled), yuan(refunded), "0.00", yuan(fees), yuan(ordered), yuan(applied))
	return w.b.Bytes()
}

// fundFlowFile writes the basic account's flows: each payment in, its fee out,
// each refund out, with the running balance.
func fundFlowFile(rows []ledgerEntry) []byte {
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].at.Before(rows[j].at) })
	var w billWriter
	w.header("记账时间", "微信支付业务单号", "资金流水单号", "业务名称", "业务类型", "收支类型", "收支金额（元）", "账户结余（元）", "资金变更提交申请人", "备注", "业务凭证号")
	var balance, in, out int64
	var nIn, nOut int
	line := func(at time.Time, bizNo, name, typ string, amount int64, voucher string) {
		kind := "收入"
		if amount < 0 {
			kind, out, nOut = "支出", out-amount, nOut+1
		} else {
			in, nIn = in+amount, nIn+1
		}
		balance += amount
		flow := fmt.Sprintf("%s%04d", at.In(cst).Format("20060102150405"), nIn+nOut)
		w.row(at.In(cst).Format(time.DateTime), bizNo, flow, name, typ, kind, yuan(abs(amount)), yuan(balance), "system", "", voucher)
	}
	for _, le := range rows {
		o := le.order
		if le.refund == nil {
			line(le.at, o.TransactionID, "交易", "交易", o.Total, o.OutTradeNo)
			line(le.at, o.TransactionID, "扣除交易手续费", "扣除交易手续费", -fee(o.Total), o.OutTradeNo)
			continue
		}
		rf := le.refund
		line(le.at, rf.RefundID, "退款", "退款", -rf.Amount, rf.OutRefundNo)
		line(le.at, rf.RefundID, "退还交易手续费", "退还交易手续费", fee(rf.Amount), rf.OutRefundNo)
	}
	w.header("资金流水总笔数", "收入笔数", "收入金额", "支出笔数", "支出金额")
	w.row(fmt.Sprint(nIn+nOut), fmt.Sprint(nIn), yuan(in), fmt.Sprint(nOut), yuan(out))
	return w.b.Bytes()
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
