package emulator

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/internal/replay"
)

// Emulator is the APIv3 emulator. Create it with New; it is safe for concurrent use.
type Emulator struct {
	merchants map[string]*merchant // mchid → merchant
	pubKeyID  string
	pubKey    *rsa.PrivateKey // public-key mode, nil when not configured
	// certs is the certificate mode's set, replaced whole by RotateCertificate
	// and RetireCertificate (certificates.go) while requests read it.
	certs     atomic.Pointer[certSet]
	certMu    sync.Mutex      // serialises rotations
	initCerts []*platformCert // WithCertificate, until New builds certs
	apiV3Key  wxpay.APIv3Key
	now       func() time.Time
	window    time.Duration
	maxBody   int64
	// readTimeout bounds the headers and the body, each; idleTimeout a
	// kept-alive connection between requests (server.go).
	readTimeout, idleTimeout time.Duration
	logger                   *slog.Logger

	rndMu sync.Mutex
	rnd   *rand.Rand

	nonces   replay.Cache
	faults   faultTable
	state    state
	patterns sync.Map // pattern → *regexp.Regexp
	notifier *notifier
}

type merchant struct {
	mchID   string
	serials map[string]*rsa.PublicKey
}

type platformCert struct {
	serial string
	cert   *x509.Certificate
	key    *rsa.PrivateKey
}

// Option configures an Emulator.
type Option func(*Emulator) error

// WithMerchant registers a merchant allowed to call: its mchid, the serial of
// its API certificate and that certificate's public key. Repeatable, also for
// several serials of one merchant.
func WithMerchant(mchID, certSerial string, pub *rsa.PublicKey) Option {
	return func(e *Emulator) error {
		if mchID == "" || certSerial == "" || pub == nil {
			return errors.New("emulator: WithMerchant needs an mchid, a serial and a public key")
		}
		m := e.merchants[mchID]
		if m == nil {
			m = &merchant{mchID: mchID, serials: map[string]*rsa.PublicKey{}}
			e.merchants[mchID] = m
		}
		m.serials[strings.ToUpper(certSerial)] = pub
		return nil
	}
}

// WithPublicKey puts the emulator in WeChat Pay public-key mode: it signs with
// key and accepts fields encrypted for it, both known by id (PUB_KEY_ID_…).
func WithPublicKey(id string, key *rsa.PrivateKey) Option {
	return func(e *Emulator) error {
		if !strings.HasPrefix(id, wxpay.PublicKeyIDPrefix) || key == nil {
			return fmt.Errorf("emulator: WithPublicKey needs an id starting with %s and a key", wxpay.PublicKeyIDPrefix)
		}
		e.pubKeyID, e.pubKey = id, key
		return nil
	}
}

// WithCertificate adds a platform certificate and its private key (certificate
// mode). Repeatable; the certificate that expires last signs. RotateCertificate
// adds one to a running emulator.
func WithCertificate(cert *x509.Certificate, key *rsa.PrivateKey) Option {
	return func(e *Emulator) error {
		if cert == nil || key == nil || !key.PublicKey.Equal(cert.PublicKey) {
			return errors.New("emulator: WithCertificate needs a certificate and its own private key")
		}
		e.initCerts = append(e.initCerts, &platformCert{serial: wxpay.CertificateSerial(cert), cert: cert, key: key})
		return nil
	}
}

// WithAPIv3Key sets the APIv3 key used for /v3/certificates and notifications.
func WithAPIv3Key(k wxpay.APIv3Key) Option {
	return func(e *Emulator) error { e.apiV3Key = k; return nil }
}

// WithClock sets the clock behind every time the emulator uses.
func WithClock(now func() time.Time) Option {
	return func(e *Emulator) error {
		if now == nil {
			return errors.New("emulator: WithClock(nil)")
		}
		e.now = now
		return nil
	}
}

// WithSeed makes every random choice (ids, tokens, codes, faults) reproducible.
func WithSeed(seed uint64) Option {
	return func(e *Emulator) error { e.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)); return nil }
}

// WithTimestampWindow sets how far a request timestamp may be from the
// emulator's clock (default 5 minutes; the real window is not documented).
func WithTimestampWindow(d time.Duration) Option {
	return func(e *Emulator) error {
		if d <= 0 {
			return errors.New("emulator: the timestamp window must be positive")
		}
		e.window = d
		return nil
	}
}

// WithMaxBodyBytes bounds request bodies (default 1 MiB).
func WithMaxBodyBytes(n int64) Option {
	return func(e *Emulator) error {
		if n <= 0 {
			return errors.New("emulator: the body limit must be positive")
		}
		e.maxBody = n
		return nil
	}
}

// WithReadTimeout sets how long a client may take to send the request line
// and headers (HTTPServer), and again the body (ServeHTTP): default
// DefaultReadTimeout. A body not in by then is answered 408 and the
// connection closed.
func WithReadTimeout(d time.Duration) Option {
	return func(e *Emulator) error {
		if d <= 0 {
			return errors.New("emulator: the read timeout must be positive")
		}
		e.readTimeout = d
		return nil
	}
}

// WithIdleTimeout sets how long HTTPServer keeps an idle kept-alive
// connection open for the next request: default DefaultIdleTimeout. The real
// service advertises Keep-Alive: timeout=8; 8*time.Second reproduces it.
func WithIdleTimeout(d time.Duration) Option {
	return func(e *Emulator) error {
		if d <= 0 {
			return errors.New("emulator: the idle timeout must be positive")
		}
		e.idleTimeout = d
		return nil
	}
}

// WithLogger logs one line per request (never Authorization, keys or plaintext).
func WithLogger(l *slog.Logger) Option {
	return func(e *Emulator) error { e.logger = l; return nil }
}

// New builds an emulator. It needs at least one merchant and a signing key
// (WithPublicKey and/or WithCertificate).
func New(opts ...Option) (*Emulator, error) {
	e := &Emulator{
		merchants:   map[string]*merchant{},
		now:         time.Now,
		window:      5 * time.Minute,
		maxBody:     1 << 20,
		readTimeout: DefaultReadTimeout,
		idleTimeout: DefaultIdleTimeout,
	}
	for _, o := range opts {
		if err := o(e); err != nil {
			return nil, err
		}
	}
	switch {
	case len(e.merchants) == 0:
		return nil, errors.New("emulator: no merchant registered: add WithMerchant")
	case e.pubKey == nil && len(e.initCerts) == 0:
		return nil, errors.New("emulator: no signing key: add WithPublicKey and/or WithCertificate")
	}
	e.certs.Store(newCertSet(e.initCerts, nil))
	e.initCerts = nil
	for _, m := range e.merchants {
		for serial := range m.serials {
			if serial == e.pubKeyID || e.certBySerial(serial) != nil {
				return nil, fmt.Errorf("emulator: merchant serial %s is also a platform key", serial)
			}
		}
	}
	if e.rnd == nil {
		WithSeed(uint64(time.Now().UnixNano()))(e)
	}
	e.state.init()
	e.notifier = newNotifier(e)
	return e, nil
}

// Close stops notification delivery. The emulator keeps answering requests.
func (e *Emulator) Close() { e.notifier.close() }

func (e *Emulator) certBySerial(s string) *platformCert { return e.certs.Load().bySerial(s) }

// decryptionKey returns the private key named by a Wechatpay-Serial value.
func (e *Emulator) decryptionKey(serial string) *rsa.PrivateKey {
	if serial != "" && serial == e.pubKeyID {
		return e.pubKey
	}
	if c := e.certBySerial(serial); c != nil {
		return c.key
	}
	return nil
}

// signingKey chooses the key for an answer (protocol §5): public-key mode uses the
// public key; certificate mode the signing certificate (the newest, or the one
// RotateCertificate installed) unless the request names another certificate
// the emulator holds, which then signs [U]; with both (the transition), the
// public key only when the request named it.
func (e *Emulator) signingKey(requestSerial string) (string, *rsa.PrivateKey) {
	cs := e.certs.Load()
	if e.pubKey != nil && (len(cs.certs) == 0 || requestSerial == e.pubKeyID) {
		return e.pubKeyID, e.pubKey
	}
	c := cs.bySerial(requestSerial)
	if c == nil {
		c = cs.signer
	}
	return c.serial, c.key
}

// float draws from the seeded source under a lock.
func (e *Emulator) float() float64 {
	e.rndMu.Lock()
	defer e.rndMu.Unlock()
	return e.rnd.Float64()
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randString returns n characters from alphabet.
func (e *Emulator) randString(n int, alphabet string) string {
	e.rndMu.Lock()
	defer e.rndMu.Unlock()
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[e.rnd.IntN(len(alphabet))]
	}
	return string(b)
}

// cst is China Standard Time, the zone of every time the service returns.
var cst = time.FixedZone("CST", 8*3600)

func (e *Emulator) nowCST() time.Time { return e.now().In(cst) }

// rfc3339 formats t the way the service does: 2026-01-01T10:00:00+08:00.
func rfc3339(t time.Time) string { return t.In(cst).Format(time.RFC3339) }

// String describes the emulator without its keys.
func (e *Emulator) String() string {
	mode := "public key " + e.pubKeyID
	if n := len(e.certs.Load().certs); n > 0 {
		mode = fmt.Sprintf("%d platform certificate(s)", n)
		if e.pubKey != nil {
			mode += " and public key " + e.pubKeyID
		}
	}
	return fmt.Sprintf("emulator.Emulator{merchants: %d, %s}", len(e.merchants), mode)
}

// Format implements fmt.Formatter so that no verb prints the private keys.
func (e *Emulator) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, e.String()) }
