package wxpay

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
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
//
// The verifier of a client built WithCertificateRenewal follows the renewal:
// certificates it accepts verify from then on, and a message naming a serial
// the verifier does not know makes it download the certificates (rate
// limited) and check the message again before failing.
type Verifier struct {
	// set is replaced whole by certificate renewal (copy-on-write): a reader
	// loads one consistent version without taking a lock.
	set   atomic.Pointer[keySet]
	skew  time.Duration
	now   func() time.Time
	renew *renewer // nil: the keys are fixed
}

// keySet is one immutable version of a verifier's keys.
type keySet struct {
	keys map[string]*platformKey // by Wechatpay-Serial value
	// enc is the key Sensitive values are encrypted with: the preferred public
	// key when configured, else the certificate that expires last; nil when the
	// set is empty.
	enc *platformKey
	// prefer is the public key ID that encrypts when present (the first one
	// configured): the current mode wins over certificates.
	prefer string
}

func newKeySet(keys map[string]*platformKey, prefer string) *keySet {
	ks := &keySet{keys: keys, prefer: prefer}
	if k := keys[prefer]; k != nil {
		ks.enc = k
		return ks
	}
	ks.enc = ks.newestCert()
	return ks
}

// newestCert is the certificate that expires last, nil when there is none.
// An expired certificate always expires before a valid one, so the newest
// certificate is a valid one whenever any is.
func (ks *keySet) newestCert() *platformKey {
	var best *platformKey
	for _, k := range ks.keys {
		if k.cert == nil {
			continue
		}
		if best == nil || k.cert.NotAfter.After(best.cert.NotAfter) ||
			k.cert.NotAfter.Equal(best.cert.NotAfter) && k.id > best.id { // deterministic on ties
			best = k
		}
	}
	return best
}

func newVerifier(ks *keySet, skew time.Duration, now func() time.Time) *Verifier {
	v := &Verifier{skew: skew, now: now}
	v.set.Store(ks)
	return v
}

// NewVerifier builds a Verifier from the key and clock options also accepted by
// NewClient (WithPlatformPublicKey, WithPlatformCertificate, WithClock,
// WithClockSkew); other options are ignored, WithCertificateRenewal included
// (renewal needs a client to download with). It is for services that only
// verify notifications and hold no merchant key.
func NewVerifier(opts ...Option) (*Verifier, error) {
	s, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	ring, err := s.keyRing()
	if err != nil {
		return nil, err
	}
	return newVerifier(newKeySet(ring, s.preferredKey()), s.skew, s.now), nil
}

// Serials lists the IDs and certificate serials the verifier accepts, sorted.
func (v *Verifier) Serials() []string { return v.keySet().serials() }

// keySet is the current version of the keys; a Verifier that was not built by
// NewVerifier or a client has none and accepts nothing.
func (v *Verifier) keySet() *keySet {
	if ks := v.set.Load(); ks != nil {
		return ks
	}
	return &keySet{}
}

func (ks *keySet) serials() []string {
	out := make([]string, 0, len(ks.keys))
	for id := range ks.keys {
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
//
// With certificate renewal, a serial the verifier does not know makes Verify
// wait for a certificate download (shared with concurrent callers, at most one
// per CertificateRenewal.MinInterval, bounded by CertificateRenewal.Timeout)
// and check again with the renewed keys.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	return v.verify(context.Background(), h, body)
}

// verify is Verify with the wait for a download also bounded by ctx.
func (v *Verifier) verify(ctx context.Context, h http.Header, body []byte) error {
	if v.set.Load() == nil {
		return fmt.Errorf("%w: this Verifier holds no key; build it with NewVerifier or take Client.Verifier", ErrUnknownSerial)
	}
	err := v.check(v.keySet(), h, body)
	if v.renew == nil {
		return err
	}
	v.renew.start()
	if !errors.Is(err, ErrUnknownSerial) {
		return err
	}
	rerr := v.renew.learn(ctx, h.Get(wire.HeaderSerial))
	// Check again even when this caller's download was refused: another
	// caller's download may have brought the serial meanwhile.
	if err = v.check(v.keySet(), h, body); err == nil || rerr == nil || !errors.Is(err, ErrUnknownSerial) {
		return err
	}
	return fmt.Errorf("%w (certificates not renewed: %w)", err, rerr)
}

// check verifies a message against one version of the keys.
func (v *Verifier) check(ks *keySet, h http.Header, body []byte) error {
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
	key := ks.keys[serial]
	if key == nil {
		return fmt.Errorf("%w: %q (known: %s)", ErrUnknownSerial, clipHeader(serial), strings.Join(ks.serials(), ", "))
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
