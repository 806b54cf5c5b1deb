package wxpay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/wxpaykit/wxpay/core"
	"github.com/wxpaykit/wxpay/internal/redact"
	"github.com/wxpaykit/wxpay/internal/wire"
)

// Sentinels for failures detected locally, matched with errors.Is. Verification
// failures arrive wrapped in a *VerificationError that keeps the response.
var (
	// ErrMissingSignature: a 2xx response lacks one of the Wechatpay-Timestamp,
	// -Nonce, -Signature or -Serial headers. The official rule is to treat it as forged.
	ErrMissingSignature = errors.New("wxpay: response is not signed")
	// ErrSignatureMismatch: the signature does not verify against the body.
	ErrSignatureMismatch = errors.New("wxpay: signature does not match")
	// ErrSignatureProbe: the signature carries the WECHATPAY/SIGNTEST/ prefix that
	// WeChat Pay uses to probe whether merchants verify. It also matches
	// ErrSignatureMismatch.
	ErrSignatureProbe = fmt.Errorf("%w (WECHATPAY/SIGNTEST/ probe)", ErrSignatureMismatch)
	// ErrClockSkew: Wechatpay-Timestamp is further from the local clock than allowed.
	ErrClockSkew = errors.New("wxpay: timestamp outside the allowed clock skew")
	// ErrUnknownSerial: Wechatpay-Serial names no configured public key or certificate.
	ErrUnknownSerial = errors.New("wxpay: unknown Wechatpay-Serial")

	// ErrInvalidConfig is wrapped by NewClient's configuration errors.
	ErrInvalidConfig = errors.New("wxpay: invalid configuration")
	// ErrInvalidRequest is wrapped by errors found before anything is sent: a
	// missing path parameter, a bad template, header or query value, a failed
	// client-side validation. Such a call is never retried.
	ErrInvalidRequest = core.ErrInvalidRequest
	// ErrResponseTooLarge: the response body exceeded the configured limit.
	ErrResponseTooLarge = errors.New("wxpay: response body too large")
	// ErrNoBody is returned by Response.Decode for a response without a body (204).
	ErrNoBody = core.ErrNoBody
	// ErrSensitiveUnsealed: a Sensitive value was JSON-encoded outside a client
	// request (e.g. when logging a request as JSON); the plaintext is withheld.
	ErrSensitiveUnsealed = core.ErrSensitiveUnsealed

	// ErrInvalidKey is wrapped by every key- and certificate-loading error.
	ErrInvalidKey = errors.New("wxpay: invalid key material")
	// ErrBadCertificate is wrapped when a downloaded certificate does not match its entry.
	ErrBadCertificate = errors.New("wxpay: downloaded certificate is not valid")
	// ErrDecrypt is wrapped by every failure to decrypt a sensitive field, a
	// notification resource or a certificate. The cause never includes plaintext.
	ErrDecrypt = errors.New("wxpay: decryption failed")
	// ErrEncrypt is wrapped by every failure to encrypt a sensitive field.
	ErrEncrypt = errors.New("wxpay: encryption failed")
)

// VerificationError reports a 2xx response whose signature could not be verified.
// The response is kept for diagnosis, but its content must not be trusted.
type VerificationError struct {
	Response *Response
	Err      error // one of the sentinels above, possibly wrapped with detail
}

func (e *VerificationError) Error() string {
	var b strings.Builder
	b.WriteString("wxpay: response verification failed")
	if e.Response != nil {
		fmt.Fprintf(&b, " (%s %s, status %d", e.Response.Method, e.Response.Path, e.Response.StatusCode)
		if e.Response.RequestID != "" {
			b.WriteString(", request-id ")
			b.WriteString(e.Response.RequestID)
		}
		b.WriteByte(')')
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *VerificationError) Unwrap() error { return e.Err }

// APIError is a non-2xx answer from WeChat Pay (or the emulator), in the documented
// shape {"code":…, "message":…, "detail":{…}}. Match it with errors.As.
type APIError struct {
	StatusCode int
	Code       string // e.g. PARAM_ERROR, SIGN_ERROR, SYSTEM_ERROR; empty when the body was not JSON
	Message    string // human-readable, usually Chinese; one code comes with many messages
	Detail     *ErrorDetail
	RequestID  string
	Header     http.Header
	Method     string // of the request, for context
	Path       string // of the request, without the query
	Attempts   int    // how many attempts were made, retries included
	// Body holds the start of a body that was not the documented JSON shape
	// (e.g. a proxy's HTML page), for diagnosis.
	Body string
}

// ErrorDetail is the optional detail object. WeChat Pay's real responses deviate
// from the documented members, so it is parsed loosely and kept raw as well.
type ErrorDetail struct {
	Field    string // JSON Pointer into the body, or a parameter name
	Value    string // the offending value, rendered as text
	Issue    string
	Location string // body, query, path, authorization, …
	Raw      json.RawMessage
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("wxpay: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if e.Code != "" {
		b.WriteByte(' ')
		b.WriteString(e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if d := e.Detail; d != nil && (d.Field != "" || d.Issue != "") {
		b.WriteString(" (")
		if d.Field != "" {
			b.WriteString("field ")
			b.WriteString(d.Field)
			if d.Issue != "" {
				b.WriteString(": ")
			}
		}
		b.WriteString(d.Issue)
		b.WriteByte(')')
	}
	if e.Code == "" && e.Body != "" {
		b.WriteString(": ")
		b.WriteString(strconv.Quote(e.Body))
	}
	if e.RequestID != "" {
		b.WriteString(" [request-id ")
		b.WriteString(e.RequestID)
		b.WriteByte(']')
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	return b.String()
}

// ErrorCode returns the WeChat Pay error code, the smithy-style accessor.
func (e *APIError) ErrorCode() string { return e.Code }

// ErrorMessage returns the WeChat Pay error message.
func (e *APIError) ErrorMessage() string { return e.Message }

// Temporary reports whether the documented guidance is to retry: the request was
// refused for its rate (429, FREQUENCY_LIMITED, RATELIMIT_EXCEEDED) or the
// service failed (5xx, SYSTEM_ERROR, SERVICE_UNAVAILABLE).
func (e *APIError) Temporary() bool { return e.rateLimited() || e.serverFailed() }

// rateLimited: the request was refused before it was processed, so repeating it
// is always safe.
func (e *APIError) rateLimited() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.Code == "FREQUENCY_LIMITED" || e.Code == "RATELIMIT_EXCEEDED"
}

// serverFailed: the service failed; whether the request took effect is unknown.
func (e *APIError) serverFailed() bool {
	return e.StatusCode >= 500 || e.Code == "SYSTEM_ERROR" || e.Code == "SERVICE_UNAVAILABLE"
}

// maxErrorSnippet bounds how much of a non-JSON error body is kept.
const maxErrorSnippet = 512

// parseAPIError builds the error for a non-2xx response. It never fails: bodies that
// are not the documented JSON still yield an error with the status and a snippet.
func parseAPIError(status int, header http.Header, body []byte) *APIError {
	e := &APIError{StatusCode: status, Header: header, RequestID: header.Get(wire.HeaderRequestID)}
	var wire struct {
		Code    string          `json:"code"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(trimmed, &wire) == nil && wire.Code != "" {
		e.Code, e.Message = wire.Code, wire.Message
		if len(wire.Detail) > 0 && !bytes.Equal(wire.Detail, []byte("null")) {
			e.Detail = parseDetail(wire.Detail)
		}
		return e
	}
	e.Message = http.StatusText(status)
	e.Body = redact.Snippet(trimmed, maxErrorSnippet)
	return e
}

func parseDetail(raw json.RawMessage) *ErrorDetail {
	d := &ErrorDetail{Raw: raw}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return d
	}
	d.Field = jsonText(m["field"])
	d.Value = jsonText(m["value"])
	d.Issue = jsonText(m["issue"])
	d.Location = jsonText(m["location"])
	if d.Issue == "" {
		// The observed SIGN_ERROR shape nests the issue one level down.
		var inner struct {
			Issue string `json:"issue"`
		}
		if json.Unmarshal(m["detail"], &inner) == nil {
			d.Issue = inner.Issue
		}
	}
	return d
}

// jsonText renders a JSON value as text: strings unquoted, anything else verbatim.
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
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
