package wxpay

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// certificatesPath is the platform certificates API (protocol §12).
const certificatesPath = "/v3/certificates"

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
// (decodeCertificates: its serial, an RSA-2048 key, effective_time and
// expire_time within the certificate's own validity); finally the response
// itself is verified with the downloaded certificate named by Wechatpay-Serial
// (or with a key already configured through the options). It takes the same
// options as NewClient, but needs no WeChat Pay key: this is how the first
// certificate is obtained, and trusting it is the operator's decision (trust on
// first use). Certificates that have expired by the client's clock are left
// out; WithCertificateRenewal is ignored here.
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
	cl := &call{method: http.MethodGet, path: certificatesPath, idempotent: true,
		verify: func(resp *Response) error {
			var err error
			var expired []string
			certs, expired, err = decodeCertificates(resp, apiV3Key, c.now())
			if err != nil {
				return err
			}
			if len(certs) == 0 && len(expired) > 0 {
				return fmt.Errorf("%w: every certificate has expired (%s)", ErrBadCertificate, strings.Join(expired, ", "))
			}
			keys := certificateKeys(certs)
			for id, k := range c.verifier.set.Load().keys {
				keys[id] = k // a configured key wins over a downloaded one
			}
			return c.verifier.check(newKeySet(keys, ""), resp.Header, resp.Body)
		}}
	if _, err := c.do(ctx, cl); err != nil {
		return nil, err
	}
	return certs, nil
}

// decodeCertificates decrypts and checks the certificates of a
// /v3/certificates answer. Anything that cannot come from WeChat Pay refuses
// the whole answer with ErrBadCertificate or ErrDecrypt: an unknown
// algorithm, a ciphertext that does not open, a certificate that does not
// parse or holds no RSA-2048 key, a serial_no that is not the certificate's
// serial, a serial listed twice, an effective_time or expire_time outside the
// certificate's own validity. A certificate expired at now is only left out,
// its serial returned in expired: it is stale, not forged.
func decodeCertificates(resp *Response, key APIv3Key, now time.Time) (certs []PlatformCertificate, expired []string, err error) {
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
		return nil, nil, err
	}
	seen := make(map[string]bool, len(body.Data))
	certs = make([]PlatformCertificate, 0, len(body.Data))
	for _, d := range body.Data {
		serial := clipHeader(d.SerialNo)
		if d.Encrypted.Algorithm != AEADAlgorithm {
			return nil, nil, fmt.Errorf("%w: %s: algorithm %q", ErrBadCertificate, serial, clipHeader(d.Encrypted.Algorithm))
		}
		pt, err := key.DecryptAEAD(d.Encrypted.Nonce, d.Encrypted.AssociatedData, d.Encrypted.Ciphertext)
		if err != nil {
			return nil, nil, fmt.Errorf("certificate %s: %w", serial, err)
		}
		cert, err := LoadCertificate(pt)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrBadCertificate, serial, err)
		}
		if got := CertificateSerial(cert); got != d.SerialNo {
			return nil, nil, fmt.Errorf("%w: entry %s holds certificate %s", ErrBadCertificate, serial, got)
		}
		if seen[d.SerialNo] {
			return nil, nil, fmt.Errorf("%w: %s is listed twice", ErrBadCertificate, serial)
		}
		seen[d.SerialNo] = true
		if d.EffectiveTime.IsZero() || d.ExpireTime.IsZero() || d.EffectiveTime.Before(cert.NotBefore) ||
			d.ExpireTime.After(cert.NotAfter) || !d.EffectiveTime.Before(d.ExpireTime) {
			return nil, nil, fmt.Errorf("%w: %s: effective_time %s and expire_time %s are not within the certificate's validity %s to %s", ErrBadCertificate, serial,
				d.EffectiveTime.Format(time.RFC3339), d.ExpireTime.Format(time.RFC3339), cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
		}
		if !now.Before(cert.NotAfter) || !now.Before(d.ExpireTime) {
			expired = append(expired, d.SerialNo)
			continue
		}
		certs = append(certs, PlatformCertificate{Serial: d.SerialNo, EffectiveTime: d.EffectiveTime, ExpireTime: d.ExpireTime,
			Certificate: cert, PEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})})
	}
	return certs, expired, nil
}

// certificateKeys indexes certificates by serial.
func certificateKeys(certs []PlatformCertificate) map[string]*platformKey {
	keys := make(map[string]*platformKey, len(certs))
	for _, pc := range certs {
		keys[pc.Serial] = &platformKey{id: pc.Serial, pub: pc.Certificate.PublicKey.(*rsa.PublicKey), cert: pc.Certificate}
	}
	return keys
}
