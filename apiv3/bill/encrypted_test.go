package bill_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/bill"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/core"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

var _ bill.EncryptedDownloader = (*wxpay.Client)(nil)

// subBillServer is an emulator whose demo sub-merchant was paid today, the
// day ended: its fund-flow bill can be applied for at once.
func subBillServer(t *testing.T) (*wxpaytest.Server, *wxpay.Client, string) {
	t.Helper()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	c := srv.Client()
	if _, _, err := c.V3.Pay.Partner.Transactions.Native.Post(context.Background(), &pay.PartnerPrepayNativeRequest{
		SPAppID: emulator.DemoAppID, SPMchID: emulator.DemoMchID, SubMchID: emulator.DemoSubMchID, Description: "子商户账单测试",
		OutTradeNo: "sub-bill-1", NotifyURL: "http://127.0.0.1:9/notify", Amount: pay.Amount{Total: 1234, Currency: "CNY"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Emulator.Pay(emulator.DemoSubMchID, "sub-bill-1", ""); err != nil {
		t.Fatal(err)
	}
	day, err := srv.EndDay()
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, day
}

func applySub(t *testing.T, c *wxpay.Client, day string, tar bill.TarType) *bill.EncryptedFileList {
	t.Helper()
	l, _, err := c.V3.Bill.SubMerchantFundFlowBill.Get(context.Background(), &bill.GetSubMerchantFundFlowBillRequest{SubMchID: emulator.DemoSubMchID,
		BillDate: day, AccountType: bill.SubMerchantAccountTypeBasic, Algorithm: bill.EncryptAlgorithmAeadAes256Gcm, TarType: tar})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// hasPayment reports whether a fund-flow bill holds the test's payment.
func hasPayment(t *testing.T, file []byte) bool {
	t.Helper()
	for rec, err := range bill.NewReader(bytes.NewReader(file)).Records() {
		if err != nil {
			t.Fatal(err)
		}
		if rec.Get("业务凭证号") == "sub-bill-1" && rec.Get("收支类型") == "收入" && rec.Get("收支金额（元）") == "12.34" {
			return true
		}
	}
	return false
}

func TestDownloadEncryptedFromEmulator(t *testing.T) {
	t.Parallel()
	_, c, day := subBillServer(t)
	ctx := context.Background()
	for _, tar := range []bill.TarType{"", bill.TarTypeGZIP} {
		l := applySub(t, c, day, tar)
		var buf bytes.Buffer
		n, err := bill.DownloadEncrypted(ctx, c, &l.DownloadBillList[0], &buf)
		if err != nil || n != int64(buf.Len()) {
			t.Fatalf("%q: %d %v", tar, n, err)
		}
		if sum := sha1.Sum(buf.Bytes()); hex.EncodeToString(sum[:]) != l.DownloadBillList[0].HashValue || !hasPayment(t, buf.Bytes()) {
			t.Errorf("%q: not the bill:\n%s", tar, buf.Bytes())
		}

		l = applySub(t, c, day, tar)
		var all bytes.Buffer
		if n, err := bill.DownloadEncryptedList(ctx, c, l, &all); err != nil || n != int64(all.Len()) || !bytes.Equal(all.Bytes(), buf.Bytes()) {
			t.Errorf("%q list: %d %v", tar, n, err)
		}

		dir := t.TempDir()
		path := filepath.Join(dir, "subfundflow.csv")
		if n, err := bill.WriteEncryptedList(ctx, c, applySub(t, c, day, tar), path); err != nil || n != int64(buf.Len()) {
			t.Fatalf("%q WriteEncryptedList: %d %v", tar, n, err)
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("%q: written file %v", tar, err)
		}
		onlyFiles(t, dir, "subfundflow.csv")
	}
}

// Hostile answers over HTTP: a file altered, cut short, emptied or replaced
// fails as ErrDecrypt (the tag), never as garbage written; WriteEncryptedList
// leaves nothing behind.
func TestDownloadEncryptedTampered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tamper func(b []byte) []byte
	}{
		{"a byte flipped", func(b []byte) []byte { b = bytes.Clone(b); b[len(b)/2] ^= 1; return b }},
		{"the tag flipped", func(b []byte) []byte { b = bytes.Clone(b); b[len(b)-1] ^= 0x80; return b }},
		{"cut by one byte", func(b []byte) []byte { return b[:len(b)-1] }},
		{"cut to less than a tag", func(b []byte) []byte { return b[:15] }},
		{"empty", func(b []byte) []byte { return nil }},
		{"a byte added", func(b []byte) []byte { return append(bytes.Clone(b), 0) }},
		{"plain text served", func(b []byte) []byte { return []byte("记账时间,微信支付业务单号\r\n") }},
	}
	srv, c, day := subBillServer(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			proxied := tamperingProxy(t, srv, tt.tamper)
			ctx := context.Background()
			var out bytes.Buffer
			if _, err := bill.DownloadEncrypted(ctx, proxied, &applySub(t, proxied, day, "").DownloadBillList[0], &out); !errors.Is(err, bill.ErrDecrypt) || out.Len() != 0 {
				t.Errorf("DownloadEncrypted: %v, %d bytes written", err, out.Len())
			}
			dir := t.TempDir()
			if _, err := bill.WriteEncryptedList(ctx, proxied, applySub(t, proxied, day, bill.TarTypeGZIP), filepath.Join(dir, "bill.csv")); !errors.Is(err, bill.ErrDecrypt) {
				t.Errorf("WriteEncryptedList: %v", err)
			}
			onlyFiles(t, dir)
		})
	}
	// Unproxied, the same server's files open.
	if _, err := bill.DownloadEncrypted(context.Background(), c, &applySub(t, c, day, "").DownloadBillList[0], io.Discard); err != nil {
		t.Error(err)
	}
}

// keyedClient is a client whose Decrypt answers a chosen key (or error).
type keyedClient struct {
	*wxpay.Client
	key string
	err error
}

func (k keyedClient) Decrypt(core.Encrypted) (core.Sensitive, error) {
	return core.Sensitive(k.key), k.err
}

// What the application carries is checked: the key, the nonce, the hash.
func TestDownloadEncryptedBadFields(t *testing.T) {
	t.Parallel()
	_, c, day := subBillServer(t)
	ctx := context.Background()
	fresh := func() bill.EncryptedFile { return applySub(t, c, day, "").DownloadBillList[0] }
	tests := []struct {
		name string
		d    bill.EncryptedDownloader
		edit func(f *bill.EncryptedFile)
		want []error
	}{
		{"encrypt_key not Base64", c, func(f *bill.EncryptedFile) { f.EncryptKey = "not Base64!" }, []error{bill.ErrDecrypt, wxpay.ErrDecrypt}},
		{"encrypt_key sealing another AES key", c, func(f *bill.EncryptedFile) {
			f.EncryptKey = core.Encrypted(must(wxpay.EncryptOAEP(nil, &wxpaytest.NewUnstartedServer().MerchantKey().PublicKey, make([]byte, 32)))) // the shared test key
		}, []error{bill.ErrDecrypt}},
		{"a Decrypter that fails", keyedClient{Client: c, err: errors.New("HSM offline")}, nil, []error{bill.ErrDecrypt}},
		{"another AES-256 key", keyedClient{Client: c, key: strings.Repeat("k", 32)}, nil, []error{bill.ErrDecrypt}},
		{"a 16-byte key (SM4)", keyedClient{Client: c, key: strings.Repeat("k", 16)}, nil, []error{bill.ErrDecrypt}},
		{"an empty key", keyedClient{Client: c}, nil, []error{bill.ErrDecrypt}},
		{"another nonce", c, func(f *bill.EncryptedFile) { f.Nonce = strings.Repeat("0", 16) }, []error{bill.ErrDecrypt}},
		{"a 12-byte nonce", c, func(f *bill.EncryptedFile) { f.Nonce = f.Nonce[:12] }, []error{bill.ErrDecrypt}},
		{"no nonce", c, func(f *bill.EncryptedFile) { f.Nonce = "" }, []error{bill.ErrDecrypt}},
		{"a huge nonce", c, func(f *bill.EncryptedFile) { f.Nonce = strings.Repeat("n", 1<<16) }, []error{bill.ErrDecrypt}},
		{"another hash", c, func(f *bill.EncryptedFile) { f.HashValue = strings.Repeat("0", 40) }, []error{bill.ErrHashMismatch}},
		{"MD5", c, func(f *bill.EncryptedFile) { f.HashType = "MD5" }, []error{core.ErrInvalidRequest}},
		{"no URL", c, func(f *bill.EncryptedFile) { f.DownloadURL = "" }, []error{core.ErrInvalidRequest}},
		{"another host", c, func(f *bill.EncryptedFile) {
			f.DownloadURL = strings.Replace(f.DownloadURL, "127.0.0.1", "localhost", 1)
		}, []error{core.ErrInvalidRequest}},
	}
	for _, tt := range tests {
		f := fresh()
		if tt.edit != nil {
			tt.edit(&f)
		}
		var out bytes.Buffer
		_, err := bill.DownloadEncrypted(ctx, tt.d, &f, &out)
		for _, want := range tt.want {
			if !errors.Is(err, want) {
				t.Errorf("%s: %v, want %v", tt.name, err, want)
			}
		}
		if out.Len() != 0 && !errors.Is(err, bill.ErrHashMismatch) {
			t.Errorf("%s: %d bytes written", tt.name, out.Len())
		}
	}
	if _, err := bill.DownloadEncrypted(ctx, c, nil, io.Discard); !errors.Is(err, core.ErrInvalidRequest) {
		t.Errorf("nil file: %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// memDownloader serves sealed files from memory and opens every key as key.
type memDownloader struct {
	files map[string][]byte
	key   []byte
	gets  int
}

func (m *memDownloader) Download(_ context.Context, u string, w io.Writer) (*core.Response, error) {
	m.gets++
	b, ok := m.files[u]
	if !ok {
		return nil, fmt.Errorf("no file %s", u)
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	return &core.Response{StatusCode: 200}, nil
}

func (m *memDownloader) Decrypt(core.Encrypted) (core.Sensitive, error) {
	return core.Sensitive(m.key), nil
}

// seal encrypts plain the way the service does: AES-256-GCM, the nonce's
// characters, no associated data.
func seal(key []byte, nonce string, plain []byte) []byte {
	block := must(aes.NewCipher(key))
	g := must(cipher.NewGCMWithNonceSize(block, len(nonce)))
	return g.Seal(nil, []byte(nonce), plain, nil)
}

func sha1Hex(p []byte) string { s := sha1.Sum(p); return hex.EncodeToString(s[:]) }

// A bill split in several files joins in bill_sequence order, whatever the
// order of the list; an incomplete list is refused before any download.
func TestDownloadEncryptedListParts(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	parts := [][]byte{[]byte("记账时间,业务名称\r\n`2026-01-01 10:00:00,`交易\r\n"), []byte("`2026-01-01 10:01:00,`交易\r\n"), []byte("资金流水总笔数\r\n`2\r\n")}
	m := &memDownloader{files: map[string][]byte{}, key: key}
	var list []bill.EncryptedFile
	for i, p := range parts {
		nonce := fmt.Sprintf("nonce-%010d", i)
		u := fmt.Sprintf("https://api.mch.weixin.qq.com/v3/billdownload/file?token=part%d", i+1)
		if i == 1 {
			m.files[u] = seal(key, nonce, gz(t, p)) // parts may come gzipped
		} else {
			m.files[u] = seal(key, nonce, p)
		}
		list = append(list, bill.EncryptedFile{BillSequence: int64(i + 1), DownloadURL: u, EncryptKey: "k", HashType: "SHA1", HashValue: sha1Hex(p), Nonce: nonce})
	}
	shuffled := &bill.EncryptedFileList{DownloadBillCount: 3, DownloadBillList: []bill.EncryptedFile{list[2], list[0], list[1]}}
	var out bytes.Buffer
	n, err := bill.DownloadEncryptedList(context.Background(), m, shuffled, &out)
	if want := bytes.Join(parts, nil); err != nil || n != int64(len(want)) || !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("%d %v\n%s", n, err, out.Bytes())
	}
	if shuffled.DownloadBillList[0].BillSequence != 3 {
		t.Error("the caller's list was reordered")
	}

	m.gets = 0
	for name, l := range map[string]*bill.EncryptedFileList{
		"nil":         nil,
		"empty":       {DownloadBillCount: 0},
		"count":       {DownloadBillCount: 2, DownloadBillList: list},
		"a gap":       {DownloadBillCount: 2, DownloadBillList: []bill.EncryptedFile{list[0], list[2]}},
		"a duplicate": {DownloadBillCount: 2, DownloadBillList: []bill.EncryptedFile{list[0], list[0]}},
		"from 0":      {DownloadBillCount: 1, DownloadBillList: []bill.EncryptedFile{{BillSequence: 0, DownloadURL: list[0].DownloadURL}}},
	} {
		if _, err := bill.DownloadEncryptedList(context.Background(), m, l, io.Discard); !errors.Is(err, core.ErrInvalidRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if m.gets != 0 {
		t.Errorf("%d downloads for refused lists", m.gets)
	}

	// A bad second file: the error names it, and WriteEncryptedList leaves
	// nothing behind.
	bad := *shuffled
	bad.DownloadBillList = []bill.EncryptedFile{list[0], list[1], list[2]}
	bad.DownloadBillList[1].HashValue = strings.Repeat("0", 40)
	dir := t.TempDir()
	if _, err := bill.WriteEncryptedList(context.Background(), m, &bad, filepath.Join(dir, "bill.csv")); !errors.Is(err, bill.ErrHashMismatch) || !strings.Contains(err.Error(), "file 2 of 3") {
		t.Errorf("%v", err)
	}
	onlyFiles(t, dir)
}

// The bounds: a ciphertext past its bound stops as it arrives; a sealed gzip
// bomb stops at the bound on the uncompressed bill.
func TestDownloadEncryptedBounds(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{9}, 32)
	const nonce = "a8607ef79034c49c"
	bill1 := []byte("记账时间\r\n")
	bomb := gz(t, make([]byte, 4<<20)) // 4 MiB of zeros in about 4 KiB
	m := &memDownloader{key: key, files: map[string][]byte{"u1": seal(key, nonce, bill1), "bomb": seal(key, nonce, bomb)}}
	f := &bill.EncryptedFile{BillSequence: 1, DownloadURL: "u1", EncryptKey: "k", HashType: "SHA1", HashValue: sha1Hex(bill1), Nonce: nonce}
	ctx := context.Background()
	if _, err := bill.DownloadEncryptedWithin(ctx, m, f, io.Discard, int64(len(m.files["u1"])), 1<<20); err != nil {
		t.Errorf("at the bound: %v", err)
	}
	if _, err := bill.DownloadEncryptedWithin(ctx, m, f, io.Discard, int64(len(m.files["u1"])-1), 1<<20); !errors.Is(err, bill.ErrTooLarge) {
		t.Errorf("past the bound: %v", err)
	}
	var out countingWriter
	f = &bill.EncryptedFile{BillSequence: 1, DownloadURL: "bomb", EncryptKey: "k", HashType: "SHA1", HashValue: strings.Repeat("0", 40), Nonce: nonce}
	if n, err := bill.DownloadEncryptedWithin(ctx, m, f, &out, 1<<20, 1<<20); !errors.Is(err, bill.ErrTooLarge) || n != 1<<20+1 {
		t.Errorf("bomb: %d %v", n, err)
	}
	l := &bill.EncryptedFileList{DownloadBillCount: 1, DownloadBillList: []bill.EncryptedFile{*f}}
	if _, err := bill.DownloadEncryptedListWithin(ctx, m, l, io.Discard, 1<<20, 1<<20); !errors.Is(err, bill.ErrTooLarge) {
		t.Errorf("bomb in a list: %v", err)
	}
	// An endless stream stops at the bound too.
	endless := endlessDownloader{key: key}
	f.DownloadURL = "endless"
	if _, err := bill.DownloadEncryptedWithin(ctx, endless, f, io.Discard, 1<<20, 1<<20); !errors.Is(err, bill.ErrTooLarge) {
		t.Errorf("endless: %v", err)
	}
}

// endlessDownloader writes until its writer refuses.
type endlessDownloader struct{ key []byte }

func (e endlessDownloader) Download(_ context.Context, _ string, w io.Writer) (*core.Response, error) {
	chunk := make([]byte, 32<<10)
	for {
		if _, err := w.Write(chunk); err != nil {
			return nil, err
		}
	}
}

func (e endlessDownloader) Decrypt(core.Encrypted) (core.Sensitive, error) {
	return core.Sensitive(e.key), nil
}

// FuzzDecryptBill: whatever the file, key, nonce or tampering, DownloadEncrypted
// never panics, fails only with its typed errors, and succeeds only with the
// original bill.
func FuzzDecryptBill(f *testing.F) {
	f.Add([]byte("记账时间,业务名称\r\n`交易\r\n"), false, uint16(0), uint16(0), "a8607ef79034c49c", uint8(32))
	f.Add([]byte("记账时间\r\n"), true, uint16(3), uint16(0), "a8607ef79034c49c", uint8(32))
	f.Add([]byte("x"), false, uint16(0), uint16(5), "123456789012", uint8(16))
	f.Add([]byte{0x1f, 0x8b, 8, 0}, false, uint16(0), uint16(0), "n", uint8(32))
	f.Fuzz(func(t *testing.T, plain []byte, zip bool, flip, cut uint16, nonce string, keyLen uint8) {
		body := plain
		if zip {
			body = gz(t, plain)
		}
		sealKey := bytes.Repeat([]byte{0x42}, 32)
		var sealed []byte
		if nonce != "" && len(nonce) <= 64 {
			sealed = seal(sealKey, nonce, body)
		} else {
			sealed = append([]byte(nil), body...)
		}
		tampered := false
		if flip > 0 && len(sealed) > 0 {
			sealed[int(flip)%len(sealed)] ^= 0x01
			tampered = true
		}
		if cut > 0 && int(cut) <= len(sealed) {
			sealed = sealed[:len(sealed)-int(cut)]
			tampered = true
		}
		key := bytes.Repeat([]byte{0x42}, int(keyLen))
		m := &memDownloader{key: key, files: map[string][]byte{"u": sealed}}
		file := &bill.EncryptedFile{BillSequence: 1, DownloadURL: "u", EncryptKey: "k", HashType: "SHA1", HashValue: sha1Hex(plain), Nonce: nonce}
		var out bytes.Buffer
		n, err := bill.DownloadEncryptedWithin(context.Background(), m, file, &out, 1<<20, 1<<20)
		if err == nil {
			if !bytes.Equal(out.Bytes(), plain) || n != int64(len(plain)) || tampered || keyLen != 32 {
				t.Fatalf("success with %d bytes (tampered %v, key %d)", n, tampered, keyLen)
			}
			return
		}
		if errors.Is(err, bill.ErrDecrypt) || errors.Is(err, bill.ErrHashMismatch) || errors.Is(err, bill.ErrTooLarge) {
			return
		}
		// Past the tag, only a plaintext that looks like gzip and is not
		// can fail otherwise (a gzip reading error).
		if !tampered && keyLen == 32 && !zip && bytes.HasPrefix(plain, []byte{0x1f, 0x8b}) && strings.HasPrefix(err.Error(), "bill: ") {
			return
		}
		t.Fatalf("untyped error: %v", err)
	})
}
