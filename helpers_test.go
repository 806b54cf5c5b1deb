package wxpay_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/internal/wire"
)

const (
	testMchID    = testkeys.MchID
	testSerial   = testkeys.MerchantSerial
	testPubKeyID = testkeys.PublicKeyID
	testPrefix   = "/prefix" // servers mount the API under a prefix to catch absolute-URL bugs
)

type testKeys struct {
	merchant, platform, other *rsa.PrivateKey
	cert                      *x509.Certificate // platform certificate over platform key
	certSerial                string
}

func keys() testKeys {
	s := testkeys.Shared()
	return testKeys{merchant: s.Merchant, platform: s.Platform, other: s.Other, cert: s.PlatformCert, certSerial: s.PlatformCertSerial}
}

var selfSigned = testkeys.SelfSigned

// seenRequest is what the test server received.
type seenRequest struct {
	Method, Target string
	Header         http.Header
	Body           []byte
	Auth           wire.Authorization
	SignatureOK    bool
}

// reply is what a test handler answers; the server signs it unless told otherwise.
type reply struct {
	status int
	body   string
	header map[string]string
	// sign controls the signature: nil signs correctly with the platform public key.
	sign func(h http.Header, body []byte)
}

type testServer struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	seen   []seenRequest
	handle func(r seenRequest) reply
}

// newTestServer starts a loopback server under testPrefix that checks request
// signatures with the merchant public key and signs answers with the platform key.
func newTestServer(t *testing.T, handle func(r seenRequest) reply) *testServer {
	t.Helper()
	ts := &testServer{t: t, handle: handle}
	mux := http.NewServeMux()
	mux.HandleFunc(testPrefix+"/", ts.serve)
	ts.Server = httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func (ts *testServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	sr := seenRequest{Method: r.Method, Target: r.URL.RequestURI(), Header: r.Header.Clone(), Body: body}
	if a, err := wire.ParseAuthorization(r.Header.Get("Authorization")); err == nil {
		sr.Auth = a
		msg := wire.AppendRequestMessage(nil, r.Method, r.URL.RequestURI(), a.Timestamp, a.NonceStr, body)
		sig, _ := base64.StdEncoding.DecodeString(a.Signature)
		d := sha256.Sum256(msg)
		sr.SignatureOK = rsa.VerifyPKCS1v15(&keys().merchant.PublicKey, crypto.SHA256, d[:], sig) == nil
	}
	ts.mu.Lock()
	ts.seen = append(ts.seen, sr)
	ts.mu.Unlock()

	rp := ts.handle(sr)
	if rp.status == 0 {
		rp.status = http.StatusOK
	}
	h := w.Header()
	h.Set("Request-ID", "08DBF3A5B9061050120817028BCA901-TEST")
	h.Set("Content-Type", "application/json; charset=utf-8")
	for k, v := range rp.header {
		h.Set(k, v)
	}
	if rp.status >= 200 && rp.status < 300 {
		if rp.sign != nil {
			rp.sign(h, []byte(rp.body))
		} else {
			signResponse(h, []byte(rp.body), keys().platform, testPubKeyID, time.Now())
		}
	}
	w.WriteHeader(rp.status)
	_, _ = io.WriteString(w, rp.body)
}

func (ts *testServer) last() seenRequest {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if len(ts.seen) == 0 {
		ts.t.Fatal("server saw no request")
	}
	return ts.seen[len(ts.seen)-1]
}

func signResponse(h http.Header, body []byte, key *rsa.PrivateKey, serial string, at time.Time) {
	ts := strconv.FormatInt(at.Unix(), 10)
	nonce := "593bec0c930bf1afeb40b4a08c8fb242"
	d := sha256.Sum256(wire.AppendResponseMessage(nil, ts, nonce, body))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		panic(err)
	}
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
}

// newClient builds a client for ts with the public-key mode keys.
func newClient(t *testing.T, ts *testServer, opts ...wxpay.Option) *wxpay.Client {
	t.Helper()
	k := keys()
	base := []wxpay.Option{
		wxpay.WithMerchant(testMchID, testSerial, k.merchant),
		wxpay.WithPlatformPublicKey(testPubKeyID, &k.platform.PublicKey),
		wxpay.WithBaseURL(ts.URL + testPrefix),
		wxpay.WithHTTPClient(ts.Client()),
	}
	c, err := wxpay.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func okJSON(body string) func(seenRequest) reply {
	return func(seenRequest) reply { return reply{body: body} }
}

func mustContainNone(t *testing.T, where string, haystack []byte, needles ...string) {
	t.Helper()
	for _, n := range needles {
		if n != "" && bytes.Contains(haystack, []byte(n)) {
			t.Errorf("%s contains %q", where, n)
		}
	}
}
