package bench

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/apiv3/refunddomestic"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

const (
	prepayResponse = `{"prepay_id":"wx201410272009395522657a690389285100"}`
	benchAppID     = "wxd678efh567hg6787"
	benchOpenID    = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
	benchNotifyURL = "https://www.weixin.qq.com/wxpay/pay.php"
)

// BenchmarkJSAPIPrepay: the same JSAPI order (POST /v3/pay/transactions/jsapi
// signed, the answer verified and decoded) through wxpay's typed call and
// through wechatpay-go's jsapi.JsapiApiService.Prepay, against the same
// loopback server answering a pre-signed prepay_id; each builds its request
// per call, as a caller placing distinct orders does. floor is the
// cryptography of a call (one RSA-2048 signature, one verification), floor+http
// adds one bare keep-alive POST of the same size.
func BenchmarkJSAPIPrepay(b *testing.B) {
	k := testkeys.Shared()
	ctx := context.Background()

	b.Run("wxpay", func(b *testing.B) {
		srv := newServer(b, prepayResponse)
		c, err := wxpay.NewClient(
			wxpay.WithMerchant(testkeys.MchID, testkeys.MerchantSerial, k.Merchant),
			wxpay.WithPlatformPublicKey(testkeys.PublicKeyID, &k.Platform.PublicKey),
			wxpay.WithBaseURL(srv.URL),
			wxpay.WithHTTPClient(&http.Client{Transport: &http.Transport{}}),
		)
		if err != nil {
			b.Fatal(err)
		}
		jsapiOrders := c.V3.Pay.Transactions.JSAPI
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			p, _, err := jsapiOrders.Post(ctx, &pay.PrepayJSAPIRequest{
				AppID: benchAppID, MchID: testkeys.MchID, Description: "Image形象店-深圳腾大-QQ公仔",
				OutTradeNo: "1217752501201407033233368018", NotifyURL: benchNotifyURL,
				Amount: pay.Amount{Total: 100, Currency: "CNY"}, Payer: pay.Payer{OpenID: benchOpenID},
			})
			if err != nil {
				b.Fatal(err)
			}
			if len(p.PrepayID) != 36 {
				b.Fatal(p)
			}
		}
	})

	b.Run("wechatpay-go", func(b *testing.B) {
		srv := newServer(b, prepayResponse)
		host := srv.Listener.Addr().String()
		c, err := core.NewClient(ctx,
			option.WithWechatPayPublicKeyAuthCipher(testkeys.MchID, testkeys.MerchantSerial, k.Merchant, testkeys.PublicKeyID, &k.Platform.PublicKey),
			option.WithHTTPClient(&http.Client{Transport: rewrite{host: host, rt: &http.Transport{}}}),
		)
		if err != nil {
			b.Fatal(err)
		}
		svc := jsapi.JsapiApiService{Client: c}
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			p, _, err := svc.Prepay(ctx, jsapi.PrepayRequest{
				Appid: core.String(benchAppID), Mchid: core.String(testkeys.MchID), Description: core.String("Image形象店-深圳腾大-QQ公仔"),
				OutTradeNo: core.String("1217752501201407033233368018"), NotifyUrl: core.String(benchNotifyURL),
				Amount: &jsapi.Amount{Total: core.Int64(100), Currency: core.String("CNY")}, Payer: &jsapi.Payer{Openid: core.String(benchOpenID)},
			})
			if err != nil {
				b.Fatal(err)
			}
			if len(*p.PrepayId) != 36 {
				b.Fatal(p)
			}
		}
	})

	// The request as wxpay sends it, for the floor's message and POST size.
	body, err := json.Marshal(&pay.PrepayJSAPIRequest{
		AppID: benchAppID, MchID: testkeys.MchID, Description: "Image形象店-深圳腾大-QQ公仔",
		OutTradeNo: "1217752501201407033233368018", NotifyURL: benchNotifyURL,
		Amount: pay.Amount{Total: 100, Currency: "CNY"}, Payer: pay.Payer{OpenID: benchOpenID},
	})
	if err != nil {
		b.Fatal(err)
	}
	reqMsg := []byte("POST\n/v3/pay/transactions/jsapi\n1554208460\n593BEC0C930BF1AFEB40B4A08C8FB242\n" + string(body) + "\n")
	respMsg := []byte("1554208460\n5d41402abc4b2a76b9719d911017c592\n" + prepayResponse + "\n")
	rd := sha256.Sum256(respMsg)
	sig, _ := rsa.SignPKCS1v15(nil, k.Platform, crypto.SHA256, rd[:])
	floorCrypto := func(b *testing.B) {
		d := sha256.Sum256(reqMsg)
		if _, err := rsa.SignPKCS1v15(nil, k.Merchant, crypto.SHA256, d[:]); err != nil {
			b.Fatal(err)
		}
		d = sha256.Sum256(respMsg)
		if err := rsa.VerifyPKCS1v15(&k.Platform.PublicKey, crypto.SHA256, d[:], sig); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			floorCrypto(b)
		}
	})
	b.Run("floor+http", func(b *testing.B) {
		srv := newServer(b, prepayResponse)
		hc := &http.Client{Transport: &http.Transport{}}
		post := strings.Repeat("x", len(body))
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			floorCrypto(b)
			resp, err := hc.Post(srv.URL+"/v3/pay/transactions/jsapi", "application/json", strings.NewReader(post))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// reportCPU starts measuring the process's CPU time; the func it returns
// reports it per operation as cpu-ns/op (the in-process server's included, the
// same for every client).
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if d := cpuTime() - start; d > 0 && b.N > 0 {
			b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkPaymentFlow: whole payment flows per second against the emulator
// over loopback — a JSAPI order, the payer pays (Emulator.Pay; TRANSACTION.SUCCESS
// is signed, encrypted and delivered to a merchant endpoint), the order is
// queried, a partial refund is applied for — with GOMAXPROCS×4 concurrent
// flows, and their ratio to the RSA-signing bound of this machine. A flow
// costs seven RSA-2048 signatures (three requests, three answers, one
// notification): the bound is testkeys.SignPairsPerSecond × 2 / 7.
func BenchmarkPaymentFlow(b *testing.B) {
	srv := wxpaytest.NewServer(wxpaytest.WithRealClock())
	defer srv.Close()
	var delivered atomic.Int64
	allDelivered := make(chan struct{})
	target := int64(b.N)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if delivered.Add(1) == target {
			close(allDelivered)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	workers := runtime.GOMAXPROCS(0) * 4
	c, err := srv.NewClient(wxpay.WithHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	flow := func(i int64) error {
		no := fmt.Sprintf("flow%012d", i)
		if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, &pay.PrepayJSAPIRequest{
			AppID: emulator.DemoAppID, MchID: emulator.DemoMchID, Description: "Image形象店-深圳腾大-QQ公仔",
			OutTradeNo: no, NotifyURL: hook.URL, Amount: pay.Amount{Total: 1000, Currency: "CNY"}, Payer: pay.Payer{OpenID: emulator.DemoOpenID},
		}); err != nil {
			return err
		}
		if _, err := srv.Pay(no, "SUCCESS"); err != nil {
			return err
		}
		tx, _, err := c.V3.Pay.Transactions.OutTradeNo.OutTradeNo(no).Get(ctx, &pay.GetTransactionByOutTradeNoRequest{MchID: emulator.DemoMchID})
		if err != nil {
			return err
		}
		if tx.TradeState != pay.TradeStateSuccess {
			return fmt.Errorf("order %s is %s", no, tx.TradeState)
		}
		_, _, err = c.V3.Refund.Domestic.Refunds.Post(ctx, &refunddomestic.CreateRefundRequest{
			TransactionID: tx.TransactionID, OutRefundNo: no + "-R1",
			Amount: refunddomestic.RefundRequestAmount{Refund: 300, Total: 1000, Currency: "CNY"},
		})
		return err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start, cpuStart := time.Now(), cpuTime()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				if err := flow(i); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	select { // the notifications are part of the flows
	case <-allDelivered:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d notifications delivered", delivered.Load(), b.N)
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpuStart
	b.StopTimer()
	rate := float64(b.N) / elapsed.Seconds()
	bound := testkeys.SignPairsPerSecond() * 2 / 7
	b.ReportMetric(rate, "flows/s")
	b.ReportMetric(bound, "bound-flows/s")
	b.ReportMetric(rate/bound, "x-rsa-bound")
	// The same bound in CPU time, which other processes on a shared machine
	// do not stretch: the share of a flow's CPU that its seven signatures need.
	if perFlow, perSig := cpu.Seconds()/float64(b.N), signCPU().Seconds(); perFlow > 0 && perSig > 0 {
		b.ReportMetric(perFlow*1e3, "cpu-ms/flow")
		b.ReportMetric(7*perSig/perFlow, "x-rsa-cpu")
	}
}

// signCPU is the CPU time of one RSA-2048 PKCS #1 v1.5 signature, alone.
func signCPU() time.Duration {
	k := testkeys.Shared()
	d := sha256.Sum256([]byte("bound"))
	const n = 200
	start := cpuTime()
	for range n {
		_, _ = rsa.SignPKCS1v15(nil, k.Merchant, crypto.SHA256, d[:])
	}
	return (cpuTime() - start) / n
}
