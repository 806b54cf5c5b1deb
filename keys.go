package wxpay

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wxpaykit/wxpay/internal/redact"
)

// MinRSABits is the smallest RSA modulus accepted; APIv3 keys are RSA-2048.
const MinRSABits = 2048

// maxPEMFile bounds key files read from disk; real ones are a few KiB.
const maxPEMFile = 1 << 20

// LoadPrivateKey parses a merchant API private key (apiclient_key.pem) in PKCS#8
// ("BEGIN PRIVATE KEY") or PKCS#1 ("BEGIN RSA PRIVATE KEY") PEM form.
func LoadPrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	block, err := decodePEM(pemBytes, "merchant private key", "PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1)")
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		if _, encrypted := block.Headers["DEK-Info"]; encrypted {
			return nil, fmt.Errorf("%w: merchant private key: the PEM block is password-encrypted; decrypt it first (openssl rsa -in key.pem -out plain.pem)", ErrInvalidKey)
		}
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, fmt.Errorf("%w: merchant private key: the PKCS#8 key is password-encrypted; decrypt it first (openssl pkcs8 -in key.pem -out plain.pem)", ErrInvalidKey)
	default:
		return nil, wrongBlock("merchant private key", "PRIVATE KEY (PKCS#8) or RSA PRIVATE KEY (PKCS#1)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: merchant private key: %s block does not parse: %v", ErrInvalidKey, block.Type, sanitizeASN1(err))
	}
	rk, ok := key.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: merchant private key: expected an RSA key, found %s", ErrInvalidKey, keyKind(key))
	}
	if rk.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("%w: merchant private key: RSA-%d is too short, APIv3 uses RSA-2048", ErrInvalidKey, rk.N.BitLen())
	}
	return rk, nil
}

// LoadPublicKey parses the WeChat Pay public key (pub_key.pem, downloaded next to its
// PUB_KEY_ID_…) in SPKI ("BEGIN PUBLIC KEY") or PKCS#1 ("BEGIN RSA PUBLIC KEY") form.
func LoadPublicKey(pemBytes []byte) (*rsa.PublicKey, error) {
	block, err := decodePEM(pemBytes, "WeChat Pay public key", "PUBLIC KEY (SPKI) or RSA PUBLIC KEY (PKCS#1)")
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	case "CERTIFICATE":
		return nil, fmt.Errorf("%w: WeChat Pay public key: found a CERTIFICATE; load platform certificates with LoadCertificate and WithPlatformCertificate", ErrInvalidKey)
	default:
		return nil, wrongBlock("WeChat Pay public key", "PUBLIC KEY (SPKI) or RSA PUBLIC KEY (PKCS#1)", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: WeChat Pay public key: %s block does not parse: %v", ErrInvalidKey, block.Type, sanitizeASN1(err))
	}
	pk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: WeChat Pay public key: expected an RSA key, found %s", ErrInvalidKey, keyKind(key))
	}
	if pk.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("%w: WeChat Pay public key: RSA-%d is too short", ErrInvalidKey, pk.N.BitLen())
	}
	return pk, nil
}

// LoadCertificate parses an X.509 certificate in PEM form: a WeChat Pay platform
// certificate (wechatpay_<serial>.pem) or the merchant API certificate.
func LoadCertificate(pemBytes []byte) (*x509.Certificate, error) {
	block, err := decodePEM(pemBytes, "certificate", "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	if block.Type != "CERTIFICATE" {
		return nil, wrongBlock("certificate", "CERTIFICATE", block.Type)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: does not parse: %v", ErrInvalidKey, sanitizeASN1(err))
	}
	pk, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: certificate %s: expected an RSA public key, found %s", ErrInvalidKey, CertificateSerial(cert), keyKind(cert.PublicKey))
	}
	if pk.N.BitLen() < MinRSABits {
		return nil, fmt.Errorf("%w: certificate %s: RSA-%d is too short", ErrInvalidKey, CertificateSerial(cert), pk.N.BitLen())
	}
	return cert, nil
}

// LoadPrivateKeyFile reads and parses a merchant private key file.
func LoadPrivateKeyFile(path string) (*rsa.PrivateKey, error) { return loadFile(path, LoadPrivateKey) }

// LoadPublicKeyFile reads and parses a WeChat Pay public key file.
func LoadPublicKeyFile(path string) (*rsa.PublicKey, error) { return loadFile(path, LoadPublicKey) }

// LoadCertificateFile reads and parses a PEM certificate file.
func LoadCertificateFile(path string) (*x509.Certificate, error) {
	return loadFile(path, LoadCertificate)
}

// loadFile reads a PEM file (bounded) and parses it, naming the file in errors.
func loadFile[T any](path string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	b, err := readPEMFile(path)
	if err != nil {
		return zero, err
	}
	v, err := parse(b)
	if err != nil {
		return zero, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// CertificateSerial returns a certificate's serial number as WeChat Pay writes it:
// upper-case hexadecimal without separators.
func CertificateSerial(cert *x509.Certificate) string {
	if cert == nil || cert.SerialNumber == nil {
		return ""
	}
	return strings.ToUpper(cert.SerialNumber.Text(16))
}

func readPEMFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wxpay: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, fmt.Errorf("wxpay: read %s: %w", path, err)
	}
	if len(b) > maxPEMFile {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes; it is not a PEM key", ErrInvalidKey, path, maxPEMFile)
	}
	return b, nil
}

func decodePEM(b []byte, what, want string) (*pem.Block, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		found := "no PEM block"
		if len(b) == 0 {
			found = "empty input"
		} else if looksLikeDER(b) {
			found = "binary (DER?) data; convert it with openssl to PEM"
		}
		return nil, fmt.Errorf("%w: %s: expected a PEM block %s, found %s", ErrInvalidKey, what, want, found)
	}
	return block, nil
}

func wrongBlock(what, want, found string) error {
	return fmt.Errorf("%w: %s: expected a PEM block %s, found %q", ErrInvalidKey, what, want, found)
}

func looksLikeDER(b []byte) bool { return len(b) > 1 && b[0] == 0x30 }

func keyKind(k any) string {
	switch k.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return "RSA"
	case nil:
		return "no key"
	default:
		return fmt.Sprintf("%T", k)
	}
}

// sanitizeASN1 keeps parser errors (which never contain key bytes) but drops any
// trailing detail that could be long.
func sanitizeASN1(err error) string { return redact.Clip(err.Error(), 200) }
