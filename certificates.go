package wxpay

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"time"
)

// PlatformCertificate is one certificate from GET /v3/certificates.
type PlatformCertificate struct {
	Serial        string
	EffectiveTime time.Time
	ExpireTime    time.Time
	Certificate   *x509.Certificate
	PEM           []byte
}

// DownloadCertificates fetches the platform certificates (平台证书) of a
// merchant in certificate mode: GET /v3/certificates, then each
// encrypt_certificate is decrypted with the APIv3 key, parsed, and checked
// against its serial_no; finally the response itself is verified with the
// downloaded certificate named by Wechatpay-Serial (or with a key already
// configured through the options). It takes the same options as NewClient, but
// needs no WeChat Pay key: this is how the first certificate is obtained.
//
// Merchants in public-key mode get a 404 RESOURCE_NOT_EXISTS *APIError.
func DownloadCertificates(ctx context.Context, apiV3Key APIv3Key, opts ...Option) ([]PlatformCertificate, error) {
	if apiV3Key.IsZero() {
		return nil, fmt.Errorf("%w: the APIv3 key is needed to decrypt the certificates", ErrInvalidConfig)
	}
	s, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	c, err := newClient(s, false)
	if err != nil {
		return nil, err
	}
	var certs []PlatformCertificate
	cl := &call{method: http.MethodGet, path: "/v3/certificates", idempotent: true,
		verify: func(resp *Response) error {
			var err error
			certs, err = decodeCertificates(resp, apiV3Key)
			if err != nil {
				return err
			}
			v := &Verifier{keys: map[string]*platformKey{}, skew: c.verifier.skew, now: c.verifier.now}
			for id, k := range c.verifier.keys {
				v.keys[id] = k
			}
			for _, pc := range certs {
				if _, known := v.keys[pc.Serial]; !known {
					v.keys[pc.Serial] = &platformKey{id: pc.Serial, pub: pc.Certificate.PublicKey.(*rsa.PublicKey), cert: pc.Certificate}
				}
			}
			return v.Verify(resp.Header, resp.Body)
		}}
	if _, err := c.do(ctx, cl); err != nil {
		return nil, err
	}
	return certs, nil
}

func decodeCertificates(resp *Response, key APIv3Key) ([]PlatformCertificate, error) {
	var body struct {
		Data []struct {
			SerialNo      string    `json:"serial_no"`
			EffectiveTime time.Time `json:"effective_time"`
			ExpireTime    time.Time `json:"expire_time"`
			Encrypted     struct {
				Algorithm      string `json:"algorithm"`
				Nonce          string `json:"nonce"`
				AssociatedData string `json:"associated_data"`
				Ciphertext     string `json:"ciphertext"`
			} `json:"encrypt_certificate"`
		} `json:"data"`
	}
	if err := resp.Decode(&body); err != nil {
		return nil, err
	}
	out := make([]PlatformCertificate, 0, len(body.Data))
	for _, d := range body.Data {
		if d.Encrypted.Algorithm != AEADAlgorithm {
			return nil, fmt.Errorf("%w: %s: algorithm %q", ErrBadCertificate, d.SerialNo, d.Encrypted.Algorithm)
		}
		pt, err := key.DecryptAEAD(d.Encrypted.Nonce, d.Encrypted.AssociatedData, d.Encrypted.Ciphertext)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", d.SerialNo, err)
		}
		cert, err := LoadCertificate(pt)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrBadCertificate, d.SerialNo, err)
		}
		if serial := CertificateSerial(cert); serial != d.SerialNo {
			return nil, fmt.Errorf("%w: entry %s holds certificate %s", ErrBadCertificate, d.SerialNo, serial)
		}
		block, _ := pem.Decode(pt)
		out = append(out, PlatformCertificate{Serial: d.SerialNo, EffectiveTime: d.EffectiveTime, ExpireTime: d.ExpireTime,
			Certificate: cert, PEM: pem.EncodeToMemory(block)})
	}
	return out, nil
}
