package emulator

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wxpaykit/wxpay/internal/wire"
)

// answer is what a handler returns.
type answer struct {
	status int
	body   any // marshalled to JSON; nil for no body
	// raw is a file answer (a bill): sent as it is, with contentType, and
	// unsigned, as the service leaves downloads unsigned by design.
	raw         []byte
	contentType string
}

func ok(body any) answer { return answer{status: http.StatusOK, body: body} }

func noContent() answer { return answer{status: http.StatusNoContent} }

// apiError is an error answer in the documented shape.
func apiError(status int, code, message string, detail map[string]any) answer {
	b := map[string]any{"code": code, "message": message}
	if detail != nil {
		b["detail"] = detail
	}
	return answer{status: status, body: b}
}

func paramError(location, field, value, issue string) answer {
	return fieldError("参数错误", location, field, value, issue)
}

// fieldError is a 400 PARAM_ERROR about one field, with a specific message.
func fieldError(message, location, field, value, issue string) answer {
	return apiError(http.StatusBadRequest, "PARAM_ERROR", message, map[string]any{
		"field": field, "value": value, "issue": issue, "location": location})
}

func invalidRequest(message string) answer {
	return apiError(http.StatusBadRequest, "INVALID_REQUEST", message, nil)
}

// write marshals and (when req is authenticated) signs an answer.
func (e *Emulator) write(w http.ResponseWriter, req *request, an answer) int {
	return e.writeFault(w, req, an, nil)
}

func (e *Emulator) writeFault(w http.ResponseWriter, req *request, an answer, fault *Fault) int {
	var body []byte
	if an.body != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(an.body); err != nil {
			an = apiError(http.StatusInternalServerError, "SYSTEM_ERROR", "系统异常，请稍后重试", nil)
			buf.Reset()
			_ = enc.Encode(an.body)
		}
		body = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	}
	h := w.Header()
	if body != nil {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	if an.raw != nil {
		body = an.raw
		h.Set("Content-Type", an.contentType)
		req = nil // unsigned by design
	}
	if req != nil {
		serial, key := e.signingKey(req.serial)
		at := e.now()
		if fault != nil && fault.SkewSignature != 0 {
			at = at.Add(fault.SkewSignature)
		}
		sig := e.sign(key, at, body)
		h.Set(wire.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
		h.Set(wire.HeaderNonce, sig.nonce)
		h.Set(wire.HeaderSignature, sig.value)
		h.Set(wire.HeaderSerial, serial)
		h.Set(wire.HeaderSignatureType, wire.Scheme)
		if fault != nil && fault.TamperRate > 0 && e.float() < fault.TamperRate {
			h.Set(wire.HeaderSignature, tamper(sig.value))
		}
	}
	w.WriteHeader(an.status)
	_, _ = w.Write(body)
	return an.status
}

type signature struct{ nonce, value string }

func (e *Emulator) sign(key *rsa.PrivateKey, at time.Time, body []byte) signature {
	nonce := e.hexNonce()
	d := sha256.Sum256(wire.AppendResponseMessage(nil, strconv.FormatInt(at.Unix(), 10), nonce, body))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
	if err != nil {
		// Only a broken key gets here; the caller's verification will report it.
		return signature{nonce: nonce, value: ""}
	}
	return signature{nonce: nonce, value: base64.StdEncoding.EncodeToString(sig)}
}

// tamper changes one byte of the signature while keeping it valid Base64.
func tamper(sig string) string {
	if sig == "" {
		return "AAAA"
	}
	b := []byte(sig)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func (e *Emulator) hexNonce() string {
	var b [16]byte
	e.rndMu.Lock()
	for i := 0; i < len(b); i += 8 {
		v := e.rnd.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	e.rndMu.Unlock()
	return hex.EncodeToString(b[:])
}

// requestID looks like the real ones: 08DBF3A5B9061050120817028BCA901-8E0CC0EDF.
func (e *Emulator) requestID() string {
	return e.randString(31, "0123456789ABCDEF") + "-" + e.randString(9, "0123456789ABCDEF")
}

// clip shortens a client-supplied value echoed in an error to at most n bytes,
// marking the cut with "…".
func clip(s string, n int) string {
	if len(s) > n {
		return cut(s, n) + "…"
	}
	return s
}

// cut keeps at most n bytes of s, cut at a character boundary so that a value
// echoed in an answer stays valid UTF-8.
func cut[T ~string | ~[]byte](s T, n int) T {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
