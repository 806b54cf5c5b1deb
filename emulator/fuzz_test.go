package emulator_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/apispec"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/internal/wire"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// seal replaces the wxpay.Sensitive values that minimal puts in encrypted
// fields with ciphertext for the server's public key.
func seal(t testing.TB, v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = seal(t, e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = seal(t, e)
		}
		return out
	case wxpay.Sensitive:
		ct, err := wxpay.EncryptOAEP(nil, &testkeys.Shared().Platform.PublicKey, []byte(x))
		if err != nil {
			t.Fatal(err)
		}
		return ct
	}
	return v
}

// minimalRequest is op's minimal valid request as raw parts: the request
// target, the body and whether it needs Wechatpay-Serial.
func minimalRequest(t testing.TB, op *apispec.Operation, fx fixtures) (target string, body []byte, serial bool) {
	path := op.Path
	for _, p := range op.PathParams {
		v, ok := fixture(op, p.Name, fx)
		if !ok {
			v = "abc123"
		}
		path = strings.Replace(path, "{"+p.Name+"}", url.PathEscape(v), 1)
	}
	q := url.Values{}
	for _, f := range op.Query {
		v, ok := fixture(op, f.Name, fx)
		switch {
		case f.Encrypted:
			v = seal(t, wxpay.Sensitive("13800138000")).(string)
		case ok:
		case f.Required && f.Type == apispec.Integer:
			v = "1"
		case f.Required:
			v = minimalString(f)
		default:
			continue
		}
		q.Set(f.Name, v)
	}
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	if op.HasBody {
		m := minimal(op, op.Body, fx, true)
		if op.ID == "CreatePayrollCardToken" || op.ID == "ValidatePayrollCardToken" {
			m["sub_appid"] = emulator.DemoSubAppID
		}
		var err error
		if body, err = json.Marshal(seal(t, m)); err != nil {
			t.Fatal(err)
		}
	}
	return path, body, op.EncryptsRequest()
}

// FuzzSignedRequest sends correctly signed requests with arbitrary method,
// target, content type, Wechatpay-Serial and body, so that fuzzing reaches
// routing, validation, decryption and the operations behind authentication.
// Whatever arrives, the emulator answers without panicking; the signature over
// the raw target and body always verifies (no 401); every error is a JSON
// error body; every 2xx answer is signed and verifies with the platform key.
// The seed corpus is a minimal valid request for each operation of the spec.
func FuzzSignedRequest(f *testing.F) {
	srv := wxpaytest.NewServer()
	f.Cleanup(srv.Close)
	fx, err := prepare(context.Background(), srv.Client(), srv)
	if err != nil {
		f.Fatal(err)
	}
	for _, op := range apispec.Operations() {
		target, body, needsSerial := minimalRequest(f, op, fx)
		serial := ""
		if needsSerial {
			serial = emulator.DemoPublicKeyID
		}
		f.Add(op.Method, target, "application/json", serial, body)
	}
	f.Add("POST", permissionPath, "application/json; charset=utf-8", "", []byte(`{"activate_type":"AUTO_ACTIVATE","outer_str":null}`))
	f.Add("GET", "/v3/certificates?algorithm_type=RSA", "", "", []byte(nil))
	f.Add("POST", "/v3/payroll-card/tokens", "application/json", "PUB_KEY_ID_0", []byte(`{"user_name":"x"}`))

	k := testkeys.Shared()
	var seq atomic.Int64
	f.Fuzz(func(t *testing.T, method, target, contentType, serial string, body []byte) {
		if !validMethod(method) || !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " #\x00\r\n\t") {
			return
		}
		req, err := http.NewRequest(method, "http://127.0.0.1"+target, bytes.NewReader(body))
		if err != nil || req.URL.RequestURI() == "" {
			return
		}
		if op, _, _ := apispec.Match(method, req.URL.EscapedPath()); op != nil && op.Upload != nil && strings.Contains(strings.ToLower(contentType), "multipart") {
			return // an upload is signed over its meta part: FuzzUpload covers it
		}
		req.RequestURI = target
		nonce := fmt.Sprintf("FUZZ%028d", seq.Add(1))
		ts := strconv.FormatInt(srv.Now().Unix(), 10)
		d := sha256.Sum256(wire.AppendRequestMessage(nil, method, target, ts, nonce, body))
		sig, err := rsa.SignPKCS1v15(nil, k.Merchant, crypto.SHA256, d[:])
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "fuzz")
		req.Header.Set("Authorization", wire.Authorization{MchID: emulator.DemoMchID, SerialNo: emulator.DemoMerchantSerial,
			NonceStr: nonce, Timestamp: ts, Signature: base64.StdEncoding.EncodeToString(sig)}.String())
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if serial != "" {
			req.Header.Set("Wechatpay-Serial", serial)
		}
		w := httptest.NewRecorder()
		srv.Emulator.ServeHTTP(w, req)

		res := w.Result()
		got := w.Body.Bytes()
		switch {
		case res.Header.Get("Request-ID") == "":
			t.Fatalf("%d without Request-ID", res.StatusCode)
		case res.StatusCode == http.StatusUnauthorized:
			t.Fatalf("a correctly signed %s %q was refused: %s", method, target, got)
		case res.StatusCode < 200 || res.StatusCode >= 600:
			t.Fatalf("status %d", res.StatusCode)
		case res.StatusCode >= 300:
			var e struct{ Code, Message string }
			if err := json.Unmarshal(got, &e); err != nil || e.Code == "" || e.Message == "" ||
				res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
				t.Fatalf("%d error body %q (%s)", res.StatusCode, got, res.Header.Get("Content-Type"))
			}
			if len(body) <= 1<<20 && res.Header.Get("Wechatpay-Signature") == "" {
				t.Fatalf("an error after authentication is unsigned: %d %s", res.StatusCode, got)
			}
			return
		case res.StatusCode == http.StatusNoContent && len(got) != 0:
			t.Fatalf("204 with a body %q", got)
		case strings.HasPrefix(req.URL.Path, "/v3/billdownload/"):
			// A file, unsigned by design (protocol §11).
			if res.Header.Get("Wechatpay-Signature") != "" || len(got) == 0 {
				t.Fatalf("file answer: signature %q, %d bytes", res.Header.Get("Wechatpay-Signature"), len(got))
			}
			return
		case res.StatusCode != http.StatusNoContent && !json.Valid(got):
			t.Fatalf("%d answer is not JSON: %q", res.StatusCode, got)
		}
		sigBytes, err := base64.StdEncoding.DecodeString(res.Header.Get("Wechatpay-Signature"))
		if err != nil || res.Header.Get("Wechatpay-Serial") != emulator.DemoPublicKeyID {
			t.Fatalf("2xx without a usable signature: %v", res.Header)
		}
		rd := sha256.Sum256(wire.AppendResponseMessage(nil, res.Header.Get("Wechatpay-Timestamp"), res.Header.Get("Wechatpay-Nonce"), got))
		if err := rsa.VerifyPKCS1v15(&k.Platform.PublicKey, crypto.SHA256, rd[:], sigBytes); err != nil {
			t.Fatalf("the answer's signature does not verify: %v", err)
		}
	})
}
