package emulator

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

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
	upload      *upload // the parts of a media upload
}

// family is the product family of the request's operation.
func (r *request) family() Family { return Family(r.op.Family) }

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

	e.boundReads(w)
	status := e.serve(w, r, reqID)
	if e.logger != nil {
		e.logger.Info("emulator", "method", r.Method, "path", r.URL.Path, "status", status, "request_id", reqID, "duration", time.Since(start))
	}
}

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request, reqID string) int {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		return e.serveControl(w, r)
	}
	if r.Header.Get("Accept") == "" || r.Header.Get("User-Agent") == "" {
		return e.write(w, nil, invalidRequest("Http头缺少Accept或User-Agent"))
	}
	if !acceptsJSON(r.Header.Get("Accept")) {
		return e.write(w, nil, invalidRequest("Http头Accept不支持，请使用application/json"))
	}
	// An upload's body is larger than a JSON body, and its signature covers
	// only its meta part (protocol §10).
	upOp, _, _ := apispec.Match(r.Method, r.URL.EscapedPath())
	limit := e.maxBody
	if upOp != nil && upOp.Upload != nil {
		limit = uploadBodyLimit(upOp)
	}
	raw, refused := e.readBody(w, r, limit)
	if refused != nil {
		return e.write(w, nil, *refused)
	}
	signed := raw
	var up *upload
	if upOp != nil && upOp.Upload != nil && strings.HasPrefix(strings.ToLower(r.Header.Get("Content-Type")), "multipart/") {
		var bad *answer
		if up, bad = parseUpload(r, raw); bad != nil {
			return e.write(w, nil, *bad)
		}
		signed = up.meta
	}
	mchID, pub, fail := e.authenticate(r, signed)
	if fail != nil {
		return e.write(w, nil, *fail)
	}
	req := &request{mchID: mchID, merchantPub: pub, serial: r.Header.Get(wire.HeaderSerial), raw: raw, requestID: reqID, w: w, r: r, query: r.URL.Query(), upload: up}

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
	if op.Upload != nil {
		return answer{}, false // the upload handler checks its parts
	}
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

func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // net/http closes the connection without answering
}
