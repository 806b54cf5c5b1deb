package wxpay_test

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
)

func certificatesBody(t *testing.T, key wxpay.APIv3Key, serial string, pemBytes []byte) string {
	t.Helper()
	ct, err := key.EncryptAEAD("0123456789ab", "certificate", pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"data": []any{map[string]any{
		"serial_no": serial, "effective_time": "2026-01-01T10:00:00+08:00", "expire_time": "2031-01-01T10:00:00+08:00",
		"encrypt_certificate": map[string]string{"algorithm": "AEAD_AES_256_GCM", "nonce": "0123456789ab", "associated_data": "certificate", "ciphertext": ct},
	}}})
	return string(b)
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
					certs[0].ExpireTime.Year() != 2031 {
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
