package emulator

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/wxpaykit/wxpay"
)

// certSet is one immutable version of the platform certificates: rotations
// replace it whole while requests read it.
type certSet struct {
	certs  []*platformCert // listed by /v3/certificates, oldest first
	signer *platformCert   // signs answers and notifications; nil when certs is empty
}

// newCertSet builds a set; with signer nil, the certificate that expires last signs.
func newCertSet(certs []*platformCert, signer *platformCert) *certSet {
	cs := &certSet{certs: certs, signer: signer}
	if signer == nil {
		for _, c := range certs {
			if cs.signer == nil || c.cert.NotAfter.After(cs.signer.cert.NotAfter) {
				cs.signer = c
			}
		}
	}
	return cs
}

func (cs *certSet) bySerial(s string) *platformCert {
	for _, c := range cs.certs {
		if c.serial == s {
			return c
		}
	}
	return nil
}

// RotateCertificate starts a platform-certificate rotation (平台证书更新) in
// a running emulator: cert and its key join the certificates and sign every
// answer and notification from now on, while the certificates already held
// stay listed by GET /v3/certificates and keep opening fields encrypted for
// them (the overlap, when WeChat Pay signs with both). RetireCertificate
// ends the overlap. Safe to call while requests are served; an emulator
// started without WithCertificate (public-key mode) refuses it.
//
// During the overlap an answer to a request whose Wechatpay-Serial names a
// certificate the emulator still holds is signed with that certificate, as
// the real service does with public key IDs (protocol §5); this is a design
// choice [U], and what lets a client check the new certificate list with the
// certificate it already trusts.
func (e *Emulator) RotateCertificate(cert *x509.Certificate, key *rsa.PrivateKey) error {
	if cert == nil || key == nil || !key.PublicKey.Equal(cert.PublicKey) {
		return errors.New("emulator: RotateCertificate needs a certificate and its own private key")
	}
	serial := wxpay.CertificateSerial(cert)
	for _, m := range e.merchants {
		if _, ok := m.serials[serial]; ok {
			return fmt.Errorf("emulator: RotateCertificate: %s is a merchant serial", serial)
		}
	}
	e.certMu.Lock()
	defer e.certMu.Unlock()
	old := e.certs.Load()
	if len(old.certs) == 0 {
		return errors.New("emulator: RotateCertificate: the emulator is in public-key mode; rotation is for platform certificates (WithCertificate)")
	}
	if old.bySerial(serial) != nil {
		return fmt.Errorf("emulator: RotateCertificate: certificate %s is already held", serial)
	}
	c := &platformCert{serial: serial, cert: cert, key: key}
	e.certs.Store(newCertSet(append(slices.Clip(old.certs), c), c))
	return nil
}

// RetireCertificate ends a rotation's overlap: the certificate with serial is
// no longer listed by GET /v3/certificates, and fields encrypted for it no
// longer open. The signing certificate cannot be retired.
func (e *Emulator) RetireCertificate(serial string) error {
	e.certMu.Lock()
	defer e.certMu.Unlock()
	old := e.certs.Load()
	switch c := old.bySerial(serial); {
	case c == nil:
		return fmt.Errorf("emulator: RetireCertificate: no certificate %q", serial)
	case c == old.signer:
		return fmt.Errorf("emulator: RetireCertificate: %s signs; rotate to another certificate first", serial)
	}
	kept := make([]*platformCert, 0, len(old.certs)-1)
	for _, c := range old.certs {
		if c.serial != serial {
			kept = append(kept, c)
		}
	}
	e.certs.Store(newCertSet(kept, old.signer))
	return nil
}

// CertificateSerials lists the serials GET /v3/certificates answers with,
// oldest first, and the serial of the certificate that signs.
func (e *Emulator) CertificateSerials() (listed []string, signing string) {
	cs := e.certs.Load()
	for _, c := range cs.certs {
		listed = append(listed, c.serial)
	}
	if cs.signer != nil {
		signing = cs.signer.serial
	}
	return listed, signing
}

// certificates answers GET /v3/certificates (protocol §12).
func (e *Emulator) certificates(r *request) answer {
	cs := e.certs.Load()
	if len(cs.certs) == 0 {
		return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥", nil)
	}
	if e.apiV3Key.IsZero() {
		return apiError(http.StatusInternalServerError, "SYSTEM_ERROR", "模拟器未配置APIv3密钥，无法加密平台证书", nil)
	}
	var data []any
	for _, c := range cs.certs {
		nonce := e.randString(12, alnum)
		ct, err := e.apiV3Key.EncryptAEAD(nonce, "certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}))
		if err != nil {
			return apiError(http.StatusInternalServerError, "SYSTEM_ERROR", "系统异常，请稍后重试", nil)
		}
		data = append(data, map[string]any{
			"serial_no": c.serial, "effective_time": rfc3339(c.cert.NotBefore), "expire_time": rfc3339(c.cert.NotAfter),
			"encrypt_certificate": map[string]string{"algorithm": "AEAD_AES_256_GCM", "nonce": nonce, "associated_data": "certificate", "ciphertext": ct},
		})
	}
	return ok(map[string]any{"data": data})
}
