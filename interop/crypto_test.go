package interop

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/credentials"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/internal/wire"
)

type captured struct {
	method, target string
	header         http.Header
	body           []byte
}

// server records requests and answers with a body signed by sign.
func server(t *testing.T, body string, sign func(h http.Header, body []byte)) (*httptest.Server, func() captured) {
	t.Helper()
	var mu sync.Mutex
	var last captured
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		mu.Lock()
		last = captured{r.Method, r.URL.RequestURI(), r.Header.Clone(), b}
		mu.Unlock()
		sign(w.Header(), []byte(body))
		w.Header().Set("Request-ID", "interop")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() captured { mu.Lock(); defer mu.Unlock(); return last }
}

// officialSign signs a response the way WeChat Pay does, using the official SDK's signer.
func officialSign(t *testing.T, serial string) func(http.Header, []byte) {
	k := testkeys.Shared()
	signer := &signers.SHA256WithRSASigner{MchID: "wechatpay", PrivateKey: k.Platform, CertificateSerialNo: serial}
	return func(h http.Header, body []byte) {
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		nonce := "a4a9a2f5c1e34e0bb3f7e6d0d5c7b8a9"
		res, err := signer.Sign(context.Background(), ts+"\n"+nonce+"\n"+string(body)+"\n")
		if err != nil {
			t.Errorf("official signer: %v", err)
			return
		}
		h.Set("Wechatpay-Timestamp", ts)
		h.Set("Wechatpay-Nonce", nonce)
		h.Set("Wechatpay-Signature", res.Signature)
		h.Set("Wechatpay-Serial", serial)
		h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	}
}

func newClient(t *testing.T, baseURL string, opts ...wxpay.Option) *wxpay.Client {
	t.Helper()
	k := testkeys.Shared()
	c, err := wxpay.NewClient(append([]wxpay.Option{
		wxpay.WithMerchant(testkeys.MchID, testkeys.MerchantSerial, k.Merchant),
		wxpay.WithPlatformPublicKey(testkeys.PublicKeyID, &k.Platform.PublicKey),
		wxpay.WithBaseURL(baseURL),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The official verifier, given the merchant's public key, accepts the signature
// wxpay puts on requests, for every method and for queries and encrypted bodies.
func TestOfficialVerifierAcceptsOurRequestSignatures(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	srv, last := server(t, `{}`, officialSign(t, testkeys.PublicKeyID))
	c := newClient(t, srv.URL)
	verifier := verifiers.NewSHA256WithRSAPubkeyVerifier(testkeys.MerchantSerial, k.Merchant.PublicKey)
	ctx := context.Background()

	calls := map[string]func() error{
		"GET with query": func() error {
			_, err := c.Chain("v3/marketing/membercard-open/phonenumber-member/search").Get(ctx, wxpay.Query("encrypted_phone_number", "a+b/c="))
			return err
		},
		"POST with encrypted fields": func() error {
			_, err := c.Chain("v3/payroll-card/tokens").Post(ctx, map[string]any{"openid": "o", "user_name": wxpay.Sensitive("张三")})
			return err
		},
		"PATCH": func() error {
			_, err := c.Chain("v3/marketing/membercard-open/callback").Patch(ctx, map[string]string{"notify_url": "https://a.example/n"})
			return err
		},
		"DELETE with path parameter": func() error {
			_, err := c.Chain("v3/marketing/membercard-open/cards/{card_id}").Delete(ctx, wxpay.PathParam("card_id", "pbLat x"))
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); err != nil {
				t.Fatal(err)
			}
			got := last()
			a, err := wire.ParseAuthorization(got.header.Get("Authorization"))
			if err != nil {
				t.Fatal(err)
			}
			msg := got.method + "\n" + got.target + "\n" + a.Timestamp + "\n" + a.NonceStr + "\n" + string(got.body) + "\n"
			if err := verifier.Verify(ctx, a.SerialNo, msg, a.Signature); err != nil {
				t.Errorf("official verifier rejects our signature: %v", err)
			}
		})
	}
}

// The official SDK's credential builder produces an Authorization header our
// parser reads, and its signature verifies with the same message we build.
func TestOfficialAuthorizationParses(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	cred := &credentials.WechatPayCredentials{Signer: &signers.SHA256WithRSASigner{
		MchID: testkeys.MchID, PrivateKey: k.Merchant, CertificateSerialNo: testkeys.MerchantSerial}}
	body := `{"openid":"o"}`
	h, err := cred.GenerateAuthorizationHeader(context.Background(), "POST", "/v3/payroll-card/tokens", body)
	if err != nil {
		t.Fatal(err)
	}
	a, err := wire.ParseAuthorization(h)
	if err != nil {
		t.Fatalf("our parser rejects the official header %q: %v", h, err)
	}
	if a.MchID != testkeys.MchID || a.SerialNo != testkeys.MerchantSerial {
		t.Errorf("parsed %+v", a)
	}
	msg := wire.AppendRequestMessage(nil, "POST", "/v3/payroll-card/tokens", a.Timestamp, a.NonceStr, []byte(body))
	v := verifiers.NewSHA256WithRSAPubkeyVerifier(testkeys.MerchantSerial, k.Merchant.PublicKey)
	if err := v.Verify(context.Background(), a.SerialNo, string(msg), a.Signature); err != nil {
		t.Errorf("message mismatch: %v", err)
	}
}

// wxpay's verifier accepts responses signed by the official signer, in both
// public-key and certificate mode, and rejects them once tampered.
func TestOurVerifierAcceptsOfficiallySignedResponses(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	for _, mode := range []struct {
		name, serial string
		opts         []wxpay.Option
	}{
		{"public key", testkeys.PublicKeyID, nil},
		{"platform certificate", k.PlatformCertSerial, []wxpay.Option{wxpay.WithPlatformCertificate(k.PlatformCert)}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			body := `{"openid":"o","mchid":"1900000001","sub_mchid":"1","token":"t","expires_in":1800}`
			srv, _ := server(t, body, officialSign(t, mode.serial))
			c := newClient(t, srv.URL, mode.opts...)
			resp, err := c.Chain("v3/payroll-card/tokens").Post(context.Background(), map[string]string{"openid": "o"})
			if err != nil {
				t.Fatalf("official signature rejected: %v", err)
			}
			var out struct {
				ExpiresIn int64 `json:"expires_in"`
			}
			if resp.Decode(&out) != nil || out.ExpiresIn != 1800 {
				t.Errorf("decoded %+v", out)
			}

			sign := officialSign(t, mode.serial)
			tampered, _ := server(t, body, func(h http.Header, b []byte) { sign(h, append([]byte(" "), b...)) })
			c = newClient(t, tampered.URL, mode.opts...)
			if _, err := c.Chain("v3/payroll-card/tokens").Post(context.Background(), map[string]string{}); !errors.Is(err, wxpay.ErrSignatureMismatch) {
				t.Errorf("tampered response: err = %v", err)
			}
		})
	}
}

func TestOAEPBothDirections(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	for _, pt := range []string{"张三", "110101199003077777", "13800138000"} {
		ours, err := wxpay.EncryptOAEP(nil, &k.Platform.PublicKey, []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := utils.DecryptOAEP(ours, k.Platform); err != nil || got != pt {
			t.Errorf("official DecryptOAEP(our ciphertext) = %q, %v", got, err)
		}
		theirs, err := utils.EncryptOAEPWithPublicKey(pt, &k.Merchant.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := wxpay.DecryptOAEP(k.Merchant, theirs); err != nil || string(got) != pt {
			t.Errorf("our DecryptOAEP(official ciphertext) = %q, %v", got, err)
		}
		cert, err := utils.EncryptOAEPWithCertificate(pt, k.PlatformCert)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := wxpay.DecryptOAEP(k.Platform, cert); err != nil || string(got) != pt {
			t.Errorf("certificate ciphertext: %q, %v", got, err)
		}
	}
}

// Sensitive fields sent by wxpay decrypt with the official SDK's decryptor.
func TestOfficialDecryptsOurSensitiveFields(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	srv, last := server(t, `{}`, officialSign(t, testkeys.PublicKeyID))
	c := newClient(t, srv.URL)
	if _, err := c.Chain("v3/payroll-card/tokens").Post(context.Background(), map[string]any{
		"user_name": wxpay.Sensitive("张三"), "id_card_number": wxpay.Sensitive("110101199003077777"),
	}); err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	if err := json.Unmarshal(last().body, &body); err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{"user_name": "张三", "id_card_number": "110101199003077777"} {
		if got, err := utils.DecryptOAEP(body[field], k.Platform); err != nil || got != want {
			t.Errorf("%s: %q, %v", field, got, err)
		}
	}
}

// AES-256-GCM: our ciphertext opens with the official DecryptAES256GCM. The
// official SDK has no AES-GCM encryption, so the other direction is the
// independently computed vector (Python cryptography) that both must open.
func TestAEADBothDirections(t *testing.T) {
	t.Parallel()
	const key = "abcdefghijklmnopqrstuvwxyz012345"
	k, err := wxpay.ParseAPIv3Key(key)
	if err != nil {
		t.Fatal(err)
	}
	pt := `{"card_id":"pbLatjvWOibDc5-TBnbUk1pD12o0","openid":"obLatjnx9gnqzS4myYGmLZ7LgLBA","user_card_code":"478515832665"}`
	for _, aad := range []string{"user_card", "certificate", ""} {
		ct, err := k.EncryptAEAD("j9g1wAzF9Xn1", aad, []byte(pt))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := utils.DecryptAES256GCM(key, aad, "j9g1wAzF9Xn1", ct); err != nil || got != pt {
			t.Errorf("aad %q: official decrypt = %q, %v", aad, got, err)
		}
	}
	const vector = "vX8iabSldiM1QucS9ciAtCNbROZk+IuZiDWNIYQfgIqGj6WfNXxvgZ5qciNrvTG5qQhm7eu8rDpfSjWPRS7kWETBzCwKf2Hl0vPLf7pVohscp+dSFBHxppu0uF0HpEVsZXiFd8Kgx2Hkgg67CfVSLx2ALtagZSDLcak+Qpu5zJYGwg=="
	theirs, err1 := utils.DecryptAES256GCM(key, "user_card", "j9g1wAzF9Xn1", vector)
	ours, err2 := k.DecryptAEAD("j9g1wAzF9Xn1", "user_card", vector)
	if err1 != nil || err2 != nil || theirs != pt || string(ours) != pt {
		t.Errorf("vector: official %q %v, ours %q %v", theirs, err1, ours, err2)
	}
}
