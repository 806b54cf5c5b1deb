package wxpay_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/wxpaykit/wxpay"
)

func TestRequestIsSignedOverExactBytes(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, okJSON(`{"ok":true}`))
	c := newClient(t, ts)
	ctx := context.Background()

	tests := []struct {
		name       string
		do         func() (*wxpay.Response, error)
		wantMethod string
		wantTarget string
		wantBody   string
	}{
		{
			name: "GET with encoded query and no body",
			do: func() (*wxpay.Response, error) {
				return c.Chain("v3/marketing/membercard-open/phonenumber-member/search").Get(ctx,
					wxpay.Query("encrypted_phone_number", "ab+c/d=="), wxpay.Query("card_id", "pbLat"))
			},
			wantMethod: "GET",
			wantTarget: testPrefix + "/v3/marketing/membercard-open/phonenumber-member/search?card_id=pbLat&encrypted_phone_number=ab%2Bc%2Fd%3D%3D",
		},
		{
			name: "POST keeps the path parameter's case and escapes it",
			do: func() (*wxpay.Response, error) {
				return c.Chain("/v3/marketing/membercard-open/cards/{card_id}/users/import").Post(ctx,
					map[string]string{"openid": "obLatjnx9gnqzS4myYGmLZ7LgLBA", "out_request_no": "100002322019090134234sfdf"},
					wxpay.PathParam("card_id", "pbLat/x y"))
			},
			wantMethod: "POST",
			wantTarget: testPrefix + "/v3/marketing/membercard-open/cards/pbLat%2Fx%20y/users/import",
			wantBody:   `{"openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","out_request_no":"100002322019090134234sfdf"}`,
		},
		{
			name: "raw JSON body is sent byte for byte",
			do: func() (*wxpay.Response, error) {
				return c.Chain("v3/marketing/membercard-open/callback").Patch(ctx, json.RawMessage("{ \"notify_url\" : \"https://a.example/n?x=1&y=2\" }\n"))
			},
			wantMethod: "PATCH",
			wantTarget: testPrefix + "/v3/marketing/membercard-open/callback",
			wantBody:   "{ \"notify_url\" : \"https://a.example/n?x=1&y=2\" }\n",
		},
		{
			name: "DELETE",
			do: func() (*wxpay.Response, error) {
				return c.Chain("v3/marketing/membercard-open/cards/{card_id}").Delete(ctx, wxpay.PathParam("card_id", "pbLatjvWOibDc5-TBnbUk1pD12o0"))
			},
			wantMethod: "DELETE",
			wantTarget: testPrefix + "/v3/marketing/membercard-open/cards/pbLatjvWOibDc5-TBnbUk1pD12o0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := tt.do()
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if resp.RequestID == "" || resp.StatusCode != 200 {
				t.Errorf("response = %+v", resp)
			}
			got := ts.last()
			if got.Method != tt.wantMethod || got.Target != tt.wantTarget {
				t.Errorf("sent %s %s, want %s %s", got.Method, got.Target, tt.wantMethod, tt.wantTarget)
			}
			if string(got.Body) != tt.wantBody {
				t.Errorf("body = %q, want %q", got.Body, tt.wantBody)
			}
			if !got.SignatureOK {
				t.Errorf("signature does not verify over %s %s", got.Method, got.Target)
			}
			if got.Auth.MchID != testMchID || got.Auth.SerialNo != testSerial || len(got.Auth.NonceStr) != 32 {
				t.Errorf("authorization = %+v", got.Auth)
			}
			if got.Header.Get("Accept") != "application/json" || !strings.HasPrefix(got.Header.Get("User-Agent"), "wxpay-go/") {
				t.Errorf("headers = %v", got.Header)
			}
			if got.Header.Get("Wechatpay-Serial") != testPubKeyID {
				t.Errorf("Wechatpay-Serial = %q, want the public key ID so the answer is signed with it", got.Header.Get("Wechatpay-Serial"))
			}
		})
	}
}

func TestEachAttemptHasFreshNonceAndClockTimestamp(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, okJSON(`{}`))
	fixed := time.Unix(1554208460, 0)
	// The clock is injected; the server signs with the real clock, so keep skew wide.
	c := newClient(t, ts, wxpay.WithClock(func() time.Time { return fixed }), wxpay.WithClockSkew(100*365*24*time.Hour))
	seen := map[string]bool{}
	for range 5 {
		if _, err := c.Chain("v3/payroll-card/relations/{openid}").Get(context.Background(), wxpay.PathParam("openid", "o1")); err != nil {
			t.Fatal(err)
		}
		a := ts.last().Auth
		if a.Timestamp != "1554208460" {
			t.Errorf("timestamp = %s, want the injected clock", a.Timestamp)
		}
		if seen[a.NonceStr] {
			t.Errorf("nonce %s reused", a.NonceStr)
		}
		seen[a.NonceStr] = true
	}
}

func TestResponseVerification(t *testing.T) {
	t.Parallel()
	k := keys()
	// Both sides use the same whole-second clock so the boundaries are exact.
	now := time.Unix(time.Now().Unix(), 0)
	clock := wxpay.WithClock(func() time.Time { return now })
	body := `{"permission_token":"tok"}`
	signWith := func(key *rsa.PrivateKey, serial string, at time.Time) func(http.Header, []byte) {
		return func(h http.Header, b []byte) { signResponse(h, b, key, serial, at) }
	}
	tests := []struct {
		name string
		sign func(http.Header, []byte)
		opts []wxpay.Option
		want error
	}{
		{name: "valid", sign: signWith(k.platform, testPubKeyID, now)},
		{name: "valid 299s in the past", sign: signWith(k.platform, testPubKeyID, now.Add(-299*time.Second))},
		{name: "valid exactly 300s in the future", sign: signWith(k.platform, testPubKeyID, now.Add(300*time.Second))},
		{name: "tampered body", sign: func(h http.Header, b []byte) {
			signResponse(h, []byte(`{"permission_token":"other"}`), k.platform, testPubKeyID, now)
		}, want: wxpay.ErrSignatureMismatch},
		{name: "signed by the wrong key", sign: signWith(k.other, testPubKeyID, now), want: wxpay.ErrSignatureMismatch},
		{name: "unknown serial", sign: signWith(k.platform, "PUB_KEY_ID_0000000000000024101100397200000006", now), want: wxpay.ErrUnknownSerial},
		{name: "timestamp 301s in the past", sign: signWith(k.platform, testPubKeyID, now.Add(-301*time.Second)), want: wxpay.ErrClockSkew},
		{name: "timestamp 301s in the future", sign: signWith(k.platform, testPubKeyID, now.Add(301*time.Second)), want: wxpay.ErrClockSkew},
		{name: "narrower configured skew", sign: signWith(k.platform, testPubKeyID, now.Add(-90*time.Second)),
			opts: []wxpay.Option{wxpay.WithClockSkew(time.Minute)}, want: wxpay.ErrClockSkew},
		{name: "signature probe", sign: func(h http.Header, b []byte) {
			signResponse(h, b, k.platform, testPubKeyID, now)
			h.Set("Wechatpay-Signature", "WECHATPAY/SIGNTEST/"+h.Get("Wechatpay-Signature"))
		}, want: wxpay.ErrSignatureProbe},
		{name: "signature not base64", sign: func(h http.Header, b []byte) {
			signResponse(h, b, k.platform, testPubKeyID, now)
			h.Set("Wechatpay-Signature", "!!!")
		}, want: wxpay.ErrSignatureMismatch},
		{name: "unsupported signature type", sign: func(h http.Header, b []byte) {
			signResponse(h, b, k.platform, testPubKeyID, now)
			h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3")
		}, want: wxpay.ErrSignatureMismatch},
		{name: "platform certificate serial", sign: signWith(k.platform, k.certSerial, now),
			opts: []wxpay.Option{wxpay.WithPlatformCertificate(k.cert)}},
	}
	for _, h := range []string{"Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature", "Wechatpay-Serial"} {
		tests = append(tests, struct {
			name string
			sign func(http.Header, []byte)
			opts []wxpay.Option
			want error
		}{name: "missing " + h, sign: func(hh http.Header, b []byte) {
			signResponse(hh, b, k.platform, testPubKeyID, now)
			hh.Del(h)
		}, want: wxpay.ErrMissingSignature})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, func(seenRequest) reply { return reply{body: body, sign: tt.sign} })
			c := newClient(t, ts, append([]wxpay.Option{clock}, tt.opts...)...)
			resp, err := c.Chain("v3/marketing/membercard-open/cards/{card_id}/permission-tokens").
				Post(context.Background(), map[string]string{"activate_type": "AUTO_ACTIVATE"}, wxpay.PathParam("card_id", "c1"))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("error = %v, want %v", err, tt.want)
			}
			var ve *wxpay.VerificationError
			if !errors.As(err, &ve) || ve.Response == nil || string(ve.Response.Body) != body {
				t.Fatalf("the unverified response must stay reachable: %#v", err)
			}
			if resp == nil || resp.RequestID == "" {
				t.Errorf("response = %v, want it returned alongside the error", resp)
			}
		})
	}
}

func TestUnsignedByDesignEndpointsSkipVerification(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(seenRequest) reply {
		return reply{body: "`2019-06-11,`wx123\n", sign: func(http.Header, []byte) {}}
	})
	c := newClient(t, ts)
	ctx := context.Background()
	for _, path := range []string{"v3/billdownload/file", "v3/merchant-service/images/{media_id}"} {
		resp, err := c.Chain(path).Get(ctx, wxpay.Query("token", "t"), func() wxpay.CallOption {
			if strings.Contains(path, "{media_id}") {
				return wxpay.PathParam("media_id", "m1")
			}
			return nil
		}())
		if err != nil || !strings.HasPrefix(string(resp.Body), "`2019") {
			t.Errorf("%s: resp=%v err=%v", path, resp, err)
		}
	}
	// Everything else must be signed, including the image upload endpoint.
	_, err := c.Chain("v3/merchant-service/images/upload").Post(ctx, map[string]string{})
	if !errors.Is(err, wxpay.ErrMissingSignature) {
		t.Errorf("unsigned images/upload: err = %v, want ErrMissingSignature", err)
	}
}

func TestAPIErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		body   string
		want   wxpay.APIError
		detail *wxpay.ErrorDetail
		temp   bool
	}{
		{
			name: "PARAM_ERROR with detail", status: 400,
			body: `{"code":"PARAM_ERROR","message":"参数错误","detail":{"field":"/amount/currency","value":"XYZ","issue":"Currency code is invalid","location":"body"}}`,
			want: wxpay.APIError{StatusCode: 400, Code: "PARAM_ERROR", Message: "参数错误"},
			detail: &wxpay.ErrorDetail{Field: "/amount/currency", Value: "XYZ", Issue: "Currency code is invalid", Location: "body",
				Raw: json.RawMessage(`{"field":"/amount/currency","value":"XYZ","issue":"Currency code is invalid","location":"body"}`)},
		},
		{
			name: "SIGN_ERROR with nested detail", status: 401,
			body:   `{"code":"SIGN_ERROR","message":"错误的签名，验签失败","detail":{"field":"signature","location":"authorization","detail":{"issue":"sign not match"}}}`,
			want:   wxpay.APIError{StatusCode: 401, Code: "SIGN_ERROR", Message: "错误的签名，验签失败"},
			detail: &wxpay.ErrorDetail{Field: "signature", Issue: "sign not match", Location: "authorization", Raw: json.RawMessage(`{"field":"signature","location":"authorization","detail":{"issue":"sign not match"}}`)},
		},
		{
			name: "detail value that is not a string", status: 400,
			body:   `{"code":"PARAM_ERROR","message":"x","detail":{"location":"body","value":12}}`,
			want:   wxpay.APIError{StatusCode: 400, Code: "PARAM_ERROR", Message: "x"},
			detail: &wxpay.ErrorDetail{Value: "12", Location: "body", Raw: json.RawMessage(`{"location":"body","value":12}`)},
		},
		{
			name: "rate limited", status: 429, body: `{"code":"FREQUENCY_LIMITED","message":"频率超限"}`,
			want: wxpay.APIError{StatusCode: 429, Code: "FREQUENCY_LIMITED", Message: "频率超限"}, temp: true,
		},
		{
			name: "nginx HTML page", status: 502, body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>",
			want: wxpay.APIError{StatusCode: 502, Message: "Bad Gateway", Body: "<html>\n<head><title>502 Bad Gateway</title></head>\n</html>"}, temp: true,
		},
		{
			name: "empty 500", status: 500,
			want: wxpay.APIError{StatusCode: 500, Message: "Internal Server Error"}, temp: true,
		},
		{
			name: "JSON without code", status: 404, body: `{"error":"nope"}`,
			want: wxpay.APIError{StatusCode: 404, Message: "Not Found", Body: `{"error":"nope"}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, func(seenRequest) reply { return reply{status: tt.status, body: tt.body} })
			c := newClient(t, ts, wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}))
			_, err := c.Chain("v3/payroll-card/tokens").Post(context.Background(), map[string]string{"openid": "o"})
			var ae *wxpay.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %T %v, want *APIError", err, err)
			}
			want := tt.want
			want.Detail, want.RequestID, want.Method, want.Path, want.Attempts = tt.detail, "08DBF3A5B9061050120817028BCA901-TEST", "POST", "/v3/payroll-card/tokens", 1
			if diff := cmp.Diff(want, *ae, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Header" }, cmp.Ignore())); diff != "" {
				t.Errorf("APIError mismatch (-want +got):\n%s", diff)
			}
			if ae.Temporary() != tt.temp {
				t.Errorf("Temporary() = %v, want %v", ae.Temporary(), tt.temp)
			}
			if ae.Header.Get("Request-Id") == "" {
				t.Error("Header not kept")
			}
			msg := err.Error()
			if !strings.Contains(msg, fmt.Sprint(tt.status)) || !strings.Contains(msg, "request-id") {
				t.Errorf("Error() = %q lacks status or request id", msg)
			}
		})
	}
}

func TestBodiesAreBounded(t *testing.T) {
	t.Parallel()
	big := `{"x":"` + strings.Repeat("a", 2<<20) + `"}`
	ts := newTestServer(t, func(r seenRequest) reply {
		if strings.Contains(r.Target, "error") {
			return reply{status: 500, body: big}
		}
		return reply{body: big}
	})
	c := newClient(t, ts, wxpay.WithMaxResponseBytes(1<<20))
	_, err := c.Chain("v3/ok").Get(context.Background())
	if !errors.Is(err, wxpay.ErrResponseTooLarge) {
		t.Errorf("oversized success body: err = %v, want ErrResponseTooLarge", err)
	}
	_, err = c.Chain("v3/error").Get(context.Background())
	var ae *wxpay.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 500 || len(ae.Body) > 1024 {
		t.Errorf("oversized error body: err = %v", err)
	}
}

func TestNewClientRejectsBadConfiguration(t *testing.T) {
	t.Parallel()
	k := keys()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	merchantCert := selfSigned(k.merchant, mustBig("3775B6A45ACD588826D15E583A95F5DD00000001"), time.Now(), time.Now().Add(time.Hour))
	pub := wxpay.WithPlatformPublicKey(testPubKeyID, &k.platform.PublicKey)
	merchant := wxpay.WithMerchant(testMchID, testSerial, k.merchant)
	tests := []struct {
		name string
		opts []wxpay.Option
		want string
	}{
		{"no merchant", []wxpay.Option{pub}, "WithMerchant"},
		{"empty mchid", []wxpay.Option{wxpay.WithMerchant("", testSerial, k.merchant), pub}, "mchid"},
		{"non-numeric mchid", []wxpay.Option{wxpay.WithMerchant("19000x", testSerial, k.merchant), pub}, "numeric"},
		{"bad serial", []wxpay.Option{wxpay.WithMerchant(testMchID, "not-hex", k.merchant), pub}, "hexadecimal"},
		{"nil signer", []wxpay.Option{wxpay.WithMerchant(testMchID, testSerial, nil), pub}, "private key"},
		{"short merchant key", []wxpay.Option{wxpay.WithMerchant(testMchID, testSerial, small), pub}, "RSA-1024"},
		{"no platform key", []wxpay.Option{merchant}, "no WeChat Pay key"},
		{"public key ID without prefix", []wxpay.Option{merchant, wxpay.WithPlatformPublicKey("5157F09EFDC096DE15EBE81A47057A7232F1B8E1", &k.platform.PublicKey)}, "must start with PUB_KEY_ID_"},
		{"nil public key", []wxpay.Option{merchant, wxpay.WithPlatformPublicKey(testPubKeyID, nil)}, "nil"},
		{"merchant serial listed as platform key", []wxpay.Option{merchant, wxpay.WithPlatformCertificate(merchantCert)}, "merchant certificate serial"},
		{"merchant key listed as platform key", []wxpay.Option{merchant, wxpay.WithPlatformPublicKey(testPubKeyID, &k.merchant.PublicKey)}, "merchant's own public key"},
		{"same ID two keys", []wxpay.Option{merchant, pub, wxpay.WithPlatformPublicKey(testPubKeyID, &k.other.PublicKey)}, "two different keys"},
		{"relative base URL", []wxpay.Option{merchant, pub, wxpay.WithBaseURL("api.mch.weixin.qq.com")}, "absolute http(s) URL"},
		{"base URL with query", []wxpay.Option{merchant, pub, wxpay.WithBaseURL("https://a.example/?x=1")}, "query"},
		{"zero skew", []wxpay.Option{merchant, pub, wxpay.WithClockSkew(0)}, "skew"},
		{"nil http client", []wxpay.Option{merchant, pub, wxpay.WithHTTPClient(nil)}, "WithHTTPClient"},
		{"no attempts", []wxpay.Option{merchant, pub, wxpay.WithRetry(wxpay.RetryPolicy{})}, "MaxAttempts"},
		{"max below base delay", []wxpay.Option{merchant, pub, wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Second})}, "BaseDelay <= MaxDelay"},
		{"backup equals base", []wxpay.Option{merchant, pub, wxpay.WithBaseURL("https://a.example"), wxpay.WithBackupURL("https://a.example/")}, "backup URL is the base URL"},
		{"bad backup", []wxpay.Option{merchant, pub, wxpay.WithBackupURL("ftp://x")}, "backup URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := wxpay.NewClient(tt.opts...)
			if err == nil {
				t.Fatalf("NewClient succeeded (%v), want error mentioning %q", c, tt.want)
			}
			if !errors.Is(err, wxpay.ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want ErrInvalidConfig mentioning %q", err, tt.want)
			}
		})
	}
}

func mustBig(hex string) *big.Int {
	n, ok := new(big.Int).SetString(hex, 16)
	if !ok {
		panic(hex)
	}
	return n
}

func TestChainRejectsBadPathsBeforeSending(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, okJSON(`{}`))
	c := newClient(t, ts)
	ctx := context.Background()
	tests := []struct {
		name string
		tmpl string
		opts []wxpay.CallOption
		want string
	}{
		{"missing parameter", "v3/cards/{card_id}/x", nil, "missing path parameter {card_id}"},
		{"empty parameter", "v3/cards/{card_id}/x", []wxpay.CallOption{wxpay.PathParam("card_id", "")}, "is empty"},
		{"dot-dot parameter", "v3/cards/{card_id}/x", []wxpay.CallOption{wxpay.PathParam("card_id", "..")}, `".."`},
		{"unknown parameter", "v3/cards/{card_id}", []wxpay.CallOption{wxpay.PathParam("card_id", "a"), wxpay.PathParam("cardid", "b")}, "not in the template"},
		{"parameter twice", "v3/cards/{card_id}", []wxpay.CallOption{wxpay.PathParam("card_id", "a"), wxpay.PathParam("card_id", "b")}, "twice"},
		{"empty template", "", nil, "empty URL template"},
		{"empty segment", "v3//cards", nil, "empty segment"},
		{"query in template", "v3/cards?x=1", nil, "wxpay.Query"},
		{"half a parameter", "v3/cards/x{id}", nil, "whole segment"},
		{"bad parameter name", "v3/cards/{card id}", nil, "bad parameter name"},
		{"repeated parameter", "v3/{a}/{a}", []wxpay.CallOption{wxpay.PathParam("a", "1")}, "repeats"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Chain(tt.tmpl).Get(ctx, tt.opts...)
			if !errors.Is(err, wxpay.ErrInvalidRequest) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvalidRequest mentioning %q", err, tt.want)
			}
		})
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.seen) != 0 {
		t.Errorf("%d requests reached the server", len(ts.seen))
	}
}

func TestRefusesToOverrideAuthorization(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, okJSON(`{}`))
	c := newClient(t, ts)
	_, err := c.Chain("v3/x").Get(context.Background(), wxpay.Header("authorization", "x"))
	if !errors.Is(err, wxpay.ErrInvalidRequest) {
		t.Errorf("err = %v", err)
	}
	if _, err := c.Chain("v3/x").Get(context.Background(), wxpay.Header("X-Trace", "t1")); err != nil {
		t.Fatal(err)
	}
	if got := ts.last().Header.Get("X-Trace"); got != "t1" {
		t.Errorf("extra header = %q", got)
	}
}

func TestAsyncFuture(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	ts := newTestServer(t, func(r seenRequest) reply {
		if strings.Contains(r.Target, "slow") {
			<-release
		}
		return reply{body: `{"code":"478515832665"}`}
	})
	t.Cleanup(func() { close(release) })
	c := newClient(t, ts)

	f := c.Chain("v3/fast").PostAsync(context.Background(), map[string]string{"a": "b"})
	select {
	case <-f.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("future never completed")
	}
	resp, err := f.Wait()
	if err != nil || f.Response() != resp {
		t.Fatalf("Wait = %v, %v", resp, err)
	}
	var out struct{ Code string }
	if err := resp.Decode(&out); err != nil || out.Code != "478515832665" {
		t.Errorf("Decode = %v, %+v", err, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	slow := c.Chain("v3/slow").GetAsync(ctx)
	if slow.Response() != nil {
		t.Error("Response() before completion must be nil")
	}
	cancel()
	if _, err := slow.Wait(); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled future: err = %v, want context.Canceled", err)
	}
}

func TestCancelledContextSendsNothing(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, okJSON(`{}`))
	c := newClient(t, ts)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Chain("v3/x").Get(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}
