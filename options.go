package wxpay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Option configures a Client (and, for the key and clock options, a Verifier).
// Options are validated by NewClient, which reports what to fix.
type Option func(*settings) error

// DefaultBaseURL is the main APIv3 domain; DefaultBackupURL is the backup domain in
// another city (异地接入点).
const (
	DefaultBaseURL   = "https://api.mch.weixin.qq.com"
	DefaultBackupURL = "https://api2.mch.weixin.qq.com"
)

// DefaultTimeout bounds a whole attempt (connect, send, read) when the client
// builds its own *http.Client.
const DefaultTimeout = 30 * time.Second

// DefaultMaxResponseBytes bounds a success body; error bodies are bounded at 1 MiB.
const DefaultMaxResponseBytes = 8 << 20

// DefaultMaxDownloadBytes bounds a downloaded file (a bill), streamed to an
// io.Writer rather than held in memory.
const DefaultMaxDownloadBytes = 1 << 30

type settings struct {
	mchID, serial string
	signer        crypto.Signer
	pubKeys       []platformKey
	certs         []*x509.Certificate
	baseURL       string
	httpClient    *http.Client
	userAgent     string
	now           func() time.Time
	rand          io.Reader
	skew          time.Duration
	maxBody       int64
	maxDownload   int64
	timeout       time.Duration
	retry         RetryPolicy
	failover      FailoverPolicy
	backupSet     bool
	logger        *slog.Logger
	renewal       *renewalSettings // nil: the platform keys are fixed
}

func defaultSettings() *settings {
	return &settings{
		baseURL:     DefaultBaseURL,
		now:         time.Now,
		rand:        rand.Reader,
		skew:        DefaultClockSkew,
		maxBody:     DefaultMaxResponseBytes,
		maxDownload: DefaultMaxDownloadBytes,
		timeout:     DefaultTimeout,
		retry:       DefaultRetryPolicy(),
		failover:    FailoverPolicy{Cooldown: DefaultFailoverCooldown},
	}
}

// applyOptions builds the settings from opts: nil options are skipped and the
// first option error is returned. NewClient, NewVerifier and
// DownloadCertificates all read their options through it.
func applyOptions(opts []Option) (*settings, error) {
	s := defaultSettings()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// WithMerchant sets the caller: the merchant (or service-provider) mchid, the serial
// number of its API certificate (商户API证书序列号) and the key that signs requests.
// signer is usually the *rsa.PrivateKey from LoadPrivateKey; any crypto.Signer over
// an RSA-2048 key works, so a KMS or HSM key plugs in. If it also implements
// crypto.Decrypter (as *rsa.PrivateKey does), Client.Decrypt can open encrypted
// response fields.
func WithMerchant(mchID, certificateSerial string, signer crypto.Signer) Option {
	return func(s *settings) error {
		s.mchID, s.serial, s.signer = mchID, strings.ToUpper(certificateSerial), signer
		return nil
	}
}

// WithPlatformPublicKey adds a WeChat Pay public key (微信支付公钥) and its ID
// (PUB_KEY_ID_…). Repeatable; it can be combined with platform certificates during
// the transition from certificates to public keys.
func WithPlatformPublicKey(id string, key *rsa.PublicKey) Option {
	return func(s *settings) error {
		s.pubKeys = append(s.pubKeys, platformKey{id: id, pub: key})
		return nil
	}
}

// WithPlatformCertificate adds a WeChat Pay platform certificate (平台证书), known
// by its serial. Repeatable: keep every certificate WeChat Pay may sign with.
func WithPlatformCertificate(cert *x509.Certificate) Option {
	return func(s *settings) error {
		s.certs = append(s.certs, cert)
		return nil
	}
}

// WithCertificateRenewal keeps the platform certificates of a
// certificate-mode merchant current (平台证书更新), as the official SDKs do:
// the client downloads GET /v3/certificates when it is first used, then on a
// schedule, and again (rate limited) when a response or notification names a
// serial it does not know, verifying that message again with the renewed
// certificates before failing. Client.Verifier, and so the notify package,
// follows the renewal. Sensitive values are encrypted with the certificate
// that expires last, unless a public key is configured; accepted certificates
// are kept until they expire. Stop the renewal with Client.Close: until then
// a goroutine and a timer keep the client alive.
//
// NewClient does no I/O: the first download starts with the first call, the
// first verification or RenewCertificates. A call made before it finishes is
// not held up when a key is configured; with no key configured (see
// CertificateRenewal.TrustFirstDownload), calls wait for it, bounded by their
// context.
//
// A downloaded list is trusted only when its answer verifies with a key
// already trusted — a configured certificate or public key, or a certificate
// accepted before — so a list signed by anyone else is refused and none of its
// certificates is added. The download names the newest trusted certificate
// in Wechatpay-Serial so that the list can be signed with it, and WeChat Pay
// lists a new certificate days before it signs with it, which the schedule
// learns from a list signed by the old one. Each certificate is decrypted
// with apiV3Key and checked: its serial, an RSA-2048 key, not expired,
// effective_time and expire_time within its validity. Failures are logged
// through WithLogger, never with key material.
func WithCertificateRenewal(apiV3Key APIv3Key, policy CertificateRenewal) Option {
	return func(s *settings) error {
		switch {
		case apiV3Key.IsZero():
			return fmt.Errorf("%w: WithCertificateRenewal needs the APIv3 key (ParseAPIv3Key) to decrypt the certificates", ErrInvalidConfig)
		case policy.Interval < 0 || policy.MinInterval < 0 || policy.Timeout < 0:
			return fmt.Errorf("%w: certificate renewal intervals and timeout must not be negative", ErrInvalidConfig)
		case policy.Interval > 0 && policy.MinInterval > policy.Interval:
			return fmt.Errorf("%w: certificate renewal MinInterval %s is longer than Interval %s", ErrInvalidConfig, policy.MinInterval, policy.Interval)
		}
		s.renewal = &renewalSettings{key: apiV3Key, policy: policy}
		return nil
	}
}

// WithBaseURL points the client at another server: the emulator, a forward proxy,
// or an overseas domain. Requests go to baseURL + "/v3/…"; a path prefix is kept.
func WithBaseURL(baseURL string) Option {
	return func(s *settings) error {
		s.baseURL = baseURL
		return nil
	}
}

// WithHTTPClient sets the *http.Client used for every attempt. Its Timeout and
// Transport are used as they are.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) error {
		if hc == nil {
			return fmt.Errorf("%w: WithHTTPClient(nil)", ErrInvalidConfig)
		}
		s.httpClient = hc
		return nil
	}
}

// WithTimeout bounds each attempt of the client's own HTTP client (default
// DefaultTimeout). With WithHTTPClient, set that client's Timeout instead.
func WithTimeout(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("%w: timeout must be positive, got %s", ErrInvalidConfig, d)
		}
		s.timeout = d
		return nil
	}
}

// WithUserAgent puts an application token (e.g. "shop-backend/2.3") in front of the
// SDK's own User-Agent.
func WithUserAgent(ua string) Option {
	return func(s *settings) error {
		s.userAgent = ua
		return nil
	}
}

// WithClock replaces time.Now for request timestamps and the skew check. Tests use
// it to reproduce skew without sleeping or patching.
func WithClock(now func() time.Time) Option {
	return func(s *settings) error {
		if now == nil {
			return fmt.Errorf("%w: WithClock(nil)", ErrInvalidConfig)
		}
		s.now = now
		return nil
	}
}

// WithRandom replaces crypto/rand.Reader for nonces and OAEP padding.
func WithRandom(r io.Reader) Option {
	return func(s *settings) error {
		if r == nil {
			return fmt.Errorf("%w: WithRandom(nil)", ErrInvalidConfig)
		}
		s.rand = r
		return nil
	}
}

// WithClockSkew sets the largest accepted difference between Wechatpay-Timestamp
// and the local clock (default DefaultClockSkew, 5 minutes).
func WithClockSkew(d time.Duration) Option {
	return func(s *settings) error {
		if d <= 0 {
			return fmt.Errorf("%w: clock skew must be positive, got %s", ErrInvalidConfig, d)
		}
		s.skew = d
		return nil
	}
}

// WithMaxResponseBytes bounds the size of a success body (default 8 MiB).
func WithMaxResponseBytes(n int64) Option {
	return func(s *settings) error {
		if n <= 0 {
			return fmt.Errorf("%w: max response bytes must be positive, got %d", ErrInvalidConfig, n)
		}
		s.maxBody = n
		return nil
	}
}

// WithLogger logs one line per attempt: method, path, host, status, code,
// request id, attempt and duration. Authorization, keys and plaintext never
// appear.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) error {
		s.logger = l
		return nil
	}
}

// WithMaxDownloadBytes bounds a downloaded file (default 1 GiB).
func WithMaxDownloadBytes(n int64) Option {
	return func(s *settings) error {
		if n <= 0 {
			return fmt.Errorf("%w: max download bytes must be positive, got %d", ErrInvalidConfig, n)
		}
		s.maxDownload = n
		return nil
	}
}

// preferredKey is the public key ID that encrypts whenever it is present.
func (s *settings) preferredKey() string {
	if len(s.pubKeys) > 0 {
		return s.pubKeys[0].id
	}
	return ""
}

// keyRing validates the platform keys and indexes them by Wechatpay-Serial value.
func (s *settings) keyRing() (map[string]*platformKey, error) {
	if len(s.pubKeys) == 0 && len(s.certs) == 0 {
		return nil, fmt.Errorf("%w: no WeChat Pay key to verify responses with: add WithPlatformPublicKey(\"PUB_KEY_ID_…\", key) (账户中心 → API安全 → 微信支付公钥) or WithPlatformCertificate(cert)", ErrInvalidConfig)
	}
	ring := make(map[string]*platformKey, len(s.pubKeys)+len(s.certs))
	add := func(k platformKey) error {
		if prev, dup := ring[k.id]; dup {
			if prev.pub.Equal(k.pub) {
				return nil
			}
			return fmt.Errorf("%w: two different keys are configured for %s", ErrInvalidConfig, k.id)
		}
		ring[k.id] = &k
		return nil
	}
	for _, k := range s.pubKeys {
		switch {
		case k.pub == nil:
			return nil, fmt.Errorf("%w: WithPlatformPublicKey(%q, nil)", ErrInvalidConfig, k.id)
		case !strings.HasPrefix(k.id, PublicKeyIDPrefix):
			return nil, fmt.Errorf("%w: WeChat Pay public key ID %q must start with %s; a certificate serial goes with WithPlatformCertificate", ErrInvalidConfig, k.id, PublicKeyIDPrefix)
		case k.pub.N.BitLen() < MinRSABits:
			return nil, fmt.Errorf("%w: WeChat Pay public key %s is RSA-%d, expected RSA-2048", ErrInvalidConfig, k.id, k.pub.N.BitLen())
		}
		if err := add(k); err != nil {
			return nil, err
		}
	}
	for _, c := range s.certs {
		if c == nil {
			return nil, fmt.Errorf("%w: WithPlatformCertificate(nil)", ErrInvalidConfig)
		}
		pub, ok := c.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: platform certificate %s does not hold an RSA key", ErrInvalidConfig, CertificateSerial(c))
		}
		if err := add(platformKey{id: CertificateSerial(c), pub: pub, cert: c}); err != nil {
			return nil, err
		}
	}
	return ring, nil
}

func parseBaseURL(what, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %q: %v", ErrInvalidConfig, what, raw, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: %s %q must be an absolute http(s) URL such as %s", ErrInvalidConfig, what, raw, DefaultBaseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%w: %s %q must not carry a query, fragment or user info", ErrInvalidConfig, what, raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = strings.TrimSuffix(u.RawPath, "/")
	return u, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return s != ""
}
