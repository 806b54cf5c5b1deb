package emulator

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"sort"
	"strconv"
)

// certificates answers GET /v3/certificates (protocol §12).
func (e *Emulator) certificates(r *request) answer {
	if len(e.certs) == 0 {
		return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "无可用的平台证书，请在商户平台-API安全申请使用微信支付公钥", nil)
	}
	if e.apiV3Key.IsZero() {
		return apiError(http.StatusInternalServerError, "SYSTEM_ERROR", "模拟器未配置APIv3密钥，无法加密平台证书", nil)
	}
	var data []any
	for _, c := range e.certs {
		nonce := e.randString(12, alnum)
		ct, err := e.apiV3Key.EncryptAEAD(nonce, "certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}))
		if err != nil {
			return apiError(http.StatusInternalServerError, "SYSTEM_ERROR", "系统异常，请稍后重试", nil)
		}
		data = append(data, map[string]any{
			"serial_no": c.serial, "effective_time": rfc3339(c.cert.NotBefore), "expire_time": rfc3339(c.cert.NotAfter),
			"encrypt_certificate": map[string]string{"algorithm": "AEAD_AES_256_GCM", "nonce": nonce, "associated_data": "certificate", "ciphertext": ct},
		})
	}
	return ok(map[string]any{"data": data})
}

// adminPrefix is where the emulator's own, unauthenticated endpoints live, for
// tests that run it in another process. They are outside /v3 and read-only.
const adminPrefix = "/_emulator/"

// serveAdmin answers:
//
//	GET /_emulator/memberships?card_id=…  → {"count": n, "memberships": [{card_id, openid, code, request_no, state, created}]}
//	GET /_emulator/deliveries             → the notification deliveries
func (e *Emulator) serveAdmin(w http.ResponseWriter, r *http.Request) int {
	write := func(status int, v any) int {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
		return status
	}
	if r.Method != http.MethodGet {
		return write(http.StatusMethodNotAllowed, map[string]string{"code": "INVALID_REQUEST", "message": "GET only"})
	}
	switch r.URL.Path {
	case adminPrefix + "memberships":
		type row struct {
			CardID    string `json:"card_id"`
			OpenID    string `json:"openid"`
			Code      string `json:"code"`
			RequestNo string `json:"request_no"`
			State     string `json:"state"`
			Created   string `json:"created"`
		}
		cards := []string{r.URL.Query().Get("card_id")}
		if cards[0] == "" {
			cards = e.CardIDs()
		}
		out := []row{}
		for _, c := range cards {
			for _, m := range e.Memberships(c) {
				out = append(out, row{m.CardID, m.OpenID, m.Code, m.RequestNo, m.State, rfc3339(m.Created)})
			}
		}
		sort.SliceStable(out, func(i, j int) bool { return out[i].CardID < out[j].CardID })
		return write(http.StatusOK, map[string]any{"count": len(out), "memberships": out})
	case adminPrefix + "deliveries":
		return write(http.StatusOK, map[string]any{"deliveries": e.Deliveries()})
	}
	return write(http.StatusNotFound, map[string]string{"code": "RESOURCE_NOT_EXISTS", "message": "unknown admin endpoint " + strconv.Quote(r.URL.Path)})
}
