package bench

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payrollcard"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/internal/wire"
)

const payrollResponse = `{"openid":"onqOjjmo8wmTOOtSKwXtGjg9Gb58","mchid":"1900000001","sub_mchid":"1900000109","token":"abcdefghijklmn","expires_in":1800}`

// signedHeaders is a response signature computed once and refreshed every minute,
// so the server does no per-request crypto and both clients see the same bytes.
type signedHeaders struct {
	at  time.Time
	hdr http.Header
}

type presigned struct {
	key  *rsa.PrivateKey
	body string // the answer
	cur  atomic.Pointer[signedHeaders]
	mu   sync.Mutex
}

func (p *presigned) headers() http.Header {
	if s := p.cur.Load(); s != nil && time.Since(s.at) < time.Minute {
		return s.hdr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	ts := strconv.FormatInt(now.Unix(), 10)
	nonce := "5d41402abc4b2a76b9719d911017c592"
	d := sha256.Sum256(wire.AppendResponseMessage(nil, ts, nonce, []byte(p.body)))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, d[:])
	if err != nil {
		panic(err)
	}
	h := http.Header{
		"Content-Type":             {"application/json; charset=utf-8"},
		"Request-Id":               {"08DBF3A5B9061050120817028BCA901-BENCH"},
		"Wechatpay-Timestamp":      {ts},
		"Wechatpay-Nonce":          {nonce},
		"Wechatpay-Signature":      {base64.StdEncoding.EncodeToString(sig)},
		"Wechatpay-Serial":         {testkeys.PublicKeyID},
		"Wechatpay-Signature-Type": {"WECHATPAY2-SHA256-RSA2048"},
	}
	p.cur.Store(&signedHeaders{at: now, hdr: h})
	return h
}

// newServer answers every request with body, signed by the platform key.
func newServer(b *testing.B, body string) *httptest.Server {
	p := &presigned{key: testkeys.Shared().Platform, body: body}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for k, v := range p.headers() {
			w.Header()[k] = v
		}
		_, _ = io.WriteString(w, body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// rewrite sends wechatpay-go's requests (hard-wired to api.mch.weixin.qq.com) to
// the loopback server.
type rewrite struct {
	host string
	rt   http.RoundTripper
}

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req.URL.Scheme, req.URL.Host = "http", r.host
	return r.rt.RoundTrip(req)
}

func BenchmarkPayrollCardToken(b *testing.B) {
	k := testkeys.Shared()
	ctx := context.Background()

	b.Run("wxpay", func(b *testing.B) {
		srv := newServer(b, payrollResponse)
		c, err := wxpay.NewClient(
			wxpay.WithMerchant(testkeys.MchID, testkeys.MerchantSerial, k.Merchant),
			wxpay.WithPlatformPublicKey(testkeys.PublicKeyID, &k.Platform.PublicKey),
			wxpay.WithBaseURL(srv.URL),
			wxpay.WithHTTPClient(&http.Client{Transport: &http.Transport{}}),
		)
		if err != nil {
			b.Fatal(err)
		}
		ep := c.Chain("v3/payroll-card/tokens")
		type tokenRequest struct {
			OpenID         string          `json:"openid"`
			AppID          string          `json:"appid,omitempty"`
			SubMchID       string          `json:"sub_mchid"`
			UserName       wxpay.Sensitive `json:"user_name"`
			IDCardNumber   wxpay.Sensitive `json:"id_card_number"`
			EmploymentType string          `json:"employment_type,omitempty"`
		}
		type token struct {
			OpenID    string `json:"openid"`
			MchID     string `json:"mchid"`
			SubMchID  string `json:"sub_mchid"`
			Token     string `json:"token"`
			ExpiresIn int64  `json:"expires_in"`
		}
		req := &tokenRequest{OpenID: "onqOjjmo8wmTOOtSKwXtGjg9Gb58", AppID: "wxa1111111", SubMchID: "1900000109",
			UserName: "张三", IDCardNumber: "110101199003077777", EmploymentType: "LONG_TERM_EMPLOYMENT"}
		b.ReportAllocs()
		for b.Loop() {
			resp, err := ep.Post(ctx, req)
			if err != nil {
				b.Fatal(err)
			}
			var out token
			if err := resp.Decode(&out); err != nil || out.ExpiresIn != 1800 {
				b.Fatal(err, out)
			}
		}
	})

	b.Run("wechatpay-go", func(b *testing.B) {
		srv := newServer(b, payrollResponse)
		host := srv.Listener.Addr().String()
		c, err := core.NewClient(ctx,
			option.WithWechatPayPublicKeyAuthCipher(testkeys.MchID, testkeys.MerchantSerial, k.Merchant, testkeys.PublicKeyID, &k.Platform.PublicKey),
			option.WithHTTPClient(&http.Client{Transport: rewrite{host: host, rt: &http.Transport{}}}),
		)
		if err != nil {
			b.Fatal(err)
		}
		svc := payrollcard.TokensApiService{Client: c}
		b.ReportAllocs()
		for b.Loop() {
			out, _, err := svc.CreateToken(ctx, payrollcard.CreateTokenRequest{
				Openid: core.String("onqOjjmo8wmTOOtSKwXtGjg9Gb58"), Appid: core.String("wxa1111111"),
				SubMchid: core.String("1900000109"), UserName: core.String("张三"),
				IdCardNumber: core.String("110101199003077777"), EmploymentType: payrollcard.EMPLOYMENTTYPE_LONG_TERM_EMPLOYMENT.Ptr(),
			})
			if err != nil {
				b.Fatal(err)
			}
			if *out.ExpiresIn != 1800 {
				b.Fatal(out)
			}
		}
	})

	// floor is the cryptography every client must do per call: one RSA-2048
	// signature, one verification and two OAEP encryptions.
	msg := []byte("POST\n/v3/payroll-card/tokens\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n" + payrollResponse + "\n")
	d := sha256.Sum256(msg)
	sig, _ := rsa.SignPKCS1v15(nil, k.Platform, crypto.SHA256, d[:])
	floorCrypto := func(b *testing.B) {
		d := sha256.Sum256(msg)
		if _, err := rsa.SignPKCS1v15(nil, k.Merchant, crypto.SHA256, d[:]); err != nil {
			b.Fatal(err)
		}
		if err := rsa.VerifyPKCS1v15(&k.Platform.PublicKey, crypto.SHA256, d[:], sig); err != nil {
			b.Fatal(err)
		}
		if _, err := utils.EncryptOAEPWithPublicKey("张三", &k.Platform.PublicKey); err != nil {
			b.Fatal(err)
		}
		if _, err := utils.EncryptOAEPWithPublicKey("110101199003077777", &k.Platform.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			floorCrypto(b)
		}
	})

	// floor+http adds the bare minimum any net/http client pays on top: one
	// keep-alive POST of the same size to the same server, body read and closed,
	// with no signing headers, JSON or checks. Its ratio to wechatpay-go is the
	// best any client on crypto/rsa and net/http can reach in this benchmark.
	b.Run("floor+http", func(b *testing.B) {
		srv := newServer(b, payrollResponse)
		hc := &http.Client{Transport: &http.Transport{}}
		body := strings.Repeat("x", 900) // about the size of the encrypted request
		b.ReportAllocs()
		for b.Loop() {
			floorCrypto(b)
			resp, err := hc.Post(srv.URL+"/v3/payroll-card/tokens", "application/json", strings.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
