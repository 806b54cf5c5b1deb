package wxpay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wxpaykit/wxpay/internal/ctxwait"
	"github.com/wxpaykit/wxpay/internal/redact"
	"github.com/wxpaykit/wxpay/internal/typed"
	"github.com/wxpaykit/wxpay/internal/wire"
)

// This file is the request path every call takes: encode, sign, send, read
// (bounded), then verify or build an *APIError, retrying as RetryPolicy says.

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
	// rawQuery is sent as it is, instead of query (a download_url's query).
	rawQuery string
	// sink receives a 2xx body (a file download) instead of Response.Body; the
	// answer is unsigned by design and not verified.
	sink io.Writer
	// upload is a media upload: multipart, signed over its meta part.
	upload *uploadBody
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
	// One key for the whole call: renewal may install a newer one meanwhile.
	enc, err := c.platformKeys(ctx, cl.path)
	if err != nil {
		return nil, err
	}
	body, sealed, err := c.encodeBodyFor(cl.body, enc)
	if err != nil {
		return nil, err
	}
	sealed = sealed || cl.needsSerial
	header, err := checkedHeader(cl.header)
	if err != nil {
		return nil, err
	}
	if err := checkQuery(cl.query); err != nil {
		return nil, err
	}
	if sealed {
		if enc == nil {
			return nil, fmt.Errorf("%w: no WeChat Pay key to name in Wechatpay-Serial", ErrInvalidRequest)
		}
		if s := header.Get(wire.HeaderSerial); s != "" && s != enc.id {
			return nil, fmt.Errorf("%w: Wechatpay-Serial %q was set by hand but Sensitive fields are encrypted with %s", ErrInvalidRequest, s, enc.id)
		}
		header.Set(wire.HeaderSerial, enc.id)
	} else if c.acceptSerial != "" && header.Get(wire.HeaderSerial) == "" {
		header.Set(wire.HeaderSerial, c.acceptSerial)
	}
	header.Set("Accept", "application/json")
	header.Set("User-Agent", c.userAgent)
	switch {
	case cl.upload != nil:
		header.Set("Content-Type", cl.upload.contentType)
	case body != nil:
		header.Set("Content-Type", "application/json")
	}
	rawQuery := cl.rawQuery
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
		err = uploadFailure(cl.upload, err)
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
	signed := body
	switch {
	case cl.upload != nil:
		if req.Body, err = cl.upload.open(); err != nil {
			return nil, err
		}
		req.ContentLength = cl.upload.length
		req.GetBody = cl.upload.open
		signed = cl.upload.meta
	case body != nil:
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	auth, err := c.authorize(cl.method, u.RequestURI(), signed)
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
	if cl.sink != nil && hresp.StatusCode >= 200 && hresp.StatusCode <= 299 {
		return c.stream(cl, hresp)
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
		if err := c.verifier.verify(ctx, resp.Header, resp.Body); err != nil {
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

// stream copies a file answer into the call's sink, bounded by the client's
// download limit. A failure after the first byte reached the sink is final:
// repeating the call would write the file twice into the sink.
func (c *Client) stream(cl *call, hresp *http.Response) (*Response, error) {
	defer hresp.Body.Close()
	resp := &Response{StatusCode: hresp.StatusCode, Header: hresp.Header, RequestID: hresp.Header.Get(wire.HeaderRequestID),
		Method: cl.method, Path: cl.path, Attempts: 1}
	if hresp.ContentLength > c.maxDownload {
		return nil, fmt.Errorf("%w: %s %s announced %d bytes, download limit %d", ErrResponseTooLarge, cl.method, cl.path, hresp.ContentLength, c.maxDownload)
	}
	n, err := io.Copy(cl.sink, io.LimitReader(hresp.Body, c.maxDownload+1))
	switch {
	case n > c.maxDownload:
		return resp, &partialError{n: n, err: fmt.Errorf("%w: %s %s: more than %d bytes", ErrResponseTooLarge, cl.method, cl.path, c.maxDownload)}
	case err != nil && n > 0:
		return resp, &partialError{n: n, err: &TransportError{Method: cl.method, Path: cl.path, Err: fmt.Errorf("reading the file after %d bytes: %w", n, err)}}
	case err != nil:
		return nil, &TransportError{Method: cl.method, Path: cl.path, Err: fmt.Errorf("reading the file: %w", err)}
	}
	return resp, nil
}

// partialError is a download that failed after writing n bytes to its sink; it
// is never retried.
type partialError struct {
	n   int64
	err error
}

func (e *partialError) Error() string {
	return e.err.Error() + " (" + strconv.FormatInt(e.n, 10) + " bytes were written and must be discarded)"
}

func (e *partialError) Unwrap() error { return e.err }

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

// encodeBodyFor seals Sensitive values for key k and marshals the body. The
// result is nil for a body-less request.
func (c *Client) encodeBodyFor(body any, k *platformKey) ([]byte, bool, error) {
	switch b := body.(type) {
	case nil:
		return nil, false, nil
	case json.RawMessage:
		return validRaw(b)
	case []byte:
		return validRaw(b)
	}
	s := sealer{types: &c.sealTypes, encrypt: c.encryptFor(k)}
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

// checkedHeader copies the call's extra headers in canonical form, refusing
// what must not be sent: a malformed name, a value with a control character
// (CR and LF split headers), an Authorization set by hand. Such a request is
// the caller's mistake: it fails here, before anything is sent, and is never
// retried nor counted against the domain.
func checkedHeader(in http.Header) (http.Header, error) {
	header := make(http.Header, len(in)+6)
	for k, vs := range in {
		if !validHeaderName(k) {
			return nil, fmt.Errorf("%w: header name %q is not an HTTP token", ErrInvalidRequest, redact.Clip(k, 64))
		}
		ck := http.CanonicalHeaderKey(k)
		if ck == wire.HeaderAuthorization {
			return nil, fmt.Errorf("%w: the Authorization header is computed by the client and cannot be set", ErrInvalidRequest)
		}
		for _, v := range vs {
			if err := typed.CheckText("header "+ck, strings.ReplaceAll(v, "\t", " ")); err != nil {
				return nil, err
			}
		}
		header[ck] = append(header[ck], vs...)
	}
	return header, nil
}

// checkQuery refuses query names and values with control characters.
func checkQuery(q url.Values) error {
	for k, vs := range q {
		if err := typed.CheckText("query parameter name", k); err != nil {
			return err
		}
		for _, v := range vs {
			if err := typed.CheckText(fmt.Sprintf("query parameter %q", redact.Clip(k, 32)), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
