package notify_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/notify"
)

// FuzzParse feeds arbitrary bodies and header values: Parse never panics, and it
// either accepts or fails with one of the documented sentinels.
func FuzzParse(f *testing.F) {
	m := activate.message(f)
	f.Add(m.body, m.header.Get("Wechatpay-Timestamp"), m.header.Get("Wechatpay-Nonce"), m.header.Get("Wechatpay-Signature"), m.header.Get("Wechatpay-Serial"))
	f.Add([]byte(`{"id":"1","resource_type":"encrypt-resource","resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"x"}}`), "1", "n", "WECHATPAY/SIGNTEST/x", "PUB_KEY_ID_0114232134912410000000000000")
	f.Add([]byte{}, "", "", "", "")
	p := newParser(f)
	sentinels := []error{wxpay.ErrMissingSignature, wxpay.ErrSignatureMismatch, wxpay.ErrClockSkew, wxpay.ErrUnknownSerial,
		wxpay.ErrDecrypt, notify.ErrInvalid, notify.ErrReplayed, notify.ErrStore, notify.ErrTooLarge}
	f.Fuzz(func(t *testing.T, body []byte, ts, nonce, sig, serial string) {
		h := http.Header{}
		h.Set("Wechatpay-Timestamp", ts)
		h.Set("Wechatpay-Nonce", nonce)
		h.Set("Wechatpay-Signature", sig)
		h.Set("Wechatpay-Serial", serial)
		n, err := p.Parse(h, body)
		if err == nil {
			if n == nil || n.ID == "" {
				t.Fatalf("accepted without an id: %v", n)
			}
			return
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("untyped error: %v", err)
	})
}
