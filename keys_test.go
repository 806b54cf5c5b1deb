package wxpay_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wxpaykit/wxpay"
)

func pemOf(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func TestLoadKeys(t *testing.T) {
	t.Parallel()
	k := keys()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(k.merchant)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&k.platform.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ec8, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	short, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte{1}})

	privTests := []struct {
		name, want string
		in         []byte
	}{
		{"PKCS#8", "", pemOf("PRIVATE KEY", pkcs8)},
		{"PKCS#1", "", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k.merchant))},
		{"PKCS#8 with leading text", "", append([]byte("Bag Attributes\n"), pemOf("PRIVATE KEY", pkcs8)...)},
		{"empty", "found empty input", nil},
		{"not PEM", "found no PEM block", []byte("hello")},
		{"DER", "DER", pkcs8},
		{"a certificate", `found "CERTIFICATE"`, pemOf("CERTIFICATE", k.cert.Raw)},
		{"a public key", `found "PUBLIC KEY"`, pemOf("PUBLIC KEY", spki)},
		{"EC key", "expected an RSA key", pemOf("PRIVATE KEY", ec8)},
		{"short RSA", "RSA-1024 is too short", pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(short))},
		{"password-encrypted PKCS#1", "password-encrypted", encrypted},
		{"password-encrypted PKCS#8", "password-encrypted", pemOf("ENCRYPTED PRIVATE KEY", []byte{1})},
		{"garbage in block", "does not parse", pemOf("PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3})},
	}
	for _, tt := range privTests {
		t.Run("private/"+tt.name, func(t *testing.T) {
			got, err := wxpay.LoadPrivateKey(tt.in)
			checkLoad(t, err, tt.want)
			if tt.want == "" && !got.Equal(k.merchant) {
				t.Error("loaded a different key")
			}
		})
	}

	pubTests := []struct {
		name, want string
		in         []byte
	}{
		{"SPKI", "", pemOf("PUBLIC KEY", spki)},
		{"PKCS#1", "", pemOf("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&k.platform.PublicKey))},
		{"a certificate", "LoadCertificate", pemOf("CERTIFICATE", k.cert.Raw)},
		{"a private key", `found "PRIVATE KEY"`, pemOf("PRIVATE KEY", pkcs8)},
		{"EC key", "expected an RSA key", pemOf("PUBLIC KEY", ecPub)},
		{"empty", "empty input", []byte{}},
	}
	for _, tt := range pubTests {
		t.Run("public/"+tt.name, func(t *testing.T) {
			got, err := wxpay.LoadPublicKey(tt.in)
			checkLoad(t, err, tt.want)
			if tt.want == "" && !got.Equal(&k.platform.PublicKey) {
				t.Error("loaded a different key")
			}
		})
	}

	t.Run("certificate", func(t *testing.T) {
		c, err := wxpay.LoadCertificate(pemOf("CERTIFICATE", k.cert.Raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := wxpay.CertificateSerial(c); got != "5157F09EFDC0" {
			t.Errorf("serial = %s, want upper-case hex 5157F09EFDC0", got)
		}
		_, err = wxpay.LoadCertificate(pemOf("PUBLIC KEY", spki))
		checkLoad(t, err, `expected a PEM block CERTIFICATE, found "PUBLIC KEY"`)
		_, err = wxpay.LoadCertificate(pemOf("CERTIFICATE", []byte{0x30, 0}))
		checkLoad(t, err, "does not parse")
	})
}

func checkLoad(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if !errors.Is(err, wxpay.ErrInvalidKey) || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want ErrInvalidKey mentioning %q", err, want)
	}
}

func TestLoadKeyFiles(t *testing.T) {
	t.Parallel()
	k := keys()
	dir := t.TempDir()
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k.merchant)
	spki, _ := x509.MarshalPKIXPublicKey(&k.platform.PublicKey)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := wxpay.LoadPrivateKeyFile(write("apiclient_key.pem", pemOf("PRIVATE KEY", pkcs8))); err != nil {
		t.Error(err)
	}
	if _, err := wxpay.LoadPublicKeyFile(write("pub_key.pem", pemOf("PUBLIC KEY", spki))); err != nil {
		t.Error(err)
	}
	if _, err := wxpay.LoadCertificateFile(write("wechatpay.pem", pemOf("CERTIFICATE", k.cert.Raw))); err != nil {
		t.Error(err)
	}
	p := write("wrong.pem", pemOf("PUBLIC KEY", spki))
	if _, err := wxpay.LoadPrivateKeyFile(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("error %v should name the file", err)
	}
	if _, err := wxpay.LoadPrivateKeyFile(filepath.Join(dir, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	huge := write("huge.pem", make([]byte, 2<<20))
	if _, err := wxpay.LoadPublicKeyFile(huge); !errors.Is(err, wxpay.ErrInvalidKey) {
		t.Errorf("huge file: %v", err)
	}
}
