package wxpay

import (
	"crypto"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/wxpaykit/wxpay/apiv3"
)

// Version is the SDK version sent in the User-Agent.
const Version = "0.2.0"

// Client calls WeChat Pay APIv3. It signs every request, verifies every signed
// response, encrypts Sensitive values and turns error answers into *APIError.
// A Client is safe for concurrent use; create one per merchant and reuse it.
type Client struct {
	mchID, serial string
	signer        crypto.Signer
	decrypter     crypto.Decrypter // nil when the signer cannot decrypt
	verifier      *Verifier        // its key set also holds the encryption key
	renewal       *renewer         // nil without WithCertificateRenewal
	acceptSerial  string           // sent as Wechatpay-Serial on every request when set
	domains       *domains
	retry         RetryPolicy
	logger        *slog.Logger
	hc            *http.Client
	userAgent     string
	now           func() time.Time
	rand          io.Reader
	maxBody       int64
	maxDownload   int64
	sealTypes     sync.Map
	bufs          sync.Pool

	// V3 is the typed API, one field per URL segment and one method per path
	// parameter: client.V3.PayrollCard.Tokens.Post(ctx, req) is
	// POST /v3/payroll-card/tokens. The request and answer types live in one
	// package per product family (apiv3/payrollcard, …); the README's table
	// maps every official path to its call.
	V3 apiv3.V3
}

// NewClient builds a Client. WithMerchant and at least one WeChat Pay key
// (WithPlatformPublicKey or WithPlatformCertificate) are required, unless
// WithCertificateRenewal is told to trust its first download. NewClient does
// no I/O.
func NewClient(opts ...Option) (*Client, error) {
	s, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	return newClient(s, true)
}

// newClient builds a client; requireKeys is false only for the certificate
// download, which obtains the first WeChat Pay key.
func newClient(s *settings, requireKeys bool) (*Client, error) {
	if err := s.validateMerchant(); err != nil {
		return nil, err
	}
	ring := map[string]*platformKey{}
	renew := requireKeys && s.renewal != nil // a certificate download never renews
	switch noKeys := len(s.pubKeys)+len(s.certs) == 0; {
	case noKeys && renew && !s.renewal.policy.TrustFirstDownload:
		return nil, fmt.Errorf("%w: certificate renewal needs a WeChat Pay key it already trusts to check the first download with: add WithPlatformCertificate(cert) with the certificate saved by `wxpay certificates download`, or set CertificateRenewal.TrustFirstDownload to trust the first download on its own (trust on first use)", ErrInvalidConfig)
	case noKeys && renew:
		// Trust on first use: the first download brings the first key.
	case requireKeys || !noKeys:
		var err error
		if ring, err = s.keyRing(); err != nil {
			return nil, err
		}
	}
	mpub := s.signer.Public().(*rsa.PublicKey) // checked by validateMerchant
	for id, k := range ring {
		if id == s.serial {
			return nil, fmt.Errorf("%w: the merchant certificate serial %s is listed as a WeChat Pay key; WithPlatformCertificate/WithPlatformPublicKey take WeChat Pay's keys, not the merchant's own", ErrInvalidConfig, id)
		}
		if k.pub.Equal(mpub) {
			return nil, fmt.Errorf("%w: WeChat Pay key %s is the merchant's own public key; configure the key downloaded from WeChat Pay instead", ErrInvalidConfig, id)
		}
	}
	dom, err := s.domains()
	if err != nil {
		return nil, err
	}
	hc := s.httpClient
	if hc == nil {
		hc = newHTTPClient(s.timeout)
	}
	c := &Client{
		mchID:       s.mchID,
		serial:      s.serial,
		signer:      s.signer,
		verifier:    newVerifier(newKeySet(ring, s.preferredKey()), s.skew, s.now),
		domains:     dom,
		retry:       s.retry,
		logger:      s.logger,
		hc:          hc,
		userAgent:   userAgent(s.userAgent),
		now:         s.now,
		rand:        s.rand,
		maxBody:     s.maxBody,
		maxDownload: s.maxDownload,
	}
	if d, ok := s.signer.(crypto.Decrypter); ok {
		c.decrypter = d
	}
	if enc := c.encryptionKey(); enc != nil && strings.HasPrefix(enc.id, PublicKeyIDPrefix) {
		// Naming the public key on every request asks WeChat Pay to sign the response
		// with it during the certificate → public key transition.
		c.acceptSerial = enc.id
	}
	if renew {
		c.renewal = newRenewer(c, s.renewal, mpub)
		c.verifier.renew = c.renewal
	}
	c.bufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	c.V3 = apiv3.New(invoker{c})
	return c, nil
}

func (s *settings) validateMerchant() error {
	switch {
	case s.mchID == "" && s.signer == nil:
		return fmt.Errorf("%w: no merchant: add WithMerchant(mchid, certificateSerial, privateKey)", ErrInvalidConfig)
	case !isDigits(s.mchID) || len(s.mchID) > 32:
		return fmt.Errorf("%w: mchid %q must be the numeric merchant ID (商户号), e.g. 1900000001", ErrInvalidConfig, s.mchID)
	case !isHex(s.serial):
		return fmt.Errorf("%w: merchant certificate serial %q must be hexadecimal (商户API证书序列号, 40 hex characters)", ErrInvalidConfig, s.serial)
	case s.signer == nil:
		return fmt.Errorf("%w: no merchant private key: pass the key from LoadPrivateKeyFile(\"apiclient_key.pem\") to WithMerchant", ErrInvalidConfig)
	}
	pub, ok := s.signer.Public().(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: the merchant signer holds a %T key; APIv3 signs with RSA-2048", ErrInvalidConfig, s.signer.Public())
	}
	if pub.N.BitLen() < MinRSABits {
		return fmt.Errorf("%w: the merchant key is RSA-%d; APIv3 uses RSA-2048", ErrInvalidConfig, pub.N.BitLen())
	}
	return nil
}

func userAgent(app string) string {
	ua := "wxpay-go/" + Version + " (" + runtime.GOOS + "/" + runtime.GOARCH + ") " + runtime.Version()
	if app = strings.TrimSpace(app); app != "" {
		ua = app + " " + ua
	}
	return ua
}

// newHTTPClient is the default HTTP client: bounded, no redirects, and enough
// idle connections per host for concurrent callers (Go's default keeps 2, which
// makes 8 concurrent calls reconnect — and redo TLS — all the time).
func newHTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return &http.Client{
		Timeout:   timeout,
		Transport: t,
		// A redirected request would carry a signature for another target;
		// surface the 3xx as an error instead of following it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// MchID returns the merchant ID requests are signed for.
func (c *Client) MchID() string { return c.mchID }

// Verifier returns the verifier the client checks responses with; pass it to the
// notify package so notifications are checked against the same keys.
func (c *Client) Verifier() *Verifier { return c.verifier }

// EncryptionSerial is the Wechatpay-Serial value sent with encrypted fields: the
// public key ID, or the serial of the newest platform certificate.
//
// With certificate renewal the serial changes when a newer certificate is
// accepted; requests pair each encrypted value with the right serial
// themselves, so prefer Sensitive fields to Encrypt plus EncryptionSerial.
func (c *Client) EncryptionSerial() string {
	if k := c.encryptionKey(); k != nil {
		return k.id
	}
	return ""
}

// String describes the client without its keys.
func (c *Client) String() string {
	return fmt.Sprintf("wxpay.Client{mchid: %s, serial: %s, base: %s, keys: %s}", c.mchID, c.serial, c.domains.primary, strings.Join(c.verifier.Serials(), ","))
}

// Format implements fmt.Formatter so that no verb (%+v, %#v) prints the signer.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }
