package emulator_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// requestIDShape is the shape of the real service's Request-IDs, which the
// emulator imitates: 08DBF3A5B9061050120817028BCA901-8E0CC0EDF.
var requestIDShape = regexp.MustCompile(`^[0-9A-F]{31}-[0-9A-F]{9}$`)

const permissionBody = `{"activate_type":"AUTO_ACTIVATE"}`

// noWechatpayHeaders fails when an answer that precedes authentication carries
// any Wechatpay-* header (protocol §4.4: the observed 401 has none).
func noWechatpayHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "wechatpay-") {
			t.Errorf("unauthenticated answer carries %s: %q", k, h.Get(k))
		}
	}
}

// stillServes proves the emulator keeps answering after a rejection.
func stillServes(t *testing.T, srv *wxpaytest.Server) {
	t.Helper()
	resp, body := rawRequest{method: "POST", target: permissionPath, body: permissionBody}.do(t, srv)
	if tok, _ := body["permission_token"].(string); resp.StatusCode != 200 || !strings.HasPrefix(tok, "pt_") {
		t.Fatalf("a good request afterwards: %d %v", resp.StatusCode, body)
	}
}

// The same signed bytes sent twice: the second is a replay (protocol §15.2 leaves
// the real service's behaviour open; the emulator refuses reused nonces).
func TestExactReplayIsRejected(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	const nonce = "REPLAYED0000000000000000000000001"
	first, _ := rawRequest{method: "POST", target: permissionPath, body: permissionBody, nonce: nonce}.build(t, srv)
	again := first.Clone(context.Background())
	again.Body = io.NopCloser(strings.NewReader(permissionBody))
	later := first.Clone(context.Background())
	later.Body = io.NopCloser(strings.NewReader(permissionBody))

	resp, _, body := send(t, srv, first)
	if resp.StatusCode != 200 || body["permission_token"] == nil {
		t.Fatalf("first sending: %d %v", resp.StatusCode, body)
	}
	resp, _, body = send(t, srv, again)
	detail, _ := body["detail"].(map[string]any)
	if resp.StatusCode != 401 || body["code"] != "SIGN_ERROR" || detail["field"] != "nonce_str" || detail["location"] != "authorization" {
		t.Fatalf("replay: %d %v", resp.StatusCode, body)
	}
	noWechatpayHeaders(t, resp.Header)
	// Re-signing another body with the same nonce does not help either.
	resp, body = rawRequest{method: "POST", target: permissionPath, body: `{"activate_type":"JUMP_ACTIVATE","activate_url":"https://x.example/a"}`,
		nonce: nonce}.do(t, srv)
	if resp.StatusCode != 401 || body["code"] != "SIGN_ERROR" {
		t.Errorf("same nonce, new body: %d %v", resp.StatusCode, body)
	}
	// Once the window has passed the replay still fails, now on the timestamp.
	srv.Clock().Advance(6 * time.Minute)
	resp, _, body = send(t, srv, later)
	if detail, _ := body["detail"].(map[string]any); resp.StatusCode != 401 || detail["field"] != "timestamp" {
		t.Errorf("replay after 6 min: %d %v", resp.StatusCode, body)
	}
	stillServes(t, srv)
}

// Every 401 SIGN_ERROR: no Wechatpay-* header, a Request-ID in the real shape,
// a JSON body naming the failing part of the Authorization, and for a signature
// mismatch the sign_information diagnostic with the real message length.
func TestSignErrorAnswers(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	long := `{"activate_type":"AUTO_ACTIVATE","outer_str":"` + strings.Repeat("z", 900) + `"}`
	tests := []struct {
		name  string
		req   rawRequest
		field string // detail.field
		msg   string
	}{
		{"wrong key", rawRequest{method: "POST", target: permissionPath, body: permissionBody, key: testkeys.Shared().Other}, "signature", "错误的签名，验签失败"},
		{"body changed after signing", rawRequest{method: "POST", target: permissionPath, body: permissionBody, alterBody: `{"activate_type":"JUMP_ACTIVATE"}`}, "signature", "错误的签名，验签失败"},
		// Longer than the 512-byte diagnostic: the length is still the real one.
		{"long body changed after signing", rawRequest{method: "POST", target: permissionPath, body: long, alterBody: long + " "}, "signature", "错误的签名，验签失败"},
		{"signature not Base64", rawRequest{method: "POST", target: permissionPath, body: permissionBody,
			auth: `WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="N0000000000000000000000000000001",signature="!!!",timestamp="` +
				unix(wxpaytest.Start) + `",serial_no="` + wxpaytest.MerchantSerial + `"`}, "signature", "错误的签名，验签失败"},
		{"unknown mchid", rawRequest{method: "POST", target: permissionPath, body: permissionBody, mchID: "1999999999"}, "mchid", "商户号mchid不存在或未开通APIv3"},
		{"unknown serial", rawRequest{method: "POST", target: permissionPath, body: permissionBody, serial: "0123456789ABCDEF0123456789ABCDEF01234567"}, "serial_no", "商户API证书序列号serial_no不存在或已失效"},
		{"timestamp 301 s old", rawRequest{method: "POST", target: permissionPath, body: permissionBody, at: wxpaytest.Start.Add(-301 * time.Second)}, "timestamp", "请求的时间戳timestamp与服务器时间相差过大，请检查服务器时间"},
		{"timestamp 301 s ahead", rawRequest{method: "POST", target: permissionPath, body: permissionBody, at: wxpaytest.Start.Add(301 * time.Second)}, "timestamp", "请求的时间戳timestamp与服务器时间相差过大，请检查服务器时间"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, signed := tt.req.build(t, srv)
			resp, _, body := send(t, srv, req)
			if resp.StatusCode != 401 || body["code"] != "SIGN_ERROR" || body["message"] != tt.msg {
				t.Fatalf("got %d %v, want 401 SIGN_ERROR %s", resp.StatusCode, body, tt.msg)
			}
			noWechatpayHeaders(t, resp.Header)
			if id := resp.Header.Get("Request-ID"); !requestIDShape.MatchString(id) {
				t.Errorf("Request-ID %q", id)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			detail, _ := body["detail"].(map[string]any)
			if detail["field"] != tt.field || detail["location"] != "authorization" {
				t.Errorf("detail %v, want field %s in authorization", detail, tt.field)
			}
			if tt.field != "signature" || tt.req.auth != "" {
				return
			}
			// The server hashed what it received: the signed message with the sent body.
			want := string(signed)
			if tt.req.alterBody != "" {
				want = strings.TrimSuffix(want, tt.req.body+"\n") + tt.req.alterBody + "\n"
			}
			info, _ := detail["sign_information"].(map[string]any)
			if n, _ := info["sign_message_length"].(float64); int(n) != len(want) {
				t.Errorf("sign_message_length %v, want %d", info["sign_message_length"], len(want))
			}
			if info["method"] != "POST" || info["url"] != permissionPath {
				t.Errorf("sign_information %v", info)
			}
			truncated, _ := info["truncated_sign_message"].(string)
			if !strings.HasPrefix(want, truncated) || len(truncated) != min(len(want), 512) {
				t.Errorf("truncated_sign_message (%d bytes) is not the first %d bytes of the message", len(truncated), min(len(want), 512))
			}
			stillServes(t, srv)
		})
	}
}

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// Everything refused before authentication is 400 INVALID_REQUEST without
// Wechatpay-* headers; the emulator keeps serving after each.
func TestRejectedBeforeAuthentication(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer(wxpaytest.WithEmulatorOptions(emulator.WithMaxBodyBytes(1024)))
	t.Cleanup(srv.Close)
	good := rawRequest{method: "POST", target: permissionPath, body: permissionBody}
	authFormat := "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"
	malformed := func(auth string) rawRequest { r := good; r.auth = auth; return r }
	withHeader := func(k, v string) rawRequest { r := good; r.header = map[string]string{k: v}; return r }
	tests := []struct {
		name string
		req  rawRequest
		msg  string
	}{
		{"missing Accept", withHeader("Accept", ""), "Http头缺少Accept或User-Agent"},
		{"missing User-Agent", withHeader("User-Agent", ""), "Http头缺少Accept或User-Agent"},
		{"oversized body", rawRequest{method: "POST", target: permissionPath, body: `{"outer_str":"` + strings.Repeat("a", 2000) + `"}`}, "请求体过大，不能超过1024字节"},
		{"no Authorization", withHeader("Authorization", ""), authFormat},
		{"another scheme", malformed(`Bearer abc`), authFormat},
		{"unquoted values", malformed(`WECHATPAY2-SHA256-RSA2048 mchid=1900000001,nonce_str=n,signature=s,timestamp=1,serial_no=S`), authFormat},
		{"a key missing", malformed(`WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="n",signature="s",timestamp="1"`), authFormat},
		{"a key twice", malformed(`WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="1",nonce_str="n",signature="s",timestamp="1",serial_no="S"`), authFormat},
		{"timestamp not a number", malformed(`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",signature="s",timestamp="soon",serial_no="S"`), authFormat},
		{"spaces between pairs", malformed(`WECHATPAY2-SHA256-RSA2048 mchid="1", nonce_str="n", signature="s", timestamp="1", serial_no="S"`), authFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := tt.req.do(t, srv)
			if resp.StatusCode != 400 || body["code"] != "INVALID_REQUEST" || body["message"] != tt.msg {
				t.Fatalf("got %d %v, want 400 INVALID_REQUEST %s", resp.StatusCode, body, tt.msg)
			}
			noWechatpayHeaders(t, resp.Header)
			stillServes(t, srv)
		})
	}
}

// The window is ±300 s around the emulator's clock, checked through the real
// client with its clock set off (wxpay.WithClock).
func TestClientClockWindow(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	for _, tt := range []struct {
		offset time.Duration
		ok     bool
	}{
		{-301 * time.Second, false},
		{301 * time.Second, false},
		{-299 * time.Second, true},
		{299 * time.Second, true},
		{0, true},
	} {
		t.Run(tt.offset.String(), func(t *testing.T) {
			c, err := srv.NewClient(wxpay.WithClock(func() time.Time { return srv.Now().Add(tt.offset) }),
				wxpay.WithClockSkew(time.Hour), wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}))
			if err != nil {
				t.Fatal(err)
			}
			err = permission(context.Background(), c)
			if tt.ok {
				if err != nil {
					t.Fatalf("%v off: %v", tt.offset, err)
				}
				return
			}
			var ae *wxpay.APIError
			if !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Code != "SIGN_ERROR" || ae.Detail == nil || ae.Detail.Field != "timestamp" ||
				ae.RequestID == "" || ae.Header.Get("Wechatpay-Signature") != "" {
				t.Fatalf("%v off: %v", tt.offset, err)
			}
		})
	}
}

// What real SDKs send is accepted: keys in any order (§3.3), wechatpay-go's
// trailing newline after the JSON (§3.1), Accept */* and the PHP Accept list,
// a charset on Content-Type, Content-Type on a GET (§3.4). Each answer verifies.
func TestAcceptsWhatSDKsSend(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	v := srv.Verifier()
	cardPath := "/v3/marketing/membercard-open/cards/" + wxpaytest.CardID
	tests := []struct {
		name string
		req  rawRequest
	}{
		{"Go SDK key order, trailing newline, Accept */*", rawRequest{method: "POST", target: permissionPath, body: permissionBody + "\n",
			header: map[string]string{"Accept": "*/*", "User-Agent": "WechatPay-Go/0.2.21 (linux) GO/go1.22.0"}}},
		{"PHP SDK Accept list and charset", rawRequest{method: "POST", target: permissionPath, body: permissionBody,
			header: map[string]string{"Accept": "application/json, text/plain, application/x-gzip, application/pdf, image/png, image/*;q=0.5",
				"Content-Type": "application/json; charset=utf-8"}}},
		{"GET with Content-Type and no body", rawRequest{method: "GET", target: cardPath}},
		{"query string is signed as sent", rawRequest{method: "GET", target: "/v3/marketing/membercard-open/cards?offset=0&limit=5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := tt.req.build(t, srv)
			resp, raw, body := send(t, srv, req)
			if resp.StatusCode != 200 {
				t.Fatalf("%d %v", resp.StatusCode, body)
			}
			if err := v.Verify(resp.Header, raw); err != nil {
				t.Errorf("answer does not verify: %v", err)
			}
		})
	}
	t.Run("Authorization keys in reverse order", func(t *testing.T) {
		req, _ := rawRequest{method: "POST", target: permissionPath, body: permissionBody}.build(t, srv)
		auth := strings.TrimPrefix(req.Header.Get("Authorization"), "WECHATPAY2-SHA256-RSA2048 ")
		pairs := strings.Split(auth, ",")
		for i, j := 0, len(pairs)-1; i < j; i, j = i+1, j-1 {
			pairs[i], pairs[j] = pairs[j], pairs[i]
		}
		req.Header.Set("Authorization", "WECHATPAY2-SHA256-RSA2048 "+strings.Join(pairs, ","))
		if resp, _, body := send(t, srv, req); resp.StatusCode != 200 {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
	})
}

// After authentication every answer is signed, errors included, and verifies.
func TestErrorsAfterAuthenticationAreSigned(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	srv.Emulator.SetFault("GetMembercardCallback", emulator.Fault{ErrorRate: 1})
	v := srv.Verifier()
	tests := []struct {
		name   string
		req    rawRequest
		status int
		code   string
	}{
		{"unknown URL", rawRequest{method: "GET", target: "/v3/marketing/nothing"}, 404, "RESOURCE_NOT_EXISTS"},
		{"wrong method", rawRequest{method: "DELETE", target: permissionPath}, 405, "INVALID_REQUEST"},
		{"validation", rawRequest{method: "POST", target: permissionPath, body: `{"activate_type":"NEVER"}`}, 400, "PARAM_ERROR"},
		{"malformed JSON", rawRequest{method: "POST", target: permissionPath, body: `{"activate_type":`}, 400, "PARAM_ERROR"},
		{"wrong Content-Type", rawRequest{method: "POST", target: permissionPath, body: permissionBody, header: map[string]string{"Content-Type": "text/plain"}}, 400, "INVALID_REQUEST"},
		{"business rule", rawRequest{method: "POST", target: "/v3/marketing/membercard-open/cards/pbLatNoSuchCard/permission-tokens", body: permissionBody}, 400, "INVALID_REQUEST"},
		{"injected fault", rawRequest{method: "GET", target: "/v3/marketing/membercard-open/callback"}, 500, "SYSTEM_ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := tt.req.build(t, srv)
			resp, raw, body := send(t, srv, req)
			if resp.StatusCode != tt.status || body["code"] != tt.code {
				t.Fatalf("got %d %v, want %d %s", resp.StatusCode, body, tt.status, tt.code)
			}
			if err := v.Verify(resp.Header, raw); err != nil {
				t.Errorf("error answer does not verify: %v", err)
			}
		})
	}
}
