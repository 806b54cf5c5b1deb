package emulator_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/bill"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/apiv3/refunddomestic"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// A sub-merchant's fund-flow bill is its basic account's flows, for the
// service provider that serves it, under the rules of the other bills; the
// file is gzipped (when asked) and then encrypted with a fresh AES-256-GCM key
// that the answer carries, RSAES-OAEP encrypted for the certificate that
// signed the application.

func subFundFlowBill(c *wxpay.Client, sub, date string, acct bill.SubMerchantAccountType, tar bill.TarType) (*bill.EncryptedFileList, error) {
	l, _, err := c.V3.Bill.SubMerchantFundFlowBill.Get(context.Background(), &bill.GetSubMerchantFundFlowBillRequest{
		SubMchID: sub, BillDate: date, AccountType: acct, Algorithm: bill.EncryptAlgorithmAeadAes256Gcm, TarType: tar})
	return l, err
}

// openSealed downloads one encrypted file and opens it by hand: the key with
// the merchant's private key, the file with AES-256-GCM, the nonce's
// characters and empty associated data; then gunzips it when gz and checks its
// SHA-1 against hash_value.
func openSealed(t *testing.T, c *wxpay.Client, key *rsa.PrivateKey, f bill.EncryptedFile, gz bool) []byte {
	t.Helper()
	var sealed bytes.Buffer
	resp, err := c.Download(context.Background(), f.DownloadURL, &sealed)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" || resp.Header.Get("Wechatpay-Signature") != "" {
		t.Errorf("Content-Type %q, signed %v", ct, resp.Header.Get("Wechatpay-Signature") != "")
	}
	aesKey, err := wxpay.DecryptOAEP(key, string(f.EncryptKey))
	if err != nil || len(aesKey) != 32 {
		t.Fatalf("encrypt_key: %d bytes, %v", len(aesKey), err)
	}
	if len(f.Nonce) != 16 {
		t.Errorf("nonce %q: want 16 characters", f.Nonce)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCMWithNonceSize(block, len(f.Nonce))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := g.Open(nil, []byte(f.Nonce), sealed.Bytes(), nil)
	if err != nil {
		t.Fatalf("AES-GCM: %v", err)
	}
	if isGzip := bytes.HasPrefix(plain, []byte{0x1f, 0x8b}); isGzip != gz {
		t.Fatalf("gzip %v, want %v", isGzip, gz)
	}
	if gz {
		zr, err := gzip.NewReader(bytes.NewReader(plain))
		if err != nil {
			t.Fatal(err)
		}
		if plain, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	if sum := sha1.Sum(plain); f.HashType != "SHA1" || hex.EncodeToString(sum[:]) != f.HashValue {
		t.Errorf("%s %s, SHA-1 of the bill %x", f.HashType, f.HashValue, sum)
	}
	return plain
}

// oneFile checks the shape of a list of one file and returns it.
func oneFile(t *testing.T, srv *wxpaytest.Server, l *bill.EncryptedFileList, gz bool) bill.EncryptedFile {
	t.Helper()
	if l.DownloadBillCount != 1 || len(l.DownloadBillList) != 1 || l.DownloadBillList[0].BillSequence != 1 {
		t.Fatalf("%+v", l)
	}
	f := l.DownloadBillList[0]
	u, err := url.Parse(f.DownloadURL)
	if err != nil || u.Scheme+"://"+u.Host != srv.URL || u.Path != "/v3/billdownload/file" || len(u.Query().Get("token")) != 40 ||
		(u.Query().Get("tartype") == "GZIP") != gz {
		t.Errorf("download_url %q", f.DownloadURL)
	}
	return f
}

func TestSubMerchantFundFlowBill(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	key := srv.MerchantKey()
	partnerPaid := func(no string, total int64) {
		t.Helper()
		if _, _, err := c.V3.Pay.Partner.Transactions.JSAPI.Post(ctx, partnerJSAPIOrder(no, total, pay.PartnerPayer{SubOpenID: emulator.DemoSubOpenID})); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Emulator.Pay(emulator.DemoSubMchID, no, ""); err != nil {
			t.Fatal(err)
		}
	}
	partnerPaid("sf-sub-1", 800) // 10:00, fee 0.05
	srv.Clock().Advance(5 * time.Minute)
	partnerPaid("sf-sub-2", 1990) // 10:05, fee 11.94 → 0.12
	srv.Clock().Advance(5 * time.Minute)
	if _, _, err := c.V3.Refund.Domestic.Refunds.Post(ctx, &refunddomestic.CreateRefundRequest{SubMchID: emulator.DemoSubMchID,
		OutTradeNo: "sf-sub-1", OutRefundNo: "sf-sub-1-R", Amount: refunddomestic.RefundRequestAmount{Refund: 300, Total: 800, Currency: "CNY"}}); err != nil {
		t.Fatal(err) // 10:10, fee back 1.8 → 0.02
	}
	paidOrder(t, srv, c, "sf-direct", 500) // the provider's own: not the sub-merchant's

	_, err := subFundFlowBill(c, emulator.DemoSubMchID, billDay, bill.SubMerchantAccountTypeBasic, "")
	apiErr(t, err, 400, "STATEMENT_CREATING", "账单生成中")
	if _, err := srv.EndDay(); err != nil {
		t.Fatal(err)
	}

	l, err := subFundFlowBill(c, emulator.DemoSubMchID, billDay, bill.SubMerchantAccountTypeBasic, "")
	if err != nil {
		t.Fatal(err)
	}
	plainFile := oneFile(t, srv, l, false)
	file := openSealed(t, c, key, plainFile, false)
	p := parseBill(t, file)
	wantCols := "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额（元）,账户结余（元）,资金变更提交申请人,备注,业务凭证号"
	if strings.Join(p.header, ",") != wantCols {
		t.Errorf("columns %v", p.header)
	}
	var vouchers []string
	for _, r := range p.rows {
		vouchers = append(vouchers, r.Get("业务凭证号")+" "+r.Get("收支类型")+" "+r.Get("收支金额（元）"))
	}
	want := []string{"sf-sub-1 收入 8.00", "sf-sub-1 支出 0.05", "sf-sub-2 收入 19.90", "sf-sub-2 支出 0.12", "sf-sub-1-R 支出 3.00", "sf-sub-1-R 收入 0.02"}
	if strings.Join(vouchers, "|") != strings.Join(want, "|") {
		t.Errorf("rows:\n got %v\nwant %v", vouchers, want)
	}
	if p.summary.Get("资金流水总笔数") != "6" || p.summary.Get("收入笔数") != "3" || p.summary.Get("收入金额") != "27.92" ||
		p.summary.Get("支出笔数") != "3" || p.summary.Get("支出金额") != "3.17" {
		t.Errorf("summary %v", p.summary.Values)
	}
	if last := p.rows[len(p.rows)-1].Get("账户结余（元）"); last != "24.75" {
		t.Errorf("final balance %s", last)
	}

	// GZIP: compressed, then encrypted, under a fresh key and nonce; the hash
	// is still the original file's.
	l, err = subFundFlowBill(c, emulator.DemoSubMchID, billDay, bill.SubMerchantAccountTypeBasic, bill.TarTypeGZIP)
	if err != nil {
		t.Fatal(err)
	}
	gzFile := oneFile(t, srv, l, true)
	if unzipped := openSealed(t, c, key, gzFile, true); !bytes.Equal(unzipped, file) {
		t.Error("the gzipped bill differs from the plain one")
	}
	if gzFile.HashValue != plainFile.HashValue || gzFile.EncryptKey == plainFile.EncryptKey || gzFile.Nonce == plainFile.Nonce {
		t.Errorf("two applications: %+v %+v", plainFile, gzFile)
	}

	// The demo day: the demo sub-merchant's one payment.
	l, err = subFundFlowBill(c, emulator.DemoSubMchID, emulator.DemoBillDate, bill.SubMerchantAccountTypeBasic, "")
	if err != nil {
		t.Fatal(err)
	}
	if p := parseBill(t, openSealed(t, c, key, oneFile(t, srv, l, false), false)); len(p.rows) != 2 ||
		p.rows[0].Get("业务凭证号") != emulator.DemoPartnerOutTradeNo || p.rows[0].Get("收支金额（元）") != "29.90" {
		t.Errorf("demo day: %d rows %v", len(p.rows), p.rows)
	}

	// The rules of the other bills.
	if err := srv.Emulator.AddSubMerchant(emulator.SubMerchant{SubMchID: "1900000777", MchID: "1900000002"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sub, date string
		acct      bill.SubMerchantAccountType
		status    int
		code, msg string
	}{
		{emulator.DemoSubMchID, "2026-01-02", "BASIC", 400, "NO_STATEMENT_EXIST", "账单文件不存在"},   // tomorrow
		{emulator.DemoSubMchID, "2025-12-30", "BASIC", 400, "NO_STATEMENT_EXIST", "账单文件不存在"},   // over, no flows
		{emulator.DemoSubMchID, "2025-09-30", "BASIC", 400, "INVALID_REQUEST", "仅支持申请三个月内的账单"}, // beyond three months
		{emulator.DemoSubMchID, "2026-02-30", "BASIC", 400, "PARAM_ERROR", "参数错误"},
		{emulator.DemoSubMchID, billDay, "OPERATION", 400, "NO_STATEMENT_EXIST", "账单文件不存在"}, // no flows on that account
		{emulator.DemoSubMchID, billDay, "DEPOSIT", 400, "NO_STATEMENT_EXIST", "账单文件不存在"},
		{"1900000777", billDay, "BASIC", 403, "NO_AUTH", "权限异常"}, // another provider's
		{"1900000999", billDay, "BASIC", 403, "NO_AUTH", "权限异常"}, // nobody's
	}
	for _, tt := range tests {
		_, err := subFundFlowBill(c, tt.sub, tt.date, tt.acct, "")
		apiErr(t, err, tt.status, tt.code, tt.msg)
	}
	_, _, err = c.V3.Bill.SubMerchantFundFlowBill.Get(ctx, &bill.GetSubMerchantFundFlowBillRequest{SubMchID: emulator.DemoSubMchID,
		BillDate: billDay, AccountType: bill.SubMerchantAccountTypeBasic, Algorithm: bill.EncryptAlgorithmSm4Gcm})
	apiErr(t, err, 400, "PARAM_ERROR", "参数错误")
}

// The key is encrypted for the certificate that signed the application; the
// download is the applicant's only, for 30 seconds.
func TestSubMerchantFundFlowBillKey(t *testing.T) {
	t.Parallel()
	const otherMchID, otherSerial, secondSerial = "1900000002", "6B3C2D9A0F1E4A5B8C7D6E5F4A3B2C1D0E9F8A7B", "0F1E2D3C4B5A69788796A5B4C3D2E1F00F1E2D3C"
	second := testkeys.Generate()
	srv, c := newServer(t, wxpaytest.WithEmulatorOptions(
		emulator.WithMerchant(emulator.DemoMchID, secondSerial, &second.PublicKey),
		emulator.WithMerchant(otherMchID, otherSerial, &second.PublicKey)))
	viaSecond, err := srv.NewClient(wxpay.WithMerchant(emulator.DemoMchID, secondSerial, second), wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	other, err := srv.NewClient(wxpay.WithMerchant(otherMchID, otherSerial, second), wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	l, err := subFundFlowBill(viaSecond, emulator.DemoSubMchID, emulator.DemoBillDate, bill.SubMerchantAccountTypeBasic, "")
	if err != nil {
		t.Fatal(err)
	}
	f := oneFile(t, srv, l, false)
	if _, err := wxpay.DecryptOAEP(srv.MerchantKey(), string(f.EncryptKey)); err == nil {
		t.Error("the key opens with the other certificate's private key")
	}
	openSealed(t, viaSecond, second, f, false)

	// Another merchant cannot apply for it, nor use the URL.
	_, err = subFundFlowBill(other, emulator.DemoSubMchID, emulator.DemoBillDate, bill.SubMerchantAccountTypeBasic, "")
	apiErr(t, err, 403, "NO_AUTH", "权限异常")
	_, err = other.Download(context.Background(), f.DownloadURL, io.Discard)
	apiErr(t, err, 403, "NO_AUTH", "权限异常")
	// 30 seconds.
	l, err = subFundFlowBill(c, emulator.DemoSubMchID, emulator.DemoBillDate, bill.SubMerchantAccountTypeBasic, "")
	if err != nil {
		t.Fatal(err)
	}
	srv.Clock().Advance(30 * time.Second)
	_, err = c.Download(context.Background(), l.DownloadBillList[0].DownloadURL, io.Discard)
	apiErr(t, err, 400, "INVALID_REQUEST", "下载链接已过期或不存在，请重新申请账单")
}
