package notify_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/internal/wire"
	"github.com/wxpaykit/wxpay/notify"
)

const apiV3Key = "abcdefghijklmnopqrstuvwxyz012345"

// message is a notification as WeChat Pay would send it.
type message struct {
	header http.Header
	body   []byte
}

type build struct {
	id                      string // default: one fixed id
	eventType, originalType string
	resource                any
	key                     *rsa.PrivateKey
	serial                  string
	at                      time.Time
	nonce                   string
}

func (b build) message(t testing.TB) message {
	t.Helper()
	k, _ := wxpay.ParseAPIv3Key(apiV3Key)
	pt, _ := json.Marshal(b.resource)
	ct, err := k.EncryptAEAD("j9g1wAzF9Xn1", b.originalType, pt)
	if err != nil {
		t.Fatal(err)
	}
	if b.id == "" {
		b.id = "8b33f79f-8869-5ae5-b41b-3c0b59f957d0"
	}
	body, _ := json.Marshal(map[string]any{
		"id": b.id, "create_time": "2026-01-01T10:00:00+08:00",
		"resource_type": "encrypt-resource", "event_type": b.eventType, "summary": "会员卡激活通知",
		"resource": map[string]string{"original_type": b.originalType, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": ct, "associated_data": b.originalType, "nonce": "j9g1wAzF9Xn1"},
	})
	if b.key == nil {
		b.key = testkeys.Shared().Platform
	}
	if b.serial == "" {
		b.serial = testkeys.PublicKeyID
	}
	if b.at.IsZero() {
		b.at = time.Now()
	}
	if b.nonce == "" {
		b.nonce = rand.Text()
	}
	ts := strconv.FormatInt(b.at.Unix(), 10)
	d := sha256.Sum256(wire.AppendResponseMessage(nil, ts, b.nonce, body))
	sig, err := rsa.SignPKCS1v15(rand.Reader, b.key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Request-ID", "notify-req-1")
	h.Set("Wechatpay-Timestamp", ts)
	h.Set("Wechatpay-Nonce", b.nonce)
	h.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
	h.Set("Wechatpay-Serial", b.serial)
	h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	return message{h, body}
}

var activate = build{eventType: notify.EventMembercardActivateCard, originalType: "membercard", resource: map[string]any{
	"event_type": "MEMBER_CARD_ACTIVATE", "card_id": "pbLatjvWOibDc5-TBnbUk1pD12o0", "code": "478515832665",
	"event_time": "2026-01-01T10:00:00+08:00", "activate_scene": "NEW_ACTIVATE", "openid": "obLatjnx9gnqzS4myYGmLZ7LgLBA",
}}

func newParser(t testing.TB, opts ...notify.Option) *notify.Parser {
	t.Helper()
	v, err := wxpay.NewVerifier(wxpay.WithPlatformPublicKey(testkeys.PublicKeyID, &testkeys.Shared().Platform.PublicKey),
		wxpay.WithPlatformCertificate(testkeys.Shared().PlatformCert))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := wxpay.ParseAPIv3Key(apiV3Key)
	p, err := notify.New(v, k, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseTypedEvents(t *testing.T) {
	t.Parallel()
	p := newParser(t)
	m := activate.message(t)
	n, err := p.Parse(m.header, m.body)
	if err != nil {
		t.Fatal(err)
	}
	ev, ok := n.Event.(*membercardopen.ActivateCardEvent)
	if !ok || ev.CardID != "pbLatjvWOibDc5-TBnbUk1pD12o0" || ev.OpenID != "obLatjnx9gnqzS4myYGmLZ7LgLBA" || ev.ActivateScene != "NEW_ACTIVATE" {
		t.Fatalf("event = %#v", n.Event)
	}
	if n.ID == "" || n.RequestID != "notify-req-1" || n.CreateTime.IsZero() || n.Resource.OriginalType != "membercard" {
		t.Errorf("envelope = %v", n)
	}

	// Brand user-card events carry a phone number encrypted for the merchant.
	phone, _ := wxpay.EncryptOAEP(nil, &testkeys.Shared().Merchant.PublicKey, []byte("13800138000"))
	created := build{eventType: notify.EventBrandMemberCardSPUserCardCreate, originalType: "user_card", resource: map[string]any{
		"card_id": "c", "openid": "o", "brand_id": "1004", "card_type": "NORMAL", "phone_number": phone,
		"user_card_state": "EFFECTIVE", "valid_date_information": map[string]string{"type": "PERMANENT"}}}.message(t)
	n, err = p.Parse(created.header, created.body)
	if err != nil {
		t.Fatal(err)
	}
	uc, ok := n.Event.(*cardmember.UserCardEvent)
	if !ok || uc.PhoneNumber == "" {
		t.Fatalf("event = %#v", n.Event)
	}
	if s := fmt.Sprintf("%v %+v", n, uc); strings.Contains(s, "13800138000") || strings.Contains(s, phone[:16]) {
		t.Errorf("printed personal data: %s", s)
	}

	// Unknown event types still verify and decrypt; Decode reads them.
	other := build{eventType: "MEMBERCARD.FUTURE_EVENT", originalType: "membercard", resource: map[string]string{"x": "y"}}.message(t)
	n, err = p.Parse(other.header, other.body)
	if err != nil || n.Event != nil {
		t.Fatalf("unknown type: %v, %v", n, err)
	}
	var raw map[string]string
	if err := n.Decode(&raw); err != nil || raw["x"] != "y" {
		t.Errorf("Decode = %v %v", raw, err)
	}
}

func TestRejections(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	tampered := activate.message(t)
	tampered.body = bytes.Replace(tampered.body, []byte("会员卡激活通知"), []byte("会员卡注销通知"), 1)
	probe := activate.message(t)
	probe.header.Set("Wechatpay-Signature", "WECHATPAY/SIGNTEST/"+probe.header.Get("Wechatpay-Signature"))
	unsigned := activate.message(t)
	unsigned.header.Del("Wechatpay-Signature")
	badCipher := activate.message(t)
	badCipher.body = bytes.Replace(badCipher.body, []byte(`"nonce":"j9g1wAzF9Xn1"`), []byte(`"nonce":"j9g1wAzF9Xn2"`), 1)
	resign := func(m message) message { // re-sign a modified body so only the content is wrong
		b := activate
		b.resource = nil
		out := b.message(t)
		out.body = m.body
		ts := out.header.Get("Wechatpay-Timestamp")
		d := sha256.Sum256(wire.AppendResponseMessage(nil, ts, out.header.Get("Wechatpay-Nonce"), m.body))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, k.Platform, crypto.SHA256, d[:])
		out.header.Set("Wechatpay-Signature", base64.StdEncoding.EncodeToString(sig))
		return out
	}
	notJSON := resign(message{body: []byte("<xml/>")})
	plain := resign(message{body: []byte(`{"id":"1","event_type":"X","resource_type":"plain","resource":{"algorithm":"AEAD_AES_256_GCM"}}`)})

	tests := []struct {
		name string
		m    message
		want error
	}{
		{"tampered", tampered, wxpay.ErrSignatureMismatch},
		{"wrong key", build{eventType: activate.eventType, originalType: "membercard", resource: activate.resource, key: k.Other}.message(t), wxpay.ErrSignatureMismatch},
		{"unknown serial", build{eventType: activate.eventType, originalType: "membercard", resource: activate.resource, serial: "PUB_KEY_ID_0000000000000000000000000009"}.message(t), wxpay.ErrUnknownSerial},
		{"skewed 301s", build{eventType: activate.eventType, originalType: "membercard", resource: activate.resource, at: time.Now().Add(-301 * time.Second)}.message(t), wxpay.ErrClockSkew},
		{"signature probe", probe, wxpay.ErrSignatureProbe},
		{"unsigned", unsigned, wxpay.ErrMissingSignature},
		{"undecryptable", resign(badCipher), wxpay.ErrDecrypt},
		{"not JSON", notJSON, notify.ErrInvalid},
		{"not encrypt-resource", plain, notify.ErrInvalid},
		{"too large", message{activate.message(t).header, make([]byte, notify.DefaultMaxBody+1)}, notify.ErrTooLarge},
	}
	p := newParser(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := p.Parse(tt.m.header, tt.m.body)
			if !errors.Is(err, tt.want) || n != nil {
				t.Errorf("Parse = %v, %v; want %v", n, err, tt.want)
			}
		})
	}
	t.Run("replayed", func(t *testing.T) {
		m := activate.message(t)
		if _, err := p.Parse(m.header, m.body); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Parse(m.header, m.body); !errors.Is(err, notify.ErrReplayed) {
			t.Errorf("second delivery of the same signed message: %v, want ErrReplayed", err)
		}
		// A redelivery is re-signed with a new nonce: accepted.
		again := activate.message(t)
		if _, err := p.Parse(again.header, again.body); err != nil {
			t.Errorf("re-signed redelivery: %v", err)
		}
	})
}

func TestHandlerAnswers(t *testing.T) {
	t.Parallel()
	p := newParser(t)
	var calls atomic.Int64
	fail := atomic.Bool{}
	h := p.Handler(func(ctx context.Context, n *notify.Notification) error {
		calls.Add(1)
		if fail.Load() {
			return errors.New("db down: user 13800138000")
		}
		return nil
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	post := func(m message) (int, map[string]string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(m.body))
		req.Header = m.header.Clone()
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, out := post(activate.message(t)); code != 200 || out["code"] != "SUCCESS" {
		t.Errorf("valid: %d %v", code, out)
	}
	tampered := activate.message(t)
	tampered.body = append(tampered.body[:len(tampered.body)-1], []byte(`,"x":1}`)...)
	if code, out := post(tampered); code != 401 || out["code"] != "FAIL" || out["message"] == "" {
		t.Errorf("tampered: %d %v", code, out)
	}
	big := activate.message(t)
	big.body = bytes.Repeat([]byte("x"), notify.DefaultMaxBody+10)
	if code, _ := post(big); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized: %d", code)
	}
	fail.Store(true)
	other := activate
	other.id = "another-notification"
	code, out := post(other.message(t))
	if code != 500 || out["code"] != "FAIL" || strings.Contains(out["message"], "13800138000") {
		t.Errorf("handler error: %d %v (the cause must not be echoed)", code, out)
	}
	if calls.Load() != 2 {
		t.Errorf("handler called %d times, want 2 (rejected messages never reach it)", calls.Load())
	}
}

func TestNewValidates(t *testing.T) {
	t.Parallel()
	v, _ := wxpay.NewVerifier(wxpay.WithPlatformPublicKey(testkeys.PublicKeyID, &testkeys.Shared().Platform.PublicKey))
	if _, err := notify.New(nil, wxpay.APIv3Key{}); !errors.Is(err, wxpay.ErrInvalidConfig) {
		t.Error(err)
	}
	if _, err := notify.New(v, wxpay.APIv3Key{}); !errors.Is(err, wxpay.ErrInvalidConfig) {
		t.Error(err)
	}
}
