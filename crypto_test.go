package wxpay_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wxpaykit/wxpay"
)

// The vector from the protocol notes (§9.4), computed independently with Python's
// cryptography package.
const (
	vecKey        = "abcdefghijklmnopqrstuvwxyz012345"
	vecNonce      = "j9g1wAzF9Xn1"
	vecAAD        = "user_card"
	vecPlaintext  = `{"card_id":"pbLatjvWOibDc5-TBnbUk1pD12o0","openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","user_card_code":"478515832665"}`
	vecCiphertext = "vX8iabSldiM1QucS9ciAtCNbROZk+IuZiDWNIYQfgIqGj6WfNXxvgZ5qciNrvTG5qQhm7eu8rDpfSjWPRS7kWETBzCwKf2Hl0vPLf7pVohscp+dSFBHxppu0uF0HpEVsZXiFd8Kgx2Hkgg67CfVSLx2ALtagZSDLcak+Qpu5zJYGwg=="
)

func TestAEADVector(t *testing.T) {
	t.Parallel()
	key, err := wxpay.ParseAPIv3Key(vecKey)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := key.DecryptAEAD(vecNonce, vecAAD, vecCiphertext)
	if err != nil || string(pt) != vecPlaintext {
		t.Fatalf("DecryptAEAD = %s, %v", pt, err)
	}
	ct, err := key.EncryptAEAD(vecNonce, vecAAD, []byte(vecPlaintext))
	if err != nil || ct != vecCiphertext {
		t.Fatalf("EncryptAEAD = %s, %v", ct, err)
	}
	wrongKey, _ := wxpay.ParseAPIv3Key(strings.Repeat("k", 32))
	tests := []struct {
		name              string
		key               wxpay.APIv3Key
		nonce, aad, ctext string
	}{
		{"wrong key", wrongKey, vecNonce, vecAAD, vecCiphertext},
		{"wrong aad", key, vecNonce, "certificate", vecCiphertext},
		{"wrong nonce", key, "j9g1wAzF9Xn2", vecAAD, vecCiphertext},
		{"short nonce", key, "abc", vecAAD, vecCiphertext},
		{"not base64", key, vecNonce, vecAAD, "%%%"},
		{"shorter than tag", key, vecNonce, vecAAD, "AAAA"},
		{"flipped byte", key, vecNonce, vecAAD, "w" + vecCiphertext[1:]},
		{"no key", wxpay.APIv3Key{}, vecNonce, vecAAD, vecCiphertext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := tt.key.DecryptAEAD(tt.nonce, tt.aad, tt.ctext)
			if !errors.Is(err, wxpay.ErrDecrypt) || pt != nil {
				t.Errorf("DecryptAEAD = %q, %v; want ErrDecrypt", pt, err)
			}
		})
	}
}

func TestAPIv3KeyNeverPrints(t *testing.T) {
	t.Parallel()
	if _, err := wxpay.ParseAPIv3Key("short"); !errors.Is(err, wxpay.ErrInvalidKey) || !strings.Contains(err.Error(), "32 bytes") {
		t.Errorf("err = %v", err)
	}
	k, _ := wxpay.ParseAPIv3Key(vecKey)
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%+v %#v %s %x", k, k, k, k), fmt.Sprintf("%v", struct{ K wxpay.APIv3Key }{k})} {
		if strings.Contains(s, "abcdefgh") || strings.Contains(s, "6162636465") {
			t.Errorf("key printed: %s", s)
		}
	}
}

func TestOAEPRoundTrip(t *testing.T) {
	t.Parallel()
	k := keys()
	for _, pt := range []string{"", "张三", strings.Repeat("a", wxpay.MaxOAEPPlaintext)} {
		ct, err := wxpay.EncryptOAEP(nil, &k.platform.PublicKey, []byte(pt))
		if err != nil {
			t.Fatalf("%q: %v", pt, err)
		}
		got, err := wxpay.DecryptOAEP(k.platform, ct)
		if err != nil || string(got) != pt {
			t.Errorf("round trip of %d bytes: %q, %v", len(pt), got, err)
		}
	}
	if _, err := wxpay.EncryptOAEP(nil, &k.platform.PublicKey, make([]byte, wxpay.MaxOAEPPlaintext+1)); !errors.Is(err, wxpay.ErrEncrypt) {
		t.Errorf("oversized plaintext: %v", err)
	}
	if _, err := wxpay.EncryptOAEP(nil, nil, []byte("x")); !errors.Is(err, wxpay.ErrEncrypt) {
		t.Errorf("nil key: %v", err)
	}
	if _, err := wxpay.DecryptOAEP(nil, "AAAA"); !errors.Is(err, wxpay.ErrDecrypt) {
		t.Errorf("nil key: %v", err)
	}
}
