package wxpay_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
)

// certEntry is one entry of a /v3/certificates answer built by a test.
type certEntry struct {
	serial            string
	pem               []byte // encrypted as it is
	effective, expire time.Time
	tamper            bool // flip a bit of the ciphertext
}

// entryFor describes cert under its own serial and validity.
func entryFor(cert *x509.Certificate) certEntry {
	return certEntry{serial: wxpay.CertificateSerial(cert), pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		effective: cert.NotBefore, expire: cert.NotAfter}
}

func certificatesBodyOf(t *testing.T, key wxpay.APIv3Key, entries ...certEntry) string {
	t.Helper()
	data := []any{}
	for _, e := range entries {
		ct, err := key.EncryptAEAD("0123456789ab", "certificate", e.pem)
		if err != nil {
			t.Fatal(err)
		}
		if e.tamper {
			raw, _ := base64.StdEncoding.DecodeString(ct)
			raw[len(raw)/2] ^= 1
			ct = base64.StdEncoding.EncodeToString(raw)
		}
		data = append(data, map[string]any{
			"serial_no": e.serial, "effective_time": e.effective.Format(time.RFC3339), "expire_time": e.expire.Format(time.RFC3339),
			"encrypt_certificate": map[string]string{"algorithm": "AEAD_AES_256_GCM", "nonce": "0123456789ab", "associated_data": "certificate", "ciphertext": ct},
		})
	}
	b, _ := json.Marshal(map[string]any{"data": data})
	return string(b)
}

// certificatesBody lists one certificate, in PEM, under serial.
func certificatesBody(t *testing.T, key wxpay.APIv3Key, serial string, pemBytes []byte) string {
	t.Helper()
	cert, err := wxpay.LoadCertificate(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	e := entryFor(cert)
	e.serial = serial
	return certificatesBodyOf(t, key, e)
}

func TestDownloadCertificates(t *testing.T) {
	t.Parallel()
	k := keys()
	apiKey, _ := wxpay.ParseAPIv3Key(vecKey)
	otherKey, _ := wxpay.ParseAPIv3Key("0123456789abcdef0123456789abcdef")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.cert.Raw})
	signBy := func(key *rsa.PrivateKey, serial string) func(http.Header, []byte) {
		return func(h http.Header, b []byte) { signResponse(h, b, key, serial, time.Now()) }
	}
	tests := []struct {
		name  string
		rp    reply
		key   wxpay.APIv3Key
		want  error
		check func(t *testing.T, certs []wxpay.PlatformCertificate)
	}{
		{name: "bootstrap: verified with the downloaded certificate", key: apiKey,
			rp: reply{body: certificatesBody(t, apiKey, k.certSerial, certPEM), sign: signBy(k.platform, k.certSerial)},
			check: func(t *testing.T, certs []wxpay.PlatformCertificate) {
				if len(certs) != 1 || certs[0].Serial != k.certSerial || !certs[0].Certificate.Equal(k.cert) || string(certs[0].PEM) != string(certPEM) ||
					!certs[0].ExpireTime.Equal(k.cert.NotAfter) {
					t.Errorf("certs = %+v", certs)
				}
			}},
		{name: "signed by another key", key: apiKey, want: wxpay.ErrSignatureMismatch,
			rp: reply{body: certificatesBody(t, apiKey, k.certSerial, certPEM), sign: signBy(k.other, k.certSerial)}},
		{name: "signed by a serial that was not downloaded", key: apiKey, want: wxpay.ErrUnknownSerial,
			rp: reply{body: certificatesBody(t, apiKey, k.certSerial, certPEM), sign: signBy(k.platform, "ABCDEF")}},
		{name: "wrong APIv3 key", key: otherKey, want: wxpay.ErrDecrypt,
			rp: reply{body: certificatesBody(t, apiKey, k.certSerial, certPEM), sign: signBy(k.platform, k.certSerial)}},
		{name: "entry serial differs from the certificate", key: apiKey, want: wxpay.ErrBadCertificate,
			rp: reply{body: certificatesBody(t, apiKey, "0123", certPEM), sign: signBy(k.platform, "0123")}},
		{name: "public-key-only merchant", key: apiKey,
			rp: reply{status: 404, body: `{"code":"RESOURCE_NOT_EXISTS","message":"无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, func(r seenRequest) reply {
				if r.Target != testPrefix+"/v3/certificates" || !r.SignatureOK {
					return reply{status: 400, body: `{"code":"PARAM_ERROR","message":"x"}`}
				}
				return tt.rp
			})
			certs, err := wxpay.DownloadCertificates(context.Background(), tt.key,
				wxpay.WithMerchant(testMchID, testSerial, k.merchant), wxpay.WithBaseURL(ts.URL+testPrefix))
			switch {
			case tt.check != nil:
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, certs)
			case tt.want != nil:
				if !errors.Is(err, tt.want) {
					t.Errorf("err = %v, want %v", err, tt.want)
				}
			default:
				var ae *wxpay.APIError
				if !errors.As(err, &ae) || ae.Code != "RESOURCE_NOT_EXISTS" {
					t.Errorf("err = %v", err)
				}
			}
		})
	}
	if _, err := wxpay.DownloadCertificates(context.Background(), wxpay.APIv3Key{}); !errors.Is(err, wxpay.ErrInvalidConfig) {
		t.Errorf("no key: %v", err)
	}
}
