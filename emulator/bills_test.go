package emulator_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/bill"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// Trade bills are generated from the day's state: available once the day
// ended (09:00 the next day, or the control API's day-end), within three
// months, downloaded once within 30 s by the merchant that applied, unsigned,
// plain or gzip, matching their SHA-1.

const billDay = "2026-01-01" // wxpaytest.Start's day

func tradeBill(c *wxpay.Client, date string, typ bill.BillType, tar bill.TarType) (*bill.File, error) {
	f, _, err := c.V3.Bill.TradeBill.Get(context.Background(), &bill.GetTradeBillRequest{BillDate: date, BillType: typ, TarType: tar})
	return f, err
}

// fetch downloads a bill file as it is served, with the typed call.
func fetch(t *testing.T, c *wxpay.Client, f *bill.File) ([]byte, *wxpay.Response) {
	t.Helper()
	u, err := url.Parse(f.DownloadURL)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	resp, err := c.V3.BillDownload.File.Get(context.Background(), &bill.DownloadFileRequest{
		Token: u.Query().Get("token"), Tartype: bill.TarType(u.Query().Get("tartype"))}, &buf)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	return buf.Bytes(), resp
}

type parsedBill struct {
	header  []string
	rows    []bill.Record
	summary bill.Record
}

func parseBill(t *testing.T, file []byte) parsedBill {
	t.Helper()
	r := bill.NewReader(bytes.NewReader(file))
	var p parsedBill
	var err error
	if p.header, err = r.Header(); err != nil {
		t.Fatal(err)
	}
	for rec, err := range r.Records() {
		if err != nil {
			t.Fatalf("%v\n%s", err, file)
		}
		p.rows = append(p.rows, rec)
	}
	if p.summary, err = r.Summary(); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTradeBillAvailability(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	paidOrder(t, srv, c, "bd-order", 100)
	tests := []struct {
		date      string
		status    int
		code, msg string
	}{
		{billDay, 400, "STATEMENT_CREATING", "账单生成中"},          // today, not over
		{"2026-01-02", 400, "NO_STATEMENT_EXIST", "账单文件不存在"},   // tomorrow
		{"2025-12-30", 400, "NO_STATEMENT_EXIST", "账单文件不存在"},   // over, no trades (the demo trades are of 2025-12-31)
		{"2025-10-02", 400, "NO_STATEMENT_EXIST", "账单文件不存在"},   // within three months
		{"2025-09-30", 400, "INVALID_REQUEST", "仅支持申请三个月内的账单"}, // beyond
		{"2024-01-01", 400, "INVALID_REQUEST", "仅支持申请三个月内的账单"}, // far beyond
		{"2026-02-30", 400, "PARAM_ERROR", "参数错误"},             // well-formed, no such day
	}
	for _, tt := range tests {
		_, err := tradeBill(c, tt.date, "", "")
		apiErr(t, err, tt.status, tt.code, tt.msg)
	}
	_, err := tradeBill(c, billDay, "ALL_SPECIAL", "")
	apiErr(t, err, 400, "PARAM_ERROR", "参数错误")

	// Without the control API, the day's bills come at 09:00 the next day.
	srv.Clock().Advance(23*time.Hour - time.Second) // 2026-01-02 08:59:59
	_, err = tradeBill(c, billDay, "", "")
	apiErr(t, err, 400, "STATEMENT_CREATING", "账单生成中")
	srv.Clock().Advance(time.Second)
	if f, err := tradeBill(c, billDay, "", ""); err != nil || f.HashType != "SHA1" || len(f.HashValue) != 40 {
		t.Fatalf("at 09:00 the next day: %+v %v", f, err)
	}
	// With it, at once: today's bill holds today's trade only.
	paidOrder(t, srv, c, "bd-order-2", 200)
	_, err = tradeBill(c, "2026-01-02", "", "")
	apiErr(t, err, 400, "STATEMENT_CREATING", "账单生成中")
	day, err := srv.EndDay()
	if err != nil || day != "2026-01-02" {
		t.Fatalf("%q %v", day, err)
	}
	f, err := tradeBill(c, day, "", "")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := fetch(t, c, f)
	if p := parseBill(t, body); len(p.rows) != 1 || p.rows[0].Get("商户订单号") != "bd-order-2" {
		t.Errorf("%s", body)
	}
	if err := srv.Emulator.EndDay("2026/01/02"); err == nil {
		t.Error("EndDay took a malformed date")
	}
}

// billFixture: a day of trades, each its own minute. Amounts are chosen so that
// the 0.6 % fee rounds both ways (2599 → 15.594 → 16 fen; 250 → 1.5 → 2 fen).
type billFixture struct {
	txn map[string]string // out_trade_no → transaction_id
	rfn map[string]string // out_refund_no → refund_id
}

func dayOfTrades(t *testing.T, srv *wxpaytest.Server, c *wxpay.Client) billFixture {
	t.Helper()
	ctx := context.Background()
	fx := billFixture{txn: map[string]string{}, rfn: map[string]string{}}
	step := func() { srv.Clock().Advance(5 * time.Minute) }
	fx.txn["b-jsapi"] = paidOrder(t, srv, c, "b-jsapi", 1000).TransactionID // 10:00
	step()
	if _, _, err := c.V3.Pay.Transactions.Native.Post(ctx, nativeOrder("b-native", 2599)); err != nil {
		t.Fatal(err)
	}
	o, err := srv.Pay("b-native", "")
	if err != nil {
		t.Fatal(err)
	}
	fx.txn["b-native"] = o.TransactionID // 10:05
	step()
	tx, _, err := c.V3.Pay.Transactions.CodePay.Post(ctx, codePayOrder("b-code", "114567890123456789", 250))
	if err != nil {
		t.Fatal(err)
	}
	fx.txn["b-code"] = tx.TransactionID // 10:10
	step()
	if _, _, err := c.V3.Pay.Partner.Transactions.JSAPI.Post(ctx, partnerJSAPIOrder("b-partner", 800, pay.PartnerPayer{SubOpenID: emulator.DemoSubOpenID})); err != nil {
		t.Fatal(err)
	}
	if o, err = srv.Emulator.Pay(emulator.DemoSubMchID, "b-partner", ""); err != nil {
		t.Fatal(err)
	}
	fx.txn["b-partner"] = o.TransactionID // 10:15
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, jsapiOrder("b-unpaid", 700)); err != nil {
		t.Fatal(err)
	}
	step()
	r, _, err := c.V3.Refund.Domestic.Refunds.Post(ctx, refundReq("b-jsapi", "b-r1", 300, 1000))
	if err != nil {
		t.Fatal(err)
	}
	fx.rfn["b-r1"] = r.RefundID // 10:20, settled below
	step()
	if r, _, err = c.V3.Refund.Domestic.Refunds.Post(ctx, refundReq("b-native", "b-r2", 1000, 2599)); err != nil {
		t.Fatal(err)
	}
	fx.rfn["b-r2"] = r.RefundID // 10:25, still PROCESSING
	step()
	if _, err := srv.SettleRefund("b-r1", ""); err != nil { // 10:30
		t.Fatal(err)
	}
	// The next day's trade is not in this day's bill.
	srv.Clock().Advance(24 * time.Hour)
	paidOrder(t, srv, c, "b-next-day", 5000)
	if err := srv.Emulator.EndDay(billDay); err != nil {
		t.Fatal(err)
	}
	return fx
}

func TestTradeBillContents(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	fx := dayOfTrades(t, srv, c)
	base := []string{"交易时间", "公众账号ID", "商户号", "特约商户号", "设备号", "微信订单号", "商户订单号", "用户标识", "交易类型", "交易状态", "付款银行", "货币种类", "应结订单金额", "代金券金额"}
	sumCols := []string{"总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"}
	// One row: the columns that matter, by name.
	type row map[string]string
	pay := func(no, when, typ, payer, device, sub, settle, fee string) row {
		mch := emulator.DemoMchID
		return row{"交易时间": "2026-01-01 " + when, "商户号": mch, "特约商户号": sub, "设备号": device, "微信订单号": fx.txn[no], "商户订单号": no,
			"用户标识": payer, "交易类型": typ, "交易状态": "SUCCESS", "货币种类": "CNY", "应结订单金额": settle, "代金券金额": "0.00",
			"手续费": fee, "费率": "0.60%", "订单金额": settle}
	}
	refund := func(no, when, rfNo, status, amount, fee string) row {
		return row{"交易时间": "2026-01-01 " + when, "商户订单号": no, "微信订单号": fx.txn[no], "交易状态": "REFUND", "应结订单金额": "0.00",
			"微信退款单号": fx.rfn[rfNo], "商户退款单号": rfNo, "退款金额": amount, "退款类型": "ORIGINAL", "退款状态": status,
			"手续费": fee, "费率": "0.60%", "订单金额": "0.00", "申请退款金额": amount}
	}
	payments := []row{
		pay("b-jsapi", "10:00:00", "JSAPI", emulator.DemoOpenID, "", "0", "10.00", "0.06"),
		pay("b-native", "10:05:00", "NATIVE", emulator.DemoOpenID, "", "0", "25.99", "0.16"), // the payer: a user of the AppID
		pay("b-code", "10:10:00", "MICROPAY", emulator.DemoOpenID, "POS-013", "0", "2.50", "0.02"),
		pay("b-partner", "10:15:00", "JSAPI", emulator.DemoSubOpenID, "", emulator.DemoSubMchID, "8.00", "0.05"),
	}
	refunds := []row{
		refund("b-jsapi", "10:20:00", "b-r1", "SUCCESS", "3.00", "-0.02"),
		refund("b-native", "10:25:00", "b-r2", "PROCESSING", "10.00", "-0.06"),
	}
	tests := []struct {
		typ     bill.BillType
		columns []string
		rows    []row
		summary []string
	}{
		{bill.BillTypeAll, append(append([]string{}, base...), "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注"),
			append(append([]row{}, payments...), refunds...),
			// 4649 fen paid, 1300 refunded, fees 6+16+2+5 on payments, 2+6 given back.
			[]string{"6", "46.49", "13.00", "0.00", "0.21", "46.49", "13.00"}},
		{bill.BillTypeSuccess, append(append([]string{}, base...), "商品名称", "商户数据包", "手续费", "费率", "订单金额", "费率备注"),
			payments, []string{"4", "46.49", "0.00", "0.00", "0.29", "46.49", "0.00"}},
		{bill.BillTypeRefund, append(append([]string{}, base...), "退款申请时间", "退款成功时间", "微信退款单号", "商户退款单号", "退款金额", "充值券退款金额", "退款类型", "退款状态", "商品名称", "商户数据包", "手续费", "费率", "订单金额", "申请退款金额", "费率备注"),
			refunds, []string{"2", "0.00", "13.00", "0.00", "-0.08", "0.00", "13.00"}},
	}
	for _, tt := range tests {
		f, err := tradeBill(c, billDay, tt.typ, "")
		if err != nil {
			t.Fatalf("%s: %v", tt.typ, err)
		}
		file, _ := fetch(t, c, f)
		if !bytes.HasSuffix(file, []byte("\r\n")) || bytes.Count(file, []byte("\r\n")) != len(tt.rows)+3 {
			t.Errorf("%s: not %d CRLF lines:\n%s", tt.typ, len(tt.rows)+3, file)
		}
		p := parseBill(t, file)
		if strings.Join(p.header, ",") != strings.Join(tt.columns, ",") {
			t.Errorf("%s columns:\n got %v\nwant %v", tt.typ, p.header, tt.columns)
		}
		if len(p.rows) != len(tt.rows) {
			t.Fatalf("%s: %d rows, want %d:\n%s", tt.typ, len(p.rows), len(tt.rows), file)
		}
		for i, want := range tt.rows {
			for col, v := range want {
				if !contains(tt.columns, col) {
					continue
				}
				if got := p.rows[i].Get(col); got != v {
					t.Errorf("%s row %d %s = %q, want %q", tt.typ, i+1, col, got, v)
				}
			}
		}
		for i, col := range sumCols {
			if got := p.summary.Get(col); got != tt.summary[i] {
				t.Errorf("%s summary %s = %q, want %q", tt.typ, col, got, tt.summary[i])
			}
		}
		// The summary is the sum of its rows.
		var settled, fees int64
		for _, r := range p.rows {
			settled += fen(t, r.Get("应结订单金额"))
			fees += fen(t, r.Get("手续费"))
		}
		if yuanOf(settled) != p.summary.Get("应结订单总金额") || yuanOf(fees) != p.summary.Get("手续费总金额") {
			t.Errorf("%s: rows sum to %d settled, %d fees; summary %v", tt.typ, settled, fees, p.summary.Values)
		}
	}
	// The REFUND bill's times: applied, and succeeded (or not yet).
	f, _ := tradeBill(c, billDay, bill.BillTypeRefund, "")
	file, _ := fetch(t, c, f)
	p := parseBill(t, file)
	if p.rows[0].Get("退款申请时间") != "2026-01-01 10:20:00" || p.rows[0].Get("退款成功时间") != "2026-01-01 10:30:00" || p.rows[1].Get("退款成功时间") != "" {
		t.Errorf("refund times: %v / %v", p.rows[0].Values, p.rows[1].Values)
	}

	// A sub-merchant's bill, for its service provider; not for a stranger's.
	f, _, err := c.V3.Bill.TradeBill.Get(context.Background(), &bill.GetTradeBillRequest{BillDate: billDay, SubMchID: emulator.DemoSubMchID})
	if err != nil {
		t.Fatal(err)
	}
	file, _ = fetch(t, c, f)
	if p := parseBill(t, file); len(p.rows) != 1 || p.rows[0].Get("商户订单号") != "b-partner" || p.summary.Get("应结订单总金额") != "8.00" {
		t.Errorf("sub-merchant bill:\n%s", file)
	}
	_, _, err = c.V3.Bill.TradeBill.Get(context.Background(), &bill.GetTradeBillRequest{BillDate: billDay, SubMchID: "1900000999"})
	apiErr(t, err, 403, "NO_AUTH", "权限异常")

	// The fund-flow bill of the basic account: each direct payment in and its
	// fee out, each refund out and its fee back (the sub-merchant's payment
	// goes to the sub-merchant).
	ff, _, err := c.V3.Bill.FundFlowBill.Get(context.Background(), &bill.GetFundFlowBillRequest{BillDate: billDay})
	if err != nil {
		t.Fatal(err)
	}
	file, _ = fetch(t, c, &bill.File{HashType: ff.HashType, HashValue: ff.HashValue, DownloadURL: ff.DownloadURL})
	p = parseBill(t, file)
	// In: 1000+2599+250 and fees back 2+6; out: fees 6+16+2 and refunds 300+1000.
	if len(p.rows) != 10 || p.summary.Get("收入笔数") != "5" || p.summary.Get("收入金额") != "38.57" || p.summary.Get("支出笔数") != "5" || p.summary.Get("支出金额") != "13.24" {
		t.Errorf("fund flow: %d rows, summary %v\n%s", len(p.rows), p.summary.Values, file)
	}
	if last := p.rows[len(p.rows)-1].Get("账户结余（元）"); last != "25.33" {
		t.Errorf("final balance %s", last)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// fen reads a bill amount in yuan ("-0.06", "25.99").
func fen(t *testing.T, yuan string) int64 {
	t.Helper()
	neg := strings.HasPrefix(yuan, "-")
	var y, f int64
	if _, err := fmt.Sscanf(strings.TrimPrefix(yuan, "-"), "%d.%02d", &y, &f); err != nil {
		t.Fatalf("amount %q: %v", yuan, err)
	}
	if neg {
		return -(y*100 + f)
	}
	return y*100 + f
}

func yuanOf(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// The download: unsigned, plain or gzip, matching the SHA-1 of the application,
// valid 30 s, only for the merchant that applied.
func TestBillDownload(t *testing.T) {
	t.Parallel()
	const otherMchID, otherSerial = "1900000002", "6B3C2D9A0F1E4A5B8C7D6E5F4A3B2C1D0E9F8A7B"
	otherKey := testkeys.Generate()
	srv, c := newServer(t, wxpaytest.WithEmulatorOptions(emulator.WithMerchant(otherMchID, otherSerial, &otherKey.PublicKey)))
	other, err := srv.NewClient(wxpay.WithMerchant(otherMchID, otherSerial, otherKey), wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	paidOrder(t, srv, c, "dl-order", 1234)
	if _, err := srv.EndDay(); err != nil {
		t.Fatal(err)
	}

	plainFile, err := tradeBill(c, billDay, "", "")
	if err != nil {
		t.Fatal(err)
	}
	gzFile, err := tradeBill(c, billDay, "", bill.TarTypeGZIP)
	if err != nil {
		t.Fatal(err)
	}
	if plainFile.HashValue != gzFile.HashValue || plainFile.DownloadURL == gzFile.DownloadURL {
		t.Errorf("the same bill: %+v %+v", plainFile, gzFile)
	}
	for _, f := range []*bill.File{plainFile, gzFile} {
		if u, err := url.Parse(f.DownloadURL); err != nil || u.Scheme+"://"+u.Host != srv.URL || u.Path != "/v3/billdownload/file" || len(u.Query().Get("token")) != 40 {
			t.Errorf("download_url %q", f.DownloadURL)
		}
	}
	if !strings.HasSuffix(gzFile.DownloadURL, "&tartype=GZIP") {
		t.Errorf("gzip URL %q", gzFile.DownloadURL)
	}

	plain, resp := fetch(t, c, plainFile)
	for _, h := range []string{"Wechatpay-Signature", "Wechatpay-Serial", "Wechatpay-Timestamp", "Wechatpay-Nonce"} {
		if resp.Header.Get(h) != "" {
			t.Errorf("the download carries %s", h)
		}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	if sum := sha1.Sum(plain); hex.EncodeToString(sum[:]) != plainFile.HashValue {
		t.Errorf("SHA-1 %x, hash_value %s", sum, plainFile.HashValue)
	}
	zipped, resp := fetch(t, c, gzFile)
	if !bytes.HasPrefix(zipped, []byte{0x1f, 0x8b}) || resp.Header.Get("Content-Type") != "application/x-gzip" {
		t.Fatalf("not gzip: %q %x", resp.Header.Get("Content-Type"), zipped[:min(8, len(zipped))])
	}
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) {
		t.Errorf("gunzipped differs from the plain file: %v", err)
	}

	// Another merchant cannot use the token.
	_, err = other.Download(context.Background(), plainFile.DownloadURL, io.Discard)
	apiErr(t, err, 403, "NO_AUTH", "权限异常")

	// 30 seconds.
	f, _ := tradeBill(c, billDay, "", "")
	srv.Clock().Advance(29 * time.Second)
	fetch(t, c, f)
	f, _ = tradeBill(c, billDay, "", "")
	srv.Clock().Advance(30 * time.Second)
	_, err = c.Download(context.Background(), f.DownloadURL, io.Discard)
	apiErr(t, err, 400, "INVALID_REQUEST", "下载链接已过期或不存在，请重新申请账单")
	_, err = c.V3.BillDownload.File.Get(context.Background(), &bill.DownloadFileRequest{Token: "no-such-token"}, io.Discard)
	apiErr(t, err, 400, "INVALID_REQUEST", "下载链接已过期或不存在，请重新申请账单")
}
