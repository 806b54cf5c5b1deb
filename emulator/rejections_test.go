package emulator_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
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
	cardPath := "/v3/marketing/membercard-open/cards/" + emulator.DemoCardID
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

// TestRejections: every request the emulator refuses, one row each. Every
// answer has the status, code and exact message of its row, a Request-ID in
// the real shape and a JSON body as application/json; charset=utf-8. Refused
// before authentication (headers, body size, Authorization), it carries no
// Wechatpay-* header, as the observed 401 has none (protocol §4.4); after,
// it is signed and the signature verifies. Only a SIGN_ERROR or a validation
// failure has a detail, naming the failing part; a signature mismatch adds
// the sign_information diagnostic over the message the server hashed. The
// emulator keeps serving after each.
func TestRejections(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer(wxpaytest.WithEmulatorOptions(emulator.WithMaxBodyBytes(1024)))
	t.Cleanup(srv.Close)
	srv.Emulator.SetFault("GetMembercardCallback", emulator.Fault{ErrorRate: 1})
	v := srv.Verifier()

	good := rawRequest{method: "POST", target: permissionPath, body: permissionBody}
	with := func(change func(r *rawRequest)) rawRequest { r := good; change(&r); return r }
	withHeader := func(k, v string) rawRequest { return with(func(r *rawRequest) { r.header = map[string]string{k: v} }) }
	withAuth := func(auth string) rawRequest { return with(func(r *rawRequest) { r.auth = auth }) }
	replayed := with(func(r *rawRequest) { r.nonce = "REPLAYEDNONCE0000000000000000001" })
	if resp, body := replayed.do(t, srv); resp.StatusCode != 200 {
		t.Fatalf("first use of the nonce: %d %v", resp.StatusCode, body)
	}
	long := `{"activate_type":"AUTO_ACTIVATE","outer_str":"` + strings.Repeat("z", 900) + `"}`
	const (
		missingHeader = "Http头缺少Accept或User-Agent"
		authFormat    = "Http头Authorization值格式错误，请参考《微信支付商户REST API签名规则》"
		badSignature  = "错误的签名，验签失败"
		badTimestamp  = "请求的时间戳timestamp与服务器时间相差过大，请检查服务器时间"
		badSerial     = "商户API证书序列号serial_no不存在或已失效"
	)
	type detail struct{ field, location string } // zero: the answer has no detail
	tests := []struct {
		name   string
		req    rawRequest
		status int
		code   string
		msg    string
		signed bool // refused after authentication
		detail detail
	}{
		// Refused before authentication.
		{"missing Accept", withHeader("Accept", ""), 400, "INVALID_REQUEST", missingHeader, false, detail{}},
		{"missing User-Agent", withHeader("User-Agent", ""), 400, "INVALID_REQUEST", missingHeader, false, detail{}},
		{"Accept without JSON", withHeader("Accept", "text/html"), 400, "INVALID_REQUEST", "Http头Accept不支持，请使用application/json", false, detail{}},
		{"oversized body", with(func(r *rawRequest) { r.body = `{"outer_str":"` + strings.Repeat("a", 2000) + `"}` }),
			400, "INVALID_REQUEST", "请求体过大，不能超过1024字节", false, detail{}},
		{"no Authorization", withHeader("Authorization", ""), 400, "INVALID_REQUEST", authFormat, false, detail{}},
		{"another scheme", withAuth(`Bearer abc`), 400, "INVALID_REQUEST", authFormat, false, detail{}},
		{"one unquoted pair", withAuth(`WECHATPAY2-SHA256-RSA2048 mchid=1`), 400, "INVALID_REQUEST", authFormat, false, detail{}},
		{"unquoted values", withAuth(`WECHATPAY2-SHA256-RSA2048 mchid=1900000001,nonce_str=n,signature=s,timestamp=1,serial_no=S`),
			400, "INVALID_REQUEST", authFormat, false, detail{}},
		{"a key missing", withAuth(`WECHATPAY2-SHA256-RSA2048 mchid="1900000001",nonce_str="n",signature="s",timestamp="1"`),
			400, "INVALID_REQUEST", authFormat, false, detail{}},
		{"a key twice", withAuth(`WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="1",nonce_str="n",signature="s",timestamp="1",serial_no="S"`),
			400, "INVALID_REQUEST", authFormat, false, detail{}},
		{"timestamp not a number", withAuth(`WECHATPAY2-SHA256-RSA2048 mchid="1",nonce_str="n",signature="s",timestamp="soon",serial_no="S"`),
			400, "INVALID_REQUEST", authFormat, false, detail{}},
		{"spaces between pairs", withAuth(`WECHATPAY2-SHA256-RSA2048 mchid="1", nonce_str="n", signature="s", timestamp="1", serial_no="S"`),
			400, "INVALID_REQUEST", authFormat, false, detail{}},
		{"unknown mchid", with(func(r *rawRequest) { r.mchID = "1999999999" }),
			401, "SIGN_ERROR", "商户号mchid不存在或未开通APIv3", false, detail{"mchid", "authorization"}},
		{"unknown serial", with(func(r *rawRequest) { r.serial = "0123456789ABCDEF0123456789ABCDEF01234567" }),
			401, "SIGN_ERROR", badSerial, false, detail{"serial_no", "authorization"}},
		{"serial too short to be one", with(func(r *rawRequest) { r.serial = "ABCDEF" }),
			401, "SIGN_ERROR", badSerial, false, detail{"serial_no", "authorization"}},
		{"timestamp 301 s old", with(func(r *rawRequest) { r.at = wxpaytest.Start.Add(-301 * time.Second) }),
			401, "SIGN_ERROR", badTimestamp, false, detail{"timestamp", "authorization"}},
		{"timestamp 301 s ahead", with(func(r *rawRequest) { r.at = wxpaytest.Start.Add(301 * time.Second) }),
			401, "SIGN_ERROR", badTimestamp, false, detail{"timestamp", "authorization"}},
		{"wrong key", with(func(r *rawRequest) { r.key = testkeys.Shared().Other }),
			401, "SIGN_ERROR", badSignature, false, detail{"signature", "authorization"}},
		{"body changed after signing", with(func(r *rawRequest) { r.alterBody = `{"activate_type":"JUMP_ACTIVATE"}` }),
			401, "SIGN_ERROR", badSignature, false, detail{"signature", "authorization"}},
		// Longer than the 512-byte diagnostic: the length is still the real one.
		{"long body changed after signing", with(func(r *rawRequest) { r.body, r.alterBody = long, long+" " }),
			401, "SIGN_ERROR", badSignature, false, detail{"signature", "authorization"}},
		{"signature not Base64", with(func(r *rawRequest) { r.signature = "!!!" }),
			401, "SIGN_ERROR", badSignature, false, detail{"signature", "authorization"}},
		{"replayed nonce", replayed, 401, "SIGN_ERROR", "随机串nonce_str重复使用，请勿重放请求", false, detail{"nonce_str", "authorization"}},
		// Refused after authentication.
		{"unknown path", rawRequest{method: "GET", target: "/v3/nothing/here"}, 404, "RESOURCE_NOT_EXISTS", "请求的URL不存在", true, detail{}},
		{"unknown path under a known prefix", rawRequest{method: "GET", target: "/v3/marketing/nothing"},
			404, "RESOURCE_NOT_EXISTS", "请求的URL不存在", true, detail{}},
		{"wrong method GET", rawRequest{method: "GET", target: permissionPath}, 405, "INVALID_REQUEST", "请求方法不被支持: GET", true, detail{}},
		{"wrong method DELETE", rawRequest{method: "DELETE", target: permissionPath}, 405, "INVALID_REQUEST", "请求方法不被支持: DELETE", true, detail{}},
		{"wrong Content-Type", withHeader("Content-Type", "text/plain"), 400, "INVALID_REQUEST", "Content-Type必须为application/json", true, detail{}},
		{"malformed JSON", with(func(r *rawRequest) { r.body = `{"activate_type":` }),
			400, "PARAM_ERROR", "请求体不是合法的JSON: unexpected EOF", true, detail{}},
		{"a JSON array", with(func(r *rawRequest) { r.body = `[1]` }), 400, "PARAM_ERROR", "请求体必须是JSON对象", true, detail{}},
		{"validation", with(func(r *rawRequest) { r.body = `{"activate_type":"NEVER"}` }),
			400, "PARAM_ERROR", "参数错误", true, detail{"/activate_type", "body"}},
		{"business rule", with(func(r *rawRequest) {
			r.target = "/v3/marketing/membercard-open/cards/pbLatNoSuchCard/permission-tokens"
		}), 400, "INVALID_REQUEST", "会员卡ID无效", true, detail{}},
		{"injected fault", rawRequest{method: "GET", target: "/v3/marketing/membercard-open/callback"},
			500, "SYSTEM_ERROR", "系统异常，请稍后重试", true, detail{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, signed := tt.req.build(t, srv)
			resp, raw, body := send(t, srv, req)
			if resp.StatusCode != tt.status || body["code"] != tt.code || body["message"] != tt.msg {
				t.Fatalf("got %d %v, want %d %s %q", resp.StatusCode, body, tt.status, tt.code, tt.msg)
			}
			if id := resp.Header.Get("Request-ID"); !requestIDShape.MatchString(id) {
				t.Errorf("Request-ID %q", id)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.signed {
				if err := v.Verify(resp.Header, raw); err != nil {
					t.Errorf("answer after authentication does not verify: %v", err)
				}
			} else {
				noWechatpayHeaders(t, resp.Header)
			}
			d, hasDetail := body["detail"].(map[string]any)
			switch {
			case tt.detail == detail{}:
				if _, has := body["detail"]; has {
					t.Errorf("detail %v, want none", body["detail"])
				}
			case !hasDetail || d["field"] != tt.detail.field || d["location"] != tt.detail.location:
				t.Errorf("detail %v, want field %s in %s", body["detail"], tt.detail.field, tt.detail.location)
			}
			info, hasInfo := d["sign_information"].(map[string]any)
			if hasInfo != (tt.detail.field == "signature") {
				t.Fatalf("sign_information %v present = %v", d["sign_information"], hasInfo)
			}
			if hasInfo {
				// The server hashed what it received: the signed message with the sent body.
				want := string(signed)
				if tt.req.alterBody != "" {
					want = strings.TrimSuffix(want, tt.req.body+"\n") + tt.req.alterBody + "\n"
				}
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
			}
			stillServes(t, srv)
		})
	}
}
