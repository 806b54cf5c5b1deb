package wxpay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
)

type idCard struct {
	Number wxpay.Sensitive `json:"id_card_number"`
}

type payrollBody struct {
	OpenID   string            `json:"openid"`
	UserName wxpay.Sensitive   `json:"user_name"`
	Card     *idCard           `json:"card,omitempty"`
	Tags     []wxpay.Sensitive `json:"tags,omitempty"`
	Extra    any               `json:"extra,omitempty"`
	Empty    wxpay.Sensitive   `json:"empty"`
	skip     wxpay.Sensitive
}

func TestSensitiveValuesAreEncryptedAnywhereInTheBody(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, okJSON(`{}`))
	c := newClient(t, ts)
	k := keys()
	const name, id, tag, deep = "张三", "110101199003077777", "vip-tag", "深层"

	body := payrollBody{
		OpenID:   "onqOjjmo8wmTOOtSKwXtGjg9Gb58",
		UserName: name,
		Card:     &idCard{Number: id},
		Tags:     []wxpay.Sensitive{tag},
		Extra:    map[string]any{"list": []any{map[string]wxpay.Sensitive{"v": deep}}},
		skip:     "unexported",
	}
	if _, err := c.Chain("v3/payroll-card/tokens").Post(context.Background(), body); err != nil {
		t.Fatal(err)
	}
	got := ts.last()
	mustContainNone(t, "wire body", got.Body, name, id, tag, deep, "unexported")
	if s := got.Header.Get("Wechatpay-Serial"); s != testPubKeyID {
		t.Errorf("Wechatpay-Serial = %q, want %q", s, testPubKeyID)
	}
	var wireBody struct {
		UserName string `json:"user_name"`
		Card     struct {
			Number string `json:"id_card_number"`
		} `json:"card"`
		Tags  []string `json:"tags"`
		Extra struct {
			List []map[string]string `json:"list"`
		} `json:"extra"`
		Empty string `json:"empty"`
	}
	if err := json.Unmarshal(got.Body, &wireBody); err != nil {
		t.Fatalf("wire body %s: %v", got.Body, err)
	}
	for want, ct := range map[string]string{name: wireBody.UserName, id: wireBody.Card.Number, tag: wireBody.Tags[0], deep: wireBody.Extra.List[0]["v"]} {
		pt, err := wxpay.DecryptOAEP(k.platform, ct)
		if err != nil || string(pt) != want {
			t.Errorf("ciphertext %.20q… decrypts to %q, %v; want %q", ct, pt, err, want)
		}
		if len(ct) != 344 {
			t.Errorf("ciphertext length %d, want 344 (Base64 of 256 bytes)", len(ct))
		}
	}
	if wireBody.Empty != "" {
		t.Errorf("empty Sensitive sent as %q, want \"\"", wireBody.Empty)
	}
	// The caller's value is not modified.
	if body.UserName != name || body.Card.Number != id || body.Tags[0] != tag {
		t.Error("request value was mutated")
	}
}

func TestEncryptionUsesPlatformCertificateSerial(t *testing.T) {
	t.Parallel()
	k := keys()
	ts := newTestServer(t, func(seenRequest) reply {
		return reply{body: `{}`, sign: func(h http.Header, b []byte) { signResponse(h, b, k.platform, k.certSerial, time.Now()) }}
	})
	c, err := wxpay.NewClient(
		wxpay.WithMerchant(testMchID, testSerial, k.merchant),
		wxpay.WithPlatformCertificate(k.cert),
		wxpay.WithBaseURL(ts.URL+testPrefix),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Chain("v3/x").Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := ts.last().Header.Get("Wechatpay-Serial"); s != "" {
		t.Errorf("certificate mode without encrypted fields sent Wechatpay-Serial %q", s)
	}
	if _, err := c.Chain("v3/x").Post(context.Background(), map[string]any{"phone_number": wxpay.Sensitive("13800138000")}); err != nil {
		t.Fatal(err)
	}
	if s := ts.last().Header.Get("Wechatpay-Serial"); s != k.certSerial {
		t.Errorf("Wechatpay-Serial = %q, want certificate serial %q", s, k.certSerial)
	}
}

func TestSensitiveNeverPrintsPlaintext(t *testing.T) {
	t.Parallel()
	const secret = "110101199003077777"
	v := payrollBody{UserName: "张三", Card: &idCard{Number: secret}}
	var logBuf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logBuf, nil))
	logger.Info("req", "user_name", v.UserName, "card", v.Card.Number)
	outs := []string{
		fmt.Sprint(v.UserName), fmt.Sprintf("%v|%+v|%#v|%s|%q|%x|%d", v, v, v, v.UserName, v.UserName, v.UserName, v.UserName),
		fmt.Sprintf("%+v", *v.Card), v.UserName.String(), logBuf.String(),
	}
	for _, o := range outs {
		if strings.Contains(o, secret) || strings.Contains(o, "张三") {
			t.Errorf("plaintext printed: %s", o)
		}
	}
	if !strings.Contains(logBuf.String(), "[REDACTED]") {
		t.Errorf("log = %s", logBuf.String())
	}
	if _, err := json.Marshal(v); !errors.Is(err, wxpay.ErrSensitiveUnsealed) {
		t.Errorf("json.Marshal outside a client: err = %v, want ErrSensitiveUnsealed", err)
	}
}

func TestEncryptionErrorsAreTyped(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, okJSON(`{}`))
	c := newClient(t, ts)
	tooLong := wxpay.Sensitive(strings.Repeat("x", 215))
	_, err := c.Chain("v3/x").Post(context.Background(), map[string]any{"v": tooLong})
	if !errors.Is(err, wxpay.ErrEncrypt) || strings.Contains(err.Error(), "xxxx") {
		t.Errorf("err = %v, want ErrEncrypt without plaintext", err)
	}
	type cyclic struct {
		S    wxpay.Sensitive
		Next *cyclic
	}
	loop := &cyclic{S: "a"}
	loop.Next = loop
	if _, err := c.Chain("v3/x").Post(context.Background(), loop); !errors.Is(err, wxpay.ErrInvalidRequest) {
		t.Errorf("cyclic body: err = %v, want ErrInvalidRequest", err)
	}
	if _, err := c.Chain("v3/x").Post(context.Background(), json.RawMessage(`{"a":`)); !errors.Is(err, wxpay.ErrInvalidRequest) {
		t.Errorf("invalid raw body: err = %v", err)
	}
}

func TestDecryptResponseField(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, okJSON(`{}`))
	c := newClient(t, ts)
	ct, err := c.Encrypt("x") // encrypted for WeChat Pay: the merchant cannot open it
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decrypt(wxpay.Encrypted(ct)); !errors.Is(err, wxpay.ErrDecrypt) {
		t.Errorf("decrypting with the wrong key: err = %v", err)
	}
	ct, err = wxpay.EncryptOAEP(nil, &keys().merchant.PublicKey, []byte("13800138000"))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := c.Decrypt(wxpay.Encrypted(ct))
	if err != nil || string(pt) != "13800138000" {
		t.Errorf("Decrypt = %v, %v", pt, err)
	}
	if _, err := c.Decrypt("not base64!"); !errors.Is(err, wxpay.ErrDecrypt) {
		t.Errorf("err = %v", err)
	}
}
