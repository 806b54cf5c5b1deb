// Package wire holds the byte-level pieces of the APIv3 protocol that the client,
// the emulator and the notification verifier share: the strings that get signed,
// the Authorization header and nonces. It has no knowledge of keys or HTTP clients.
package wire

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Scheme is the Authorization scheme and the Wechatpay-Signature-Type value.
const Scheme = "WECHATPAY2-SHA256-RSA2048"

// Header names used on the wire.
const (
	HeaderAuthorization = "Authorization"
	HeaderRequestID     = "Request-Id"
	HeaderSerial        = "Wechatpay-Serial"
	HeaderSignature     = "Wechatpay-Signature"
	HeaderTimestamp     = "Wechatpay-Timestamp"
	HeaderNonce         = "Wechatpay-Nonce"
	HeaderSignatureType = "Wechatpay-Signature-Type"
)

// ProbePrefix starts the deliberately invalid signatures WeChat Pay sends to check
// that merchants really verify (签名探测).
const ProbePrefix = "WECHATPAY/SIGNTEST/"

// AppendRequestMessage appends the request string-to-sign:
// METHOD\nrequest-target\ntimestamp\nnonce\nbody\n.
func AppendRequestMessage(dst []byte, method, target, timestamp, nonce string, body []byte) []byte {
	dst = append(dst, method...)
	dst = append(dst, '\n')
	dst = append(dst, target...)
	dst = append(dst, '\n')
	dst = append(dst, timestamp...)
	dst = append(dst, '\n')
	dst = append(dst, nonce...)
	dst = append(dst, '\n')
	dst = append(dst, body...)
	return append(dst, '\n')
}

// AppendResponseMessage appends the response/notification string-to-verify:
// timestamp\nnonce\nbody\n.
func AppendResponseMessage(dst []byte, timestamp, nonce string, body []byte) []byte {
	dst = append(dst, timestamp...)
	dst = append(dst, '\n')
	dst = append(dst, nonce...)
	dst = append(dst, '\n')
	dst = append(dst, body...)
	return append(dst, '\n')
}

// Authorization is the parsed value of a request's Authorization header.
type Authorization struct {
	MchID     string
	SerialNo  string
	NonceStr  string
	Timestamp string
	Signature string
}

// AppendAuthorization appends the Authorization header value for a.
// The field order follows the official example; the server accepts any order.
func AppendAuthorization(dst []byte, a Authorization) []byte {
	dst = append(dst, Scheme...)
	dst = append(dst, ` mchid="`...)
	dst = append(dst, a.MchID...)
	dst = append(dst, `",nonce_str="`...)
	dst = append(dst, a.NonceStr...)
	dst = append(dst, `",signature="`...)
	dst = append(dst, a.Signature...)
	dst = append(dst, `",timestamp="`...)
	dst = append(dst, a.Timestamp...)
	dst = append(dst, `",serial_no="`...)
	dst = append(dst, a.SerialNo...)
	return append(dst, '"')
}

// String renders the header value. It contains no secret (the signature is public),
// but callers still keep it out of logs because it identifies a request.
func (a Authorization) String() string { return string(AppendAuthorization(nil, a)) }

// ErrMalformedAuthorization reports an Authorization header that does not follow
// the WECHATPAY2-SHA256-RSA2048 format.
var ErrMalformedAuthorization = errors.New("malformed Authorization header")

// MaxAuthorizationLen bounds the header the parser accepts; real values are ~600 bytes.
const MaxAuthorizationLen = 4096

// ParseAuthorization parses an Authorization header value. Keys may come in any
// order; each of the five keys must appear exactly once with a quoted value that
// contains no quote, comma or control character. Unknown keys are rejected.
func ParseAuthorization(v string) (Authorization, error) {
	var a Authorization
	if len(v) > MaxAuthorizationLen {
		return a, fmt.Errorf("%w: longer than %d bytes", ErrMalformedAuthorization, MaxAuthorizationLen)
	}
	rest, ok := strings.CutPrefix(v, Scheme+" ")
	if !ok {
		return a, fmt.Errorf("%w: scheme must be %q followed by one space", ErrMalformedAuthorization, Scheme)
	}
	var seen [5]bool
	for rest != "" {
		key, after, ok := strings.Cut(rest, `="`)
		if !ok {
			return a, fmt.Errorf("%w: expected key=\"value\"", ErrMalformedAuthorization)
		}
		val, tail, ok := strings.Cut(after, `"`)
		if !ok {
			return a, fmt.Errorf("%w: unterminated value for %q", ErrMalformedAuthorization, clip(key))
		}
		for i := 0; i < len(val); i++ {
			if c := val[i]; c < 0x20 || c == 0x7f || c == ',' {
				return a, fmt.Errorf("%w: invalid character in value of %q", ErrMalformedAuthorization, clip(key))
			}
		}
		if val == "" {
			return a, fmt.Errorf("%w: empty value for %q", ErrMalformedAuthorization, clip(key))
		}
		var idx int
		switch key {
		case "mchid":
			idx, a.MchID = 0, val
		case "serial_no":
			idx, a.SerialNo = 1, val
		case "nonce_str":
			idx, a.NonceStr = 2, val
		case "timestamp":
			idx, a.Timestamp = 3, val
		case "signature":
			idx, a.Signature = 4, val
		default:
			return a, fmt.Errorf("%w: unknown key %q", ErrMalformedAuthorization, clip(key))
		}
		if seen[idx] {
			return a, fmt.Errorf("%w: duplicate key %q", ErrMalformedAuthorization, key)
		}
		seen[idx] = true
		if tail == "" {
			break
		}
		if tail[0] != ',' || len(tail) == 1 {
			return a, fmt.Errorf("%w: pairs must be separated by a single comma", ErrMalformedAuthorization)
		}
		rest = tail[1:]
	}
	for i, name := range [...]string{"mchid", "serial_no", "nonce_str", "timestamp", "signature"} {
		if !seen[i] {
			return a, fmt.Errorf("%w: missing %q", ErrMalformedAuthorization, name)
		}
	}
	if _, err := strconv.ParseInt(a.Timestamp, 10, 64); err != nil {
		return a, fmt.Errorf("%w: timestamp is not a decimal integer", ErrMalformedAuthorization)
	}
	return a, nil
}

// clip keeps attacker-controlled keys short in error messages.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

const nonceAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NonceLen is the length of generated nonces, as in both official SDKs.
const NonceLen = 32

// AppendNonce appends NonceLen characters from [0-9A-Za-z] drawn from r without
// modulo bias.
func AppendNonce(dst []byte, r io.Reader) ([]byte, error) {
	var buf [NonceLen * 2]byte
	n := 0
	for n < NonceLen {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return dst, fmt.Errorf("read random bytes for nonce: %w", err)
		}
		for _, b := range buf {
			// 62*4 = 248: reject the top 8 values so every character is equally likely.
			if b >= 248 {
				continue
			}
			dst = append(dst, nonceAlphabet[b%62])
			if n++; n == NonceLen {
				break
			}
		}
	}
	return dst, nil
}
