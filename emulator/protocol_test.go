package emulator_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/internal/wire"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// rawRequest is a request built by hand, so that each part of the protocol can be broken.
type rawRequest struct {
	method, target, body string
	key                  *rsa.PrivateKey
	mchID, serial        string
	at                   time.Time
	nonce                string
	header               map[string]string // overrides; "" deletes
	alterBody            string            // sent instead of body, after signing
	auth                 string            // replaces the Authorization header
	signature            string            // replaces the computed signature in it
}

func (r rawRequest) do(t *testing.T, srv *wxpaytest.Server) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := r.build(t, srv)
	resp, _, out := send(t, srv, req)
	return resp, out
}

// build assembles and signs the request; it also returns the exact string that
// was signed (protocol §3.1), for checking the SIGN_ERROR diagnostic.
func (r rawRequest) build(t *testing.T, srv *wxpaytest.Server) (*http.Request, []byte) {
	t.Helper()
	if r.key == nil {
		r.key = testkeys.Shared().Merchant
	}
	if r.mchID == "" {
		r.mchID = emulator.DemoMchID
	}
	if r.serial == "" {
		r.serial = emulator.DemoMerchantSerial
	}
	if r.at.IsZero() {
		r.at = srv.Now()
	}
	if r.nonce == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		r.nonce = strings.ToUpper(base64.RawURLEncoding.EncodeToString(b[:]))
	}
	ts := strconv.FormatInt(r.at.Unix(), 10)
	msg := wire.AppendRequestMessage(nil, r.method, r.target, ts, r.nonce, []byte(r.body))
	d := sha256.Sum256(msg)
	sig, err := rsa.SignPKCS1v15(nil, r.key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	sent := r.body
	if r.alterBody != "" {
		sent = r.alterBody
	}
	req, err := http.NewRequest(r.method, srv.URL+r.target, strings.NewReader(sent))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "emulator-test/1")
	req.Header.Set("Content-Type", "application/json")
	signature := base64.StdEncoding.EncodeToString(sig)
	if r.signature != "" {
		signature = r.signature
	}
	req.Header.Set("Authorization", string(wire.AppendAuthorization(nil, wire.Authorization{
		MchID: r.mchID, SerialNo: r.serial, NonceStr: r.nonce, Timestamp: ts, Signature: signature})))
	if r.auth != "" {
		req.Header.Set("Authorization", r.auth)
	}
	for k, v := range r.header {
		switch {
		case v == "" && k == "User-Agent":
			req.Header.Set(k, "") // present but empty: net/http then sends none
		case v == "":
			req.Header.Del(k)
		default:
			req.Header.Set(k, v)
		}
	}
	return req, msg
}

// send sends req with the server's HTTP client and decodes the JSON answer.
// Every answer, whatever its status, must carry a Request-ID (protocol §4.1).
func send(t *testing.T, srv *wxpaytest.Server, req *http.Request) (*http.Response, []byte, map[string]any) {
	t.Helper()
	resp, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("answer is not JSON: %q", b)
		}
	}
	if resp.Header.Get("Request-ID") == "" {
		t.Errorf("%s %s: answer %d without Request-ID", req.Method, req.URL.Path, resp.StatusCode)
	}
	return resp, b, out
}

const permissionPath = "/v3/marketing/membercard-open/cards/" + emulator.DemoCardID + "/permission-tokens"

func TestNewValidatesConfiguration(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	for name, opts := range map[string][]emulator.Option{
		"no merchant":           {emulator.WithPublicKey(emulator.DemoPublicKeyID, k.Platform)},
		"no key":                {emulator.WithMerchant("1", "AB", &k.Merchant.PublicKey)},
		"bad public key id":     {emulator.WithPublicKey("5157F0", k.Platform)},
		"cert with another key": {emulator.WithCertificate(k.PlatformCert, k.Other)},
		"merchant serial clash": {emulator.WithMerchant("1", emulator.DemoPublicKeyID, &k.Merchant.PublicKey), emulator.WithPublicKey(emulator.DemoPublicKeyID, k.Platform)},
		"zero window":           {emulator.WithMerchant("1", "AB", &k.Merchant.PublicKey), emulator.WithPublicKey(emulator.DemoPublicKeyID, k.Platform), emulator.WithTimestampWindow(0)},
		"zero read timeout":     {emulator.WithMerchant("1", "AB", &k.Merchant.PublicKey), emulator.WithPublicKey(emulator.DemoPublicKeyID, k.Platform), emulator.WithReadTimeout(0)},
		"negative idle timeout": {emulator.WithMerchant("1", "AB", &k.Merchant.PublicKey), emulator.WithPublicKey(emulator.DemoPublicKeyID, k.Platform), emulator.WithIdleTimeout(-time.Second)},
	} {
		if _, err := emulator.New(opts...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
