package wxpay_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/payrollcard"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// recordingTransport remembers every Authorization value sent.
type recordingTransport struct {
	rt    http.RoundTripper
	mu    sync.Mutex
	auths []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.auths = append(r.auths, req.Header.Get("Authorization"))
	r.mu.Unlock()
	return r.rt.RoundTrip(req)
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestNoSecretInLogsErrorsOrFormatting drives the client, the emulator and the
// notification parser through success, retries, rejections, verification and
// validation failures and encrypted fields, collecting every log line, error
// string and %v/%+v/%#v rendering, and checks none of them holds a private key,
// the APIv3 key, an Authorization value or the plaintext of an encrypted field.
func TestNoSecretInLogsErrorsOrFormatting(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := wxpaytest.NewServer(wxpaytest.WithEmulatorOptions(emulator.WithLogger(logger)), wxpaytest.WithTransition())
	t.Cleanup(srv.Close)
	rec := &recordingTransport{rt: srv.HTTPClient().Transport}
	c, err := srv.NewClient(wxpay.WithLogger(logger), wxpay.WithHTTPClient(&http.Client{Transport: rec}),
		wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const name, idCard, phone = "张三", "110101199003077777", "13800138000"
	var outputs []string
	keep := func(v ...any) {
		for _, x := range v {
			if x == nil {
				continue
			}
			if err, ok := x.(error); ok {
				outputs = append(outputs, err.Error())
			}
			outputs = append(outputs, fmt.Sprintf("%v|%+v|%#v", x, x, x))
		}
	}
	payroll := &payrollcard.CreateTokenRequest{OpenID: emulator.DemoOpenID, SubMchID: emulator.DemoSubMchID, AppID: emulator.DemoAppID, UserName: name, IDCardNumber: idCard}

	// Success with encrypted fields, then the same under faults.
	tok, resp, err := c.V3.PayrollCard.Tokens.Post(ctx, payroll)
	keep(tok, resp, err, payroll, c, srv.Emulator, srv.APIv3Key())
	for _, f := range []emulator.Fault{{ErrorRate: 1}, {TamperRate: 1}, {SkewSignature: time.Hour}, {DropRate: 1}} {
		srv.Emulator.SetFault("CreatePayrollCardToken", f)
		_, resp, err := c.V3.PayrollCard.Tokens.Post(ctx, payroll)
		keep(resp, err)
	}
	srv.Emulator.ClearFaults()
	// Business error, validation error, rejected ciphertext, unknown serial.
	_, _, err = c.V3.PayrollCard.Tokens.Post(ctx, &payrollcard.CreateTokenRequest{OpenID: emulator.DemoOpenID, SubMchID: "1", AppID: "wx", UserName: name, IDCardNumber: idCard})
	keep(err)
	_, _, err = c.V3.PayrollCard.Tokens.Post(ctx, &payrollcard.CreateTokenRequest{UserName: name, IDCardNumber: idCard, EmploymentType: "X"})
	keep(err)
	_, err = c.Chain("v3/payroll-card/tokens").Post(ctx, map[string]any{"openid": "o", "sub_mchid": "1", "user_name": name, "id_card_number": idCard},
		wxpay.Header("Wechatpay-Serial", emulator.DemoPublicKeyID))
	keep(err)
	// Brand import with an encrypted phone number; the answer carries it encrypted for us.
	card, _, err := c.V3.Brand.Partner.CardMember.UserCards.ImportByOpenID.Post(ctx, &cardmember.ImportUserCardByOpenIDRequest{
		BrandID: emulator.DemoBrandID, CardID: emulator.DemoBrandCardID, OpenID: emulator.DemoOpenID, UserCardCode: "478515832665",
		PhoneNumber: phone, PickupTime: "2026-01-01T10:00:00+08:00", DateInformation: cardmember.ValidDateInformation{Type: cardmember.ValidDateTypePermanent}})
	keep(card, err)
	if card != nil {
		plain, err := card.DecryptPhoneNumber(c)
		keep(plain, err)
		if string(plain) != phone {
			t.Errorf("phone decrypts to %v", plain)
		}
	}
	// Certificates with a wrong APIv3 key.
	wrong, _ := wxpay.ParseAPIv3Key(strings.Repeat("w", 32))
	_, err = wxpay.DownloadCertificates(ctx, wrong, wxpay.WithMerchant(emulator.DemoMchID, emulator.DemoMerchantSerial, srv.MerchantKey()),
		wxpay.WithBaseURL(srv.URL), wxpay.WithHTTPClient(srv.HTTPClient()), wxpay.WithClock(srv.Now))
	keep(err)
	// Notifications: accepted, tampered, and the handler's answers.
	parser, err := notify.New(srv.Verifier(), srv.APIv3Key(), notify.WithClock(srv.Now))
	if err != nil {
		t.Fatal(err)
	}
	ev := map[string]any{"card_id": "c", "openid": "o", "brand_id": "1004", "card_type": "NORMAL", "phone_number": phone,
		"user_card_state": "EFFECTIVE", "valid_date_information": map[string]string{"type": "PERMANENT"}}
	n, err := srv.Emulator.NewNotification(notify.EventBrandMemberCardSPUserCardCreate, ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parser.Parse(n.Header, n.Body)
	keep(got, err)
	if got != nil {
		keep(got.Event)
	}
	h := parser.Handler(func(context.Context, *notify.Notification) error { return fmt.Errorf("db: %s", phone) })
	for _, body := range [][]byte{n.Body, append([]byte(nil), n.Body[:len(n.Body)-2]...)} {
		req := httptest.NewRequest(http.MethodPost, "/notify", bytes.NewReader(body))
		req.Header = n.Header.Clone()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		outputs = append(outputs, w.Body.String())
	}
	outputs = append(outputs, logs.String())

	// The secrets.
	k := testkeys.Shared()
	der, _ := x509.MarshalPKCS8PrivateKey(k.Merchant)
	pkcs8 := base64.StdEncoding.EncodeToString(der)
	secrets := map[string]string{
		"merchant key (PKCS#8 Base64)": pkcs8[100:140],
		"merchant key D (decimal)":     k.Merchant.D.String()[:40],
		"merchant key D (hex)":         k.Merchant.D.Text(16)[:40],
		"platform key D (decimal)":     k.Platform.D.String()[:40],
		"APIv3 key":                    wxpaytest.APIv3Key,
		"APIv3 key (hex)":              hex.EncodeToString([]byte(wxpaytest.APIv3Key)),
		"name":                         name,
		"ID-card number":               idCard,
		"phone":                        phone,
	}
	rec.mu.Lock()
	for n, a := range rec.auths {
		if i := strings.Index(a, `signature="`); i >= 0 {
			secrets[fmt.Sprintf("Authorization #%d", n)] = a[i+11 : i+51]
		}
	}
	rec.mu.Unlock()
	if len(rec.auths) < 10 {
		t.Fatalf("only %d requests were made", len(rec.auths))
	}
	all := strings.Join(outputs, "\n")
	for what, s := range secrets {
		if strings.Contains(all, s) {
			t.Errorf("%s appears in logs, errors or formatting", what)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"wxpay request"`) || !strings.Contains(logs.String(), `"msg":"emulator"`) {
		t.Errorf("the logs under test are empty: %.200s", logs.String())
	}
}
