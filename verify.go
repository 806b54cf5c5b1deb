package wxpay

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wxpaykit/wxpay/internal/redact"
	"github.com/wxpaykit/wxpay/internal/wire"
)

// DefaultClockSkew is the largest accepted difference between Wechatpay-Timestamp
// and the local clock, as in both official SDKs.
const DefaultClockSkew = 5 * time.Minute

// PublicKeyIDPrefix starts every WeChat Pay public key ID.
const PublicKeyIDPrefix = "PUB_KEY_ID_"

// platformKey is one WeChat Pay verification/encryption key: a public key known by
// its PUB_KEY_ID_… or a platform certificate known by its serial.
type platformKey struct {
	id   string
	pub  *rsa.PublicKey
	cert *x509.Certificate // nil for a public key
}

// Verifier checks WeChat Pay's signatures on API responses and notifications
// against a key ring that may mix public keys and platform certificates (the
// transition period), picking the key named by Wechatpay-Serial. It is safe for
// concurrent use. Get one from Client.Verifier or NewVerifier.
type Verifier struct {
	keys map[string]*platformKey
	skew time.Duration
	now  func() time.Time
}

// NewVerifier builds a Verifier from the key and clock options also accepted by
// NewClient (WithPlatformPublicKey, WithPlatformCertificate, WithClock,
// WithClockSkew); other options are ignored. It is for services that only verify
// notifications and hold no merchant key.
func NewVerifier(opts ...Option) (*Verifier, error) {
	s, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	ring, err := s.keyRing()
	if err != nil {
		return nil, err
	}
	return &Verifier{keys: ring, skew: s.skew, now: s.now}, nil
}

// Serials lists the IDs and certificate serials the verifier accepts, sorted.
func (v *Verifier) Serials() []string {
	out := make([]string, 0, len(v.keys))
	for id := range v.keys {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Window returns the verifier's clock reading and the skew it allows: a message
// passes the timestamp check while its Wechatpay-Timestamp is within skew of
// now. A receiver that rejects replays must remember a message until its
// timestamp plus skew on this clock, as the notify package does.
func (v *Verifier) Window() (now time.Time, skew time.Duration) { return v.now(), v.skew }

// Verify checks a signed message: the four Wechatpay-* headers, the timestamp
// against the clock, the serial against the key ring, then the SHA256-RSA signature
// over "timestamp\nnonce\nbody\n". body must be the raw bytes as received. The
// error wraps one of ErrMissingSignature, ErrClockSkew, ErrUnknownSerial,
// ErrSignatureProbe or ErrSignatureMismatch.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	ts, nonce := h.Get(wire.HeaderTimestamp), h.Get(wire.HeaderNonce)
	sig, serial := h.Get(wire.HeaderSignature), h.Get(wire.HeaderSerial)
	var missing []string
	for _, p := range [...]struct{ name, v string }{
		{wire.HeaderTimestamp, ts}, {wire.HeaderNonce, nonce},
		{wire.HeaderSignature, sig}, {wire.HeaderSerial, serial},
	} {
		if p.v == "" {
			missing = append(missing, p.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrMissingSignature, strings.Join(missing, ", "))
	}
	if st := h.Get(wire.HeaderSignatureType); st != "" && st != wire.Scheme {
		return fmt.Errorf("%w: unsupported %s %q", ErrSignatureMismatch, wire.HeaderSignatureType, clipHeader(st))
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s %q is not a Unix time", ErrClockSkew, wire.HeaderTimestamp, clipHeader(ts))
	}
	now := v.now()
	if d := now.Sub(time.Unix(sec, 0)); d > v.skew || d < -v.skew {
		return fmt.Errorf("%w: %s is %s off the local clock (allowed ±%s)", ErrClockSkew, wire.HeaderTimestamp, d.Round(time.Second).Abs(), v.skew)
	}
	key := v.keys[serial]
	if key == nil {
		return fmt.Errorf("%w: %q (known: %s)", ErrUnknownSerial, clipHeader(serial), strings.Join(v.Serials(), ", "))
	}
	if strings.HasPrefix(sig, wire.ProbePrefix) {
		return ErrSignatureProbe
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: signature is not standard Base64", ErrSignatureMismatch)
	}
	digest := sha256.Sum256(wire.AppendResponseMessage(make([]byte, 0, len(ts)+len(nonce)+len(body)+3), ts, nonce, body))
	if err := rsa.VerifyPKCS1v15(key.pub, crypto.SHA256, digest[:], raw); err != nil {
		return fmt.Errorf("%w: key %s", ErrSignatureMismatch, serial)
	}
	return nil
}

// clipHeader keeps untrusted header values short in errors.
func clipHeader(s string) string { return redact.Clip(s, 64) }
