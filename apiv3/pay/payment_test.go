package pay_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/internal/testkeys"
)

// fixedSigner signs at a fixed time with a fixed random source: 64 bytes of
// value 10, which the nonce alphabet maps to "A".
func fixedSigner(key crypto.Signer) pay.PaymentSigner {
	return pay.PaymentSigner{Key: key,
		Now:  func() time.Time { return time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC) },
		Rand: bytes.NewReader(bytes.Repeat([]byte{10}, 64))}
}

const (
	appID    = "wxea9c30890f48d5ae"
	prepayID = "wx201410272009395522657a690389285100"
	stamp    = "1767261600" // 2026-01-01 10:00:00 UTC
)

var nonce = strings.Repeat("A", 32)

// signOver is the documented signature, computed independently of the package:
// SHA256 with RSA (PKCS #1 v1.5) over the lines, Base64.
func signOver(t *testing.T, key *rsa.PrivateKey, lines ...string) string {
	t.Helper()
	msg := strings.Join(lines, "\n") + "\n"
	d := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(sig)
}

// The JSAPI parameters: the exact JSON names of wx.requestPayment and
// WeixinJSBridge, in order, and paySign over appId, timeStamp, nonceStr and
// package, one per line.
func TestPaymentSignerJSAPI(t *testing.T) {
	t.Parallel()
	key := testkeys.Shared().Merchant
	p, err := fixedSigner(key).JSAPI(appID, prepayID)
	if err != nil {
		t.Fatal(err)
	}
	wantSign := signOver(t, key, appID, stamp, nonce, "prepay_id="+prepayID)
	got, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"appId":"` + appID + `","timeStamp":"` + stamp + `","nonceStr":"` + nonce + `","package":"prepay_id=` + prepayID + `","signType":"RSA","paySign":"` + wantSign + `"}`
	if string(got) != want {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
	if string(p.SignedMessage()) != appID+"\n"+stamp+"\n"+nonce+"\nprepay_id="+prepayID+"\n" {
		t.Errorf("signed message %q", p.SignedMessage())
	}
	if err := pay.VerifyPaySign(&key.PublicKey, p.SignedMessage(), p.PaySign); err != nil {
		t.Error(err)
	}
}

// The App parameters: the OpenSDK PayReq names, and sign over appid,
// timestamp, noncestr and prepayid (not package, not partnerid).
func TestPaymentSignerApp(t *testing.T) {
	t.Parallel()
	key := testkeys.Shared().Merchant
	p, err := fixedSigner(key).App(appID, "1900000001", prepayID)
	if err != nil {
		t.Fatal(err)
	}
	wantSign := signOver(t, key, appID, stamp, nonce, prepayID)
	got, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"appid":"` + appID + `","partnerid":"1900000001","prepayid":"` + prepayID + `","package":"Sign=WXPay","noncestr":"` + nonce + `","timestamp":"` + stamp + `","sign":"` + wantSign + `"}`
	if string(got) != want {
		t.Errorf("JSON:\n got %s\nwant %s", got, want)
	}
	if string(p.SignedMessage()) != appID+"\n"+stamp+"\n"+nonce+"\n"+prepayID+"\n" {
		t.Errorf("signed message %q", p.SignedMessage())
	}
}

// Without Now and Rand: the real clock and crypto/rand; two calls differ in
// their nonce, both verify.
func TestPaymentSignerDefaults(t *testing.T) {
	t.Parallel()
	key := testkeys.Shared().Merchant
	s := pay.PaymentSigner{Key: key}
	before := time.Now().Unix()
	a, err := s.JSAPI(appID, prepayID)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.JSAPI(appID, prepayID)
	if err != nil {
		t.Fatal(err)
	}
	if a.NonceStr == b.NonceStr || len(a.NonceStr) != 32 || strings.Trim(a.NonceStr, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
		t.Errorf("nonces %q %q", a.NonceStr, b.NonceStr)
	}
	if ts, err := strconv.ParseInt(a.TimeStamp, 10, 64); err != nil || ts < before || ts > time.Now().Unix() {
		t.Errorf("timeStamp %q, not Unix seconds of now", a.TimeStamp)
	}
	for _, p := range []*pay.JSAPIPayment{a, b} {
		if err := pay.VerifyPaySign(&key.PublicKey, p.SignedMessage(), p.PaySign); err != nil {
			t.Error(err)
		}
	}
}

type failingSigner struct{ crypto.Signer }

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("the KMS is unreachable")
}

// Every refusal wraps ErrPaymentParams; nothing panics.
func TestPaymentSignerErrors(t *testing.T) {
	t.Parallel()
	key := testkeys.Shared().Merchant
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"no key", func() error { _, err := pay.PaymentSigner{}.JSAPI(appID, prepayID); return err }},
		{"no AppID", func() error { _, err := fixedSigner(key).JSAPI("", prepayID); return err }},
		{"no prepay_id", func() error { _, err := fixedSigner(key).JSAPI(appID, ""); return err }},
		{"App without partnerid", func() error { _, err := fixedSigner(key).App(appID, "", prepayID); return err }},
		{"App without prepay_id", func() error { _, err := fixedSigner(key).App(appID, "1900000001", ""); return err }},
		{"not an RSA key", func() error { _, err := fixedSigner(ec).JSAPI(appID, prepayID); return err }},
		{"randomness runs out", func() error {
			s := fixedSigner(key)
			s.Rand = bytes.NewReader(make([]byte, 10))
			_, err := s.JSAPI(appID, prepayID)
			return err
		}},
		{"the signer fails", func() error { _, err := fixedSigner(failingSigner{key}).App(appID, "1900000001", prepayID); return err }},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, pay.ErrPaymentParams) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// VerifyPaySign refuses, with ErrPaySign, whatever is not the merchant's
// signature over exactly these lines.
func TestVerifyPaySign(t *testing.T) {
	t.Parallel()
	key := testkeys.Shared().Merchant
	p, err := fixedSigner(key).JSAPI(appID, prepayID)
	if err != nil {
		t.Fatal(err)
	}
	other := testkeys.Shared().Platform
	tamperedSig := []byte(p.PaySign)
	tamperedSig[10] ^= 1
	tests := []struct {
		name string
		pub  *rsa.PublicKey
		msg  []byte
		sig  string
	}{
		{"another key", &other.PublicKey, p.SignedMessage(), p.PaySign},
		{"no key", nil, p.SignedMessage(), p.PaySign},
		{"another package", &key.PublicKey, (&pay.JSAPIPayment{AppID: appID, TimeStamp: stamp, NonceStr: nonce, Package: "prepay_id=wx0"}).SignedMessage(), p.PaySign},
		{"without the last newline", &key.PublicKey, bytes.TrimSuffix(p.SignedMessage(), []byte("\n")), p.PaySign},
		{"a changed signature", &key.PublicKey, p.SignedMessage(), string(tamperedSig)},
		{"not Base64", &key.PublicKey, p.SignedMessage(), "%%%"},
		{"URL-safe Base64", &key.PublicKey, p.SignedMessage(), strings.NewReplacer("+", "-", "/", "_").Replace(p.PaySign) + "-_"},
		{"empty", &key.PublicKey, p.SignedMessage(), ""},
	}
	for _, tt := range tests {
		if err := pay.VerifyPaySign(tt.pub, tt.msg, tt.sig); !errors.Is(err, pay.ErrPaySign) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
