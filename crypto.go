package wxpay

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
)

// MaxOAEPPlaintext is the largest plaintext RSAES-OAEP(SHA-1) can carry under a
// 2048-bit key: 256 - 2*20 - 2 bytes.
const MaxOAEPPlaintext = 214

// EncryptOAEP encrypts a sensitive field for WeChat Pay: RSAES-OAEP with SHA-1 and
// MGF1-SHA-1, empty label, standard Base64 output. A nil random means crypto/rand.Reader.
func EncryptOAEP(random io.Reader, pub *rsa.PublicKey, plaintext []byte) (string, error) {
	if random == nil {
		random = rand.Reader
	}
	if pub == nil {
		return "", fmt.Errorf("%w: no public key", ErrEncrypt)
	}
	if max := pub.Size() - 2*sha1.Size - 2; len(plaintext) > max {
		return "", fmt.Errorf("%w: plaintext is %d bytes, RSA-%d OAEP carries at most %d", ErrEncrypt, len(plaintext), pub.N.BitLen(), max)
	}
	ct, err := rsa.EncryptOAEP(sha1.New(), random, pub, plaintext, nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrEncrypt, err)
	}
	return base64.StdEncoding.EncodeToString(ct), nil
}

// DecryptOAEP decrypts a Base64 RSAES-OAEP(SHA-1) ciphertext with the merchant's
// private key (any crypto.Decrypter, so an HSM key works; *rsa.PrivateKey is one).
func DecryptOAEP(key crypto.Decrypter, ciphertext string) ([]byte, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: no private key", ErrDecrypt)
	}
	raw, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: ciphertext is not standard Base64", ErrDecrypt)
	}
	pt, err := key.Decrypt(nil, raw, &rsa.OAEPOptions{Hash: crypto.SHA1})
	if err != nil {
		// The rsa package's error is deliberately uninformative; keep it that way.
		return nil, fmt.Errorf("%w: RSAES-OAEP: %v", ErrDecrypt, err)
	}
	return pt, nil
}

// APIv3Key is the 32-byte APIv3 secret (APIv3密钥) used as the AES-256-GCM key for
// notifications and /v3/certificates. It never prints: fmt and slog show [REDACTED].
type APIv3Key struct {
	b   [32]byte
	set bool
}

// ParseAPIv3Key validates the APIv3 key as configured in the merchant platform:
// exactly 32 bytes, used as the raw AES-256 key.
func ParseAPIv3Key(s string) (APIv3Key, error) {
	if len(s) != 32 {
		return APIv3Key{}, fmt.Errorf("%w: the APIv3 key must be exactly 32 bytes (the string set in 商户平台 → API安全), got %d", ErrInvalidKey, len(s))
	}
	var k APIv3Key
	copy(k.b[:], s)
	k.set = true
	return k, nil
}

// IsZero reports whether the key was never set.
func (k APIv3Key) IsZero() bool { return !k.set }

// Format implements fmt.Formatter so that no verb reveals the key.
func (k APIv3Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue implements slog.LogValuer.
func (k APIv3Key) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText serialises the key as [REDACTED], so encoding a config never leaks it.
func (k APIv3Key) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// AEADAlgorithm is the only algorithm WeChat Pay uses for encrypted resources.
const AEADAlgorithm = "AEAD_AES_256_GCM"

func (k APIv3Key) aead() (cipher.AEAD, error) {
	if !k.set {
		return nil, fmt.Errorf("%w: no APIv3 key configured", ErrDecrypt)
	}
	block, err := aes.NewCipher(k.b[:])
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// DecryptAEAD opens an AEAD_AES_256_GCM resource (notification resource,
// encrypt_certificate): nonce and associated data as given, ciphertext in Base64
// holding the encrypted bytes followed by the 16-byte tag.
func (k APIv3Key) DecryptAEAD(nonce, associatedData, ciphertext string) ([]byte, error) {
	g, err := k.aead()
	if err != nil {
		return nil, err
	}
	if len(nonce) != g.NonceSize() {
		return nil, fmt.Errorf("%w: AEAD nonce must be %d bytes, got %d", ErrDecrypt, g.NonceSize(), len(nonce))
	}
	raw, err := base64.StdEncoding.DecodeString(ciphertext)
	if err != nil {
		return nil, fmt.Errorf("%w: AEAD ciphertext is not standard Base64", ErrDecrypt)
	}
	if len(raw) < g.Overhead() {
		return nil, fmt.Errorf("%w: AEAD ciphertext shorter than its tag", ErrDecrypt)
	}
	pt, err := g.Open(raw[:0:0], []byte(nonce), raw, []byte(associatedData))
	if err != nil {
		return nil, fmt.Errorf("%w: AEAD tag mismatch (wrong APIv3 key, nonce or associated data)", ErrDecrypt)
	}
	return pt, nil
}

// EncryptAEAD seals plaintext the way WeChat Pay does; the emulator and the
// test helpers use it to build notifications. nonce must be 12 bytes.
func (k APIv3Key) EncryptAEAD(nonce, associatedData string, plaintext []byte) (string, error) {
	g, err := k.aead()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrEncrypt, err)
	}
	if len(nonce) != g.NonceSize() {
		return "", fmt.Errorf("%w: AEAD nonce must be %d bytes, got %d", ErrEncrypt, g.NonceSize(), len(nonce))
	}
	return base64.StdEncoding.EncodeToString(g.Seal(nil, []byte(nonce), plaintext, []byte(associatedData))), nil
}

const redacted = "[REDACTED]"

// Encrypt encrypts a sensitive value for WeChat Pay with the key named by
// EncryptionSerial. Requests do this automatically for Sensitive values; use it
// only when building a body by hand.
func (c *Client) Encrypt(plaintext string) (string, error) {
	return c.encryptFor(c.encryptionKey())(plaintext)
}

// Decrypt opens a field WeChat Pay encrypted with the merchant certificate's
// public key. It needs a signer that is also a crypto.Decrypter.
func (c *Client) Decrypt(ciphertext Encrypted) (Sensitive, error) {
	if c.decrypter == nil {
		return "", fmt.Errorf("%w: the merchant signer is not a crypto.Decrypter", ErrDecrypt)
	}
	pt, err := DecryptOAEP(c.decrypter, string(ciphertext))
	if err != nil {
		return "", err
	}
	return Sensitive(pt), nil
}
