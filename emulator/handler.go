package emulator

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wxpaykit/wxpay/internal/apispec"
	"github.com/wxpaykit/wxpay/internal/wire"
)

// request is one authenticated, routed request.
type request struct {
	op          *apispec.Operation
	mchID       string
	merchantPub *rsa.PublicKey // the key of the certificate the request was signed with
	serial      string         // the request's Wechatpay-Serial header
	params      map[string]string
	query       url.Values
	body        map[string]any // decoded JSON body (json.Number for numbers)
	raw         []byte
	plain       map[string]string // JSON Pointer → decrypted plaintext of encrypted fields
	requestID   string
	w           http.ResponseWriter
	r           *http.Request
}

// answer is what a handler returns.
type answer struct {
	status int
	body   any // marshalled to JSON; nil for no body
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

// ServeHTTP implements http.Handler.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	reqID := e.requestID()
	h := w.Header()
	h.Set("Server", "nginx")
	h.Set("Request-ID", reqID)
	h.Set("Cache-Control", "no-cache, must-revalidate")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Language", "zh-CN")

	status := e.serve(w, r, reqID)
	if e.logger != nil {
		e.logger.Info("emulator", "method", r.Method, "path", r.URL.Path, "status", status, "request_id", reqID, "duration", time.Since(start))
	}
}

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request, reqID string) int {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		return e.serveAdmin(w, r)
	}
	if r.Header.Get("Accept") == "" || r.Header.Get("User-Agent") == "" {
		return e.write(w, nil, invalidRequest("Http头缺少Accept或User-Agent"))
	}
	if !acceptsJSON(r.Header.Get("Accept")) {
		return e.write(w, nil, invalidRequest("Http头Accept不支持，请使用application/json"))
	}
	r.Body = http.MaxBytesReader(w, r.Body, e.maxBody)
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return e.write(w, nil, invalidRequest(fmt.Sprintf("请求体过大，不能超过%d字节", e.maxBody)))
		}
		return e.write(w, nil, invalidRequest("请求体读取失败"))
	}
	mchID, pub, fail := e.authenticate(r, raw)
	if fail != nil {
		return e.write(w, nil, *fail)
	}
	req := &request{mchID: mchID, merchantPub: pub, serial: r.Header.Get(wire.HeaderSerial), raw: raw, requestID: reqID, w: w, r: r, query: r.URL.Query()}

	// Answers from here on are signed.
	if r.URL.Path == "/v3/certificates" {
		if r.Method != http.MethodGet {
			return e.write(w, req, apiError(http.StatusMethodNotAllowed, "INVALID_REQUEST", "请求方法不被支持: "+clip(r.Method, 16), nil))
		}
		return e.write(w, req, e.certificates(req))
	}
	op, params, found := apispec.Match(r.Method, r.URL.EscapedPath())
	if !found {
		if apispec.PathExists(r.URL.EscapedPath()) {
			return e.write(w, req, apiError(http.StatusMethodNotAllowed, "INVALID_REQUEST", "请求方法不被支持: "+clip(r.Method, 16), nil))
		}
		return e.write(w, req, apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "请求的URL不存在", nil))
	}
	req.op, req.params = op, params

	fault := e.faults.lookup(op)
	if fault != nil {
		if an, handled := e.preFault(req, fault); handled {
			if an.status == 0 {
				return 0 // connection dropped
			}
			return e.write(w, req, an)
		}
	}
	if an, bad := e.parse(req); bad {
		return e.write(w, req, an)
	}
	an := e.dispatch(req)
	if fault != nil && an.status >= 200 && an.status < 300 && fault.DropAfterCommitRate > 0 && e.float() < fault.DropAfterCommitRate {
		dropConnection(w)
		return 0
	}
	return e.writeFault(w, req, an, fault)
}

func acceptsJSON(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err == nil && (mt == "application/json" || mt == "*/*" || mt == "application/*") {
			return true
		}
	}
	return false
}

// parse checks the content type, decodes the body, decrypts encrypted fields and
// validates everything against the spec.
func (e *Emulator) parse(req *request) (answer, bool) {
	op, r := req.op, req.r
	if op.HasBody {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			return invalidRequest("Content-Type必须为application/json"), true
		}
		dec := json.NewDecoder(bytes.NewReader(req.raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return apiError(http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON: "+clip(err.Error(), 80), nil), true
		}
		if dec.More() {
			return apiError(http.StatusBadRequest, "PARAM_ERROR", "请求体不是合法的JSON: 多余的内容", nil), true
		}
		obj, isObj := v.(map[string]any)
		if !isObj {
			return apiError(http.StatusBadRequest, "PARAM_ERROR", "请求体必须是JSON对象", nil), true
		}
		req.body = obj
	} else if len(bytes.TrimSpace(req.raw)) > 0 {
		return invalidRequest(r.Method + "请求不能携带请求体"), true
	}
	if op.EncryptsRequest() {
		if req.serial == "" {
			return apiError(http.StatusBadRequest, "PARAM_ERROR", "Http头缺少Wechatpay-Serial", map[string]any{
				"field": "Wechatpay-Serial", "location": "header", "issue": "required when the request carries encrypted fields"}), true
		}
		if e.decryptionKey(req.serial) == nil {
			return apiError(http.StatusBadRequest, "PARAM_ERROR", "Wechatpay-Serial无效，请使用微信支付公钥ID或有效的平台证书序列号", map[string]any{
				"field": "Wechatpay-Serial", "value": clip(req.serial, 64), "location": "header", "issue": "names no key of this service"}), true
		}
	}
	if an, bad := e.validate(req); bad {
		return an, true
	}
	return answer{}, false
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

func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection without answering
}
