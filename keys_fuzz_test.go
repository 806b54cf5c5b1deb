package wxpay_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/wxpaykit/wxpay"
)

// FuzzLoadPEM: the loaders never panic and fail only with ErrInvalidKey.
func FuzzLoadPEM(f *testing.F) {
	k := keys()
	der, _ := x509.MarshalPKCS8PrivateKey(k.merchant)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.platform.PublicKey)}))
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.cert.Raw}))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, load := range []func([]byte) error{
			func(b []byte) error { _, err := wxpay.LoadPrivateKey(b); return err },
			func(b []byte) error { _, err := wxpay.LoadPublicKey(b); return err },
			func(b []byte) error { _, err := wxpay.LoadCertificate(b); return err },
		} {
			if err := load(b); err != nil && !errors.Is(err, wxpay.ErrInvalidKey) {
				t.Fatalf("untyped error: %v", err)
			}
		}
	})
}
