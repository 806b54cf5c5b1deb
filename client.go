package wxpay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxpaykit/wxpay/internal/ctxwait"
	"github.com/wxpaykit/wxpay/internal/wire"
)

// Version is the SDK version sent in the User-Agent.
const Version = "0.1.0"

// Client calls WeChat Pay APIv3. It signs every request, verifies every signed
// response, encrypts Sensitive values and turns error answers into *APIError.
// A Client is safe for concurrent use; create one per merchant and reuse it.
type Client struct {
	mchID, serial string
	signer        crypto.Signer
	decrypter     crypto.Decrypter // nil when the signer cannot decrypt
	verifier      *Verifier
	encKey        *platformKey // the key Sensitive values are encrypted with
	acceptSerial  string       // sent as Wechatpay-Serial on every request when set
	domains       *domains
	retry         RetryPolicy
	logger        *slog.Logger
	hc            *http.Client
	userAgent     string
	now           func() time.Time
	rand          io.Reader
	maxBody       int64
	sealTypes     sync.Map
	bufs          sync.Pool

	// V3 is the typed API, one field per URL segment and one method per path
	// parameter: client.V3.PayrollCard.Tokens.Post(ctx, req) is
	// POST /v3/payroll-card/tokens. See the README's table.
	V3 V3
}

// NewClient builds a Client. WithMerchant and at least one WeChat Pay key
// (WithPlatformPublicKey or WithPlatformCertificate) are required.
func NewClient(opts ...Option) (*Client, error) {
	s := defaultSettings()
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(s); err != nil {
			return nil, err
		}
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
	if requireKeys || len(s.pubKeys)+len(s.certs) > 0 {
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
	base, err := parseBaseURL("base URL", s.baseURL)
	if err != nil {
		return nil, err
	}
	dom := &domains{primary: base, cooldown: s.failover.Cooldown}
	if dom.cooldown == 0 {
		dom.cooldown = DefaultFailoverCooldown
	}
	backup := s.failover.BackupURL
	if !s.backupSet && s.baseURL == DefaultBaseURL {
		backup = DefaultBackupURL
	}
	if backup != "" {
		if dom.backup, err = parseBaseURL("backup URL", backup); err != nil {
			return nil, err
		}
		if dom.backup.String() == base.String() {
			return nil, fmt.Errorf("%w: the backup URL is the base URL", ErrInvalidConfig)
		}
	}
	hc := s.httpClient
	if hc == nil {
		hc = newHTTPClient(s.timeout)
	}
	c := &Client{
		mchID:     s.mchID,
		serial:    s.serial,
		signer:    s.signer,
		verifier:  &Verifier{keys: ring, skew: s.skew, now: s.now},
		domains:   dom,
		retry:     s.retry,
		logger:    s.logger,
		hc:        hc,
		userAgent: userAgent(s.userAgent),
		now:       s.now,
		rand:      s.rand,
		maxBody:   s.maxBody,
	}
	if d, ok := s.signer.(crypto.Decrypter); ok {
		c.decrypter = d
	}
	c.encKey = pickEncryptionKey(s, ring)
	if c.encKey != nil && strings.HasPrefix(c.encKey.id, PublicKeyIDPrefix) {
		// Naming the public key on every request asks WeChat Pay to sign the response
		// with it during the certificate → public key transition.
		c.acceptSerial = c.encKey.id
	}
	c.bufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	c.V3 = newV3(c)
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

// pickEncryptionKey prefers a public key (the current mode), then the platform
// certificate that stays valid the longest.
func pickEncryptionKey(s *settings, ring map[string]*platformKey) *platformKey {
	for _, k := range s.pubKeys {
		return ring[k.id]
	}
	var best *platformKey
	for _, c := range s.certs {
		k := ring[CertificateSerial(c)]
		if best == nil || k.cert.NotAfter.After(best.cert.NotAfter) {
			best = k
		}
	}
	return best
}

func userAgent(app string) string {
	ua := "wxpay-go/" + Version + " (" + runtime.GOOS + "/" + runtime.GOARCH + ") " + runtime.Version()
	if app = strings.TrimSpace(app); app != "" {
		ua = app + " " + ua
	}
	return ua
}

// MchID returns the merchant ID requests are signed for.
func (c *Client) MchID() string { return c.mchID }

// Verifier returns the verifier the client checks responses with; pass it to the
// notify package so notifications are checked against the same keys.
func (c *Client) Verifier() *Verifier { return c.verifier }

// EncryptionSerial is the Wechatpay-Serial value sent with encrypted fields: the
// public key ID, or the serial of the newest platform certificate.
func (c *Client) EncryptionSerial() string {
	if c.encKey == nil {
		return ""
	}
	return c.encKey.id
}

// Encrypt encrypts a sensitive value for WeChat Pay with the key named by
// EncryptionSerial. Requests do this automatically for Sensitive values; use it
// only when building a body by hand.
func (c *Client) Encrypt(plaintext string) (string, error) {
	if c.encKey == nil {
		return "", fmt.Errorf("%w: no WeChat Pay key to encrypt with", ErrEncrypt)
	}
	return EncryptOAEP(c.rand, c.encKey.pub, []byte(plaintext))
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

// call is one API call as the chain and the typed API describe it.
type call struct {
	method string
	path   string     // escaped path beginning with /v3/
	query  url.Values // may be nil
	body   any        // nil for no body; []byte / json.RawMessage are sent as they are
	header http.Header
	// needsSerial: the query holds encrypted values, or the operation requires
	// Wechatpay-Serial, so the encryption key's serial is sent.
	needsSerial bool
	// idempotent: repeating the call after an unknown outcome cannot duplicate
	// its effect (see RetryPolicy).
	idempotent bool
	// verify replaces the client's verifier for this call (certificate download).
	verify func(*Response) error
}

// unsignedByDesign lists the endpoints whose responses WeChat Pay does not sign.
func unsignedByDesign(path string) bool {
	return strings.HasPrefix(path, "/v3/billdownload/file") ||
		strings.HasPrefix(path, "/v3/merchant-service/images/") && path != "/v3/merchant-service/images/upload"
}

// do runs a call: encode, sign, send, read (bounded), then verify or build an *APIError.
func (c *Client) do(ctx context.Context, cl *call) (*Response, error) {
	if ctx == nil {
		return nil, fmt.Errorf("%w: nil context", ErrInvalidRequest)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	body, sealed, err := c.encodeBody(cl.body)
	if err != nil {
		return nil, err
	}
	sealed = sealed || cl.needsSerial
	header := make(http.Header, 8)
	for k, vs := range cl.header {
		ck := http.CanonicalHeaderKey(k)
		if ck == wire.HeaderAuthorization {
			return nil, fmt.Errorf("%w: the Authorization header is computed by the client and cannot be set", ErrInvalidRequest)
		}
		header[ck] = vs
	}
	if sealed {
		if c.encKey == nil {
			return nil, fmt.Errorf("%w: no WeChat Pay key to name in Wechatpay-Serial", ErrInvalidRequest)
		}
		if s := header.Get(wire.HeaderSerial); s != "" && s != c.encKey.id {
			return nil, fmt.Errorf("%w: Wechatpay-Serial %q was set by hand but Sensitive fields are encrypted with %s", ErrInvalidRequest, s, c.encKey.id)
		}
		header.Set(wire.HeaderSerial, c.encKey.id)
	} else if c.acceptSerial != "" && header.Get(wire.HeaderSerial) == "" {
		header.Set(wire.HeaderSerial, c.acceptSerial)
	}
	header.Set("Accept", "application/json")
	header.Set("User-Agent", c.userAgent)
	if body != nil {
		header.Set("Content-Type", "application/json")
	}
	rawQuery := ""
	if len(cl.query) > 0 {
		rawQuery = cl.query.Encode()
	}
	for attempt := 1; ; attempt++ {
		base := c.domains.pick(c.now())
		target, err := joinURL(base, cl.path, rawQuery)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		resp, err := c.attempt(ctx, cl, target, header, body)
		c.logAttempt(ctx, cl, base, attempt, start, resp, err)
		if resp != nil {
			resp.Attempts = attempt
		}
		if err == nil {
			return resp, nil
		}
		retry, connLevel, after := retryDecision(cl, resp, err)
		if connLevel {
			c.domains.failed(base, c.now())
		}
		if !retry || attempt >= c.retry.MaxAttempts {
			return resp, withAttempts(err, attempt)
		}
		if waitErr := ctxwait.Sleep(ctx, c.retry.backoff(attempt, after)); waitErr != nil {
			return resp, fmt.Errorf("%w (while waiting to retry after: %w)", waitErr, withAttempts(err, attempt))
		}
	}
}

// withAttempts records the attempt count on the errors that carry one.
func withAttempts(err error, n int) error {
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Attempts = n
	}
	var te *TransportError
	if errors.As(err, &te) {
		te.Attempts = n
	}
	return err
}

// joinURL joins a base URL, an escaped path and an encoded query.
func joinURL(base *url.URL, path, rawQuery string) (*url.URL, error) {
	raw := base.String() + path
	if rawQuery != "" {
		raw += "?" + rawQuery
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	return u, nil
}

// attempt sends one signed request and interprets the answer.
func (c *Client) attempt(ctx context.Context, cl *call, u *url.URL, header http.Header, body []byte) (*Response, error) {
	// The URL is already parsed: give the constructor a trivial one, then set it.
	req, err := http.NewRequestWithContext(ctx, cl.method, "/", nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRequest, err)
	}
	req.URL, req.Host = u, u.Host
	// Attempts are sequential and the transport is done with a request's header
	// when Do returns, so the call's header map is reused; only Authorization changes.
	req.Header = header
	if body != nil {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	auth, err := c.authorize(cl.method, u.RequestURI(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set(wire.HeaderAuthorization, auth)

	hresp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("wxpay: %s %s: %w", cl.method, cl.path, ctxErr)
		}
		return nil, &TransportError{Method: cl.method, Path: cl.path, Err: err}
	}
	resp, err := c.readResponse(cl, hresp)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := parseAPIError(resp.StatusCode, resp.Header, resp.Body)
		e.Method, e.Path, e.Attempts = cl.method, cl.path, 1
		return resp, e
	}
	switch {
	case cl.verify != nil:
		if err := cl.verify(resp); err != nil {
			return resp, &VerificationError{Response: resp, Err: err}
		}
	case !unsignedByDesign(cl.path):
		if err := c.verifier.Verify(resp.Header, resp.Body); err != nil {
			return resp, &VerificationError{Response: resp, Err: err}
		}
	}
	return resp, nil
}

// maxErrorBody bounds a non-2xx body, as go-github does.
const maxErrorBody = 1 << 20

func (c *Client) readResponse(cl *call, hresp *http.Response) (*Response, error) {
	defer hresp.Body.Close()
	limit := c.maxBody
	ok := hresp.StatusCode >= 200 && hresp.StatusCode <= 299
	if !ok {
		limit = maxErrorBody
	}
	if hresp.ContentLength > limit && ok {
		return nil, fmt.Errorf("%w: %s %s announced %d bytes, limit %d", ErrResponseTooLarge, cl.method, cl.path, hresp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(hresp.Body, limit+1))
	if err != nil {
		return nil, &TransportError{Method: cl.method, Path: cl.path, Err: fmt.Errorf("reading response body: %w", err)}
	}
	if int64(len(b)) > limit {
		if ok {
			return nil, fmt.Errorf("%w: %s %s: more than %d bytes", ErrResponseTooLarge, cl.method, cl.path, limit)
		}
		b = b[:limit] // an oversized error page is still an error; keep its start
	} else {
		// Drain what is left so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(hresp.Body, 4096))
	}
	return &Response{
		StatusCode: hresp.StatusCode,
		Header:     hresp.Header,
		Body:       b,
		RequestID:  hresp.Header.Get(wire.HeaderRequestID),
		Method:     cl.method,
		Path:       cl.path,
		Attempts:   1,
	}, nil
}

// maxPooledBuf keeps one large body from pinning memory in the buffer pool.
const maxPooledBuf = 64 << 10

// authorize computes the Authorization header over the exact request target and
// body bytes, with a fresh nonce and timestamp.
func (c *Client) authorize(method, target string, body []byte) (string, error) {
	bp := c.bufs.Get().(*[]byte)
	defer c.bufs.Put(bp)
	buf := (*bp)[:0]

	buf, err := wire.AppendNonce(buf, c.rand)
	if err != nil {
		return "", fmt.Errorf("wxpay: %w", err)
	}
	var tsb [20]byte
	ts := strconv.AppendInt(tsb[:0], c.now().Unix(), 10)
	nonce := string(buf[:wire.NonceLen])
	buf = wire.AppendRequestMessage(buf[:0], method, target, string(ts), nonce, body)
	digest := sha256.Sum256(buf)
	if cap(buf) <= maxPooledBuf {
		*bp = buf
	}
	sig, err := c.signer.Sign(c.rand, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("wxpay: signing request: %w", err)
	}
	out := wire.AppendAuthorization(make([]byte, 0, 512), wire.Authorization{
		MchID:     c.mchID,
		SerialNo:  c.serial,
		NonceStr:  nonce,
		Timestamp: string(ts),
		Signature: base64.StdEncoding.EncodeToString(sig),
	})
	return string(out), nil
}

// encodeBody seals Sensitive values and marshals the body. The result is nil for
// a body-less request.
func (c *Client) encodeBody(body any) ([]byte, bool, error) {
	switch b := body.(type) {
	case nil:
		return nil, false, nil
	case json.RawMessage:
		return validRaw(b)
	case []byte:
		return validRaw(b)
	}
	s := sealer{types: &c.sealTypes, encrypt: c.Encrypt}
	sealedBody, err := s.seal(body)
	if err != nil {
		return nil, false, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(sealedBody); err != nil {
		return nil, false, fmt.Errorf("%w: encoding body: %w", ErrInvalidRequest, err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
	return out, s.sealed > 0, nil
}

func validRaw(b []byte) ([]byte, bool, error) {
	if !json.Valid(b) {
		return nil, false, fmt.Errorf("%w: raw body is not valid JSON", ErrInvalidRequest)
	}
	return b, false, nil
}

// TransportError is a failure to get any HTTP answer: DNS, connect, TLS, reset,
// timeout. The request may or may not have reached WeChat Pay.
type TransportError struct {
	Method, Path string
	Attempts     int
	Err          error
}

func (e *TransportError) Error() string {
	s := "wxpay: " + e.Method + " " + e.Path + ": " + e.Err.Error()
	if e.Attempts > 1 {
		s += " (after " + strconv.Itoa(e.Attempts) + " attempts)"
	}
	return s
}

func (e *TransportError) Unwrap() error { return e.Err }

// Timeout reports whether the failure was a timeout.
func (e *TransportError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.Err, &t) && t.Timeout()
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

// String describes the client without its keys.
func (c *Client) String() string {
	return fmt.Sprintf("wxpay.Client{mchid: %s, serial: %s, base: %s, keys: %s}", c.mchID, c.serial, c.domains.primary, strings.Join(c.verifier.Serials(), ","))
}

// Format implements fmt.Formatter so that no verb (%+v, %#v) prints the signer.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }
