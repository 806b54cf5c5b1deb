package emulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wxpaykit/wxpay/internal/wire"
)

// signError is a 401 SIGN_ERROR in the observed shape.
func signError(message, field, issue string, info map[string]any) *answer {
	detail := map[string]any{"field": field, "location": "authorization", "detail": map[string]any{"issue": issue}}
	if info != nil {
		detail["sign_information"] = info
	}
	a := apiError(http.StatusUnauthorized, "SIGN_ERROR", message, detail)
	return &a
}

// authenticate checks the Authorization header against the raw request line and
// body. The order is: format, merchant, serial, timestamp, signature, replay.
func (e *Emulator) authenticate(r *http.Request, body []byte) (string, *rsa.PublicKey, *answer) {
	a, err := wire.ParseAuthorization(r.Header.Get(wire.HeaderAuthorization))
	if err != nil {
		bad := invalidRequest("Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》")
		return "", nil, &bad
	}
	m := e.merchants[a.MchID]
	if m == nil {
		return "", nil, signError("商户号mchid不存在或未开通APIv3", "mchid", "unknown mchid", nil)
	}
	pub := m.serials[strings.ToUpper(a.SerialNo)] // registered upper-case, as certificate serials are printed
	if pub == nil {
		return "", nil, signError("商户API证书序列号serial_no不存在或已失效", "serial_no", "serial not registered for this mchid", nil)
	}
	ts, _ := strconv.ParseInt(a.Timestamp, 10, 64) // the parser checked it is an integer
	if d := e.now().Sub(time.Unix(ts, 0)); d > e.window || d < -e.window {
		return "", nil, signError("请求的时间戳timestamp与服务器时间相差过大，请检查服务器时间", "timestamp", "timestamp out of window", nil)
	}
	msg := wire.AppendRequestMessage(nil, r.Method, requestTarget(r), a.Timestamp, a.NonceStr, body)
	sig, err := base64.StdEncoding.DecodeString(a.Signature)
	digest := sha256.Sum256(msg)
	if err != nil || rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) != nil {
		truncated := string(cut(msg, 512))
		return "", nil, signError("错误的签名，验签失败", "signature", "sign not match", map[string]any{
			"method": r.Method, "url": requestTarget(r), "sign_message_length": len(msg), "truncated_sign_message": truncated,
		})
	}
	// Nonces are kept for twice the window: older replays fail the timestamp check.
	if !e.nonces.Remember(a.MchID+"\x00"+a.NonceStr, e.now(), 2*e.window) {
		return "", nil, signError("随机串nonce_str重复使用，请勿重放请求", "nonce_str", "nonce replayed", nil)
	}
	return a.MchID, pub, nil
}

// requestTarget is the request target exactly as received (path and raw query,
// never re-encoded). A request handed to ServeHTTP directly, not read by a
// server, has no RequestURI; its URL then stands for what was sent.
func requestTarget(r *http.Request) string {
	if r.RequestURI != "" {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}
