package emulator

import (
	"encoding/pem"
	"net/http"
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
