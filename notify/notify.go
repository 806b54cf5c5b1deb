// Package notify receives WeChat Pay notifications (回调通知): it verifies the
// signature with the same key ring as the client, rejects replays and stale
// messages, decrypts the AEAD_AES_256_GCM resource with the APIv3 key and decodes
// it into the typed event models of the spec (MEMBERCARD.*, BRAND_MEMBER_CARD_SP.*).
//
//	parser, err := notify.New(client.Verifier(), apiV3Key)
//	http.Handle("/wxpay/notify", parser.Handler(func(ctx context.Context, n *notify.Notification) error {
//		switch ev := n.Event.(type) {
//		case *membercardopen.ActivateCardEvent:
//			return activate(ctx, ev.CardID, ev.OpenID)
//		}
//		return nil
//	}))
//
// Frameworks that have already read the body call Parse(header, body) instead.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/internal/replay"
)

// ErrInvalid is wrapped by every notification that is not the documented
// envelope: bad JSON, wrong resource type or algorithm, a missing field.
var ErrInvalid = errors.New("notify: malformed notification")

// ErrReplayed: a message with this Wechatpay-Nonce and signature was already
// accepted within the skew window. WeChat Pay re-signs every redelivery, so a
// repeated signature is a replay, not a retry.
var ErrReplayed = errors.New("notify: replayed notification")

// ErrTooLarge: the body exceeded the configured limit.
var ErrTooLarge = errors.New("notify: body too large")

// DefaultMaxBody bounds a notification body; real ones are about 1 KiB.
const DefaultMaxBody = 64 << 10

// DefaultHandlerTimeout is WeChat Pay's answer deadline: a notification not
// answered within 5 seconds counts as failed and is redelivered.
const DefaultHandlerTimeout = 5 * time.Second

// Notification is a verified, decrypted notification.
type Notification struct {
	ID           string    `json:"id"`
	CreateTime   time.Time `json:"create_time"`
	EventType    string    `json:"event_type"`
	ResourceType string    `json:"resource_type"`
	Summary      string    `json:"summary"`
	Resource     Resource  `json:"resource"`
	// Event is the decrypted resource decoded into its model (for example
	// *membercardopen.ActivateCardEvent), or nil for an event type the spec does
	// not know; Plaintext is always available.
	Event any `json:"-"`
	// RequestID is the Request-ID header of the delivery.
	RequestID string `json:"-"`
	plaintext []byte
}

// Resource is the encrypted envelope as received.
type Resource struct {
	OriginalType   string `json:"original_type"`
	Algorithm      string `json:"algorithm"`
	Ciphertext     string `json:"ciphertext"`
	AssociatedData string `json:"associated_data"`
	Nonce          string `json:"nonce"`
}

// Plaintext returns the decrypted resource JSON. It can hold personal data:
// keep it out of logs.
func (n *Notification) Plaintext() []byte { return n.plaintext }

// Decode unmarshals the decrypted resource into v, for event types the spec
// does not model.
func (n *Notification) Decode(v any) error { return json.Unmarshal(n.plaintext, v) }

// Format implements fmt.Formatter: the envelope, never the plaintext.
func (n *Notification) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "notify.Notification{ID:%s EventType:%s CreateTime:%s Summary:%s}", n.ID, n.EventType, n.CreateTime.Format(time.RFC3339), n.Summary)
}

// Parser verifies and decrypts notifications. It is safe for concurrent use.
type Parser struct {
	verifier *wxpay.Verifier
	key      wxpay.APIv3Key
	maxBody  int64
	timeout  time.Duration
	window   time.Duration
	now      func() time.Time

	seen replay.Cache // nonce+signature of accepted messages
}

// Option configures a Parser.
type Option func(*Parser)

// WithMaxBody bounds the body (default DefaultMaxBody).
func WithMaxBody(n int64) Option { return func(p *Parser) { p.maxBody = n } }

// WithHandlerTimeout bounds the handler function (default DefaultHandlerTimeout).
func WithHandlerTimeout(d time.Duration) Option { return func(p *Parser) { p.timeout = d } }

// WithClock sets the clock used for replay bookkeeping; the skew check uses the
// verifier's clock.
func WithClock(now func() time.Time) Option { return func(p *Parser) { p.now = now } }

// New builds a Parser from the client's verifier (client.Verifier(), or
// wxpay.NewVerifier for services without a merchant key) and the APIv3 key.
func New(v *wxpay.Verifier, apiV3Key wxpay.APIv3Key, opts ...Option) (*Parser, error) {
	if v == nil {
		return nil, fmt.Errorf("%w: notify.New needs a verifier (client.Verifier())", wxpay.ErrInvalidConfig)
	}
	if apiV3Key.IsZero() {
		return nil, fmt.Errorf("%w: notify.New needs the APIv3 key (wxpay.ParseAPIv3Key)", wxpay.ErrInvalidConfig)
	}
	p := &Parser{verifier: v, key: apiV3Key, maxBody: DefaultMaxBody, timeout: DefaultHandlerTimeout,
		window: 2 * wxpay.DefaultClockSkew, now: time.Now}
	for _, o := range opts {
		o(p)
	}
	if p.maxBody <= 0 || p.timeout <= 0 {
		return nil, fmt.Errorf("%w: notify: limits must be positive", wxpay.ErrInvalidConfig)
	}
	return p, nil
}

// Parse verifies and decrypts a notification from its headers and the raw body
// exactly as received. Errors wrap wxpay.ErrMissingSignature, ErrClockSkew,
// ErrUnknownSerial, ErrSignatureProbe, ErrSignatureMismatch, ErrReplayed,
// ErrTooLarge, ErrInvalid or wxpay.ErrDecrypt.
func (p *Parser) Parse(header http.Header, body []byte) (*Notification, error) {
	if int64(len(body)) > p.maxBody {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(body), p.maxBody)
	}
	if err := p.verifier.Verify(header, body); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	var n Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	switch {
	case n.ID == "" || n.EventType == "":
		return nil, fmt.Errorf("%w: id and event_type are required", ErrInvalid)
	case n.ResourceType != "encrypt-resource":
		return nil, fmt.Errorf("%w: resource_type %q, want encrypt-resource", ErrInvalid, n.ResourceType)
	case n.Resource.Algorithm != wxpay.AEADAlgorithm:
		return nil, fmt.Errorf("%w: algorithm %q, want %s", ErrInvalid, n.Resource.Algorithm, wxpay.AEADAlgorithm)
	}
	// Replays are checked after the signature (so forged traffic cannot fill the
	// cache) and before decryption.
	if err := p.remember(header); err != nil {
		return nil, err
	}
	pt, err := p.key.DecryptAEAD(n.Resource.Nonce, n.Resource.AssociatedData, n.Resource.Ciphertext)
	if err != nil {
		return nil, fmt.Errorf("notify: %s: %w", n.ID, err)
	}
	n.plaintext = pt
	n.RequestID = header.Get("Request-Id")
	if ev := newEvent(n.EventType, pt); ev != nil {
		if err := json.Unmarshal(pt, ev); err != nil {
			return nil, fmt.Errorf("%w: %s resource does not decode: %v", ErrInvalid, n.EventType, err)
		}
		n.Event = ev
	}
	return &n, nil
}

// ParseRequest reads (at most the configured limit of) the request body and parses it.
func (p *Parser) ParseRequest(r *http.Request) (*Notification, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, p.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("notify: reading body: %w", err)
	}
	return p.Parse(r.Header, body)
}

// remember records the message's nonce and signature, failing if seen before.
// Messages older than the window fail the skew check anyway.
func (p *Parser) remember(h http.Header) error {
	if !p.seen.Remember(h.Get("Wechatpay-Nonce")+"\x00"+h.Get("Wechatpay-Signature"), p.now(), p.window) {
		return ErrReplayed
	}
	return nil
}

// HandlerFunc processes one verified notification. Returning an error makes the
// handler answer with a failure so that WeChat Pay delivers it again.
type HandlerFunc func(ctx context.Context, n *Notification) error

// Handler adapts fn to an http.Handler that answers as WeChat Pay expects:
// 200 {"code":"SUCCESS","message":"成功"} once fn returns nil; a 4xx with
// {"code":"FAIL","message":…} when the notification is rejected (bad signature,
// replay, malformed); 500 FAIL when fn fails or exceeds the handler timeout.
// The body is capped with http.MaxBytesReader. The same notification may arrive
// more than once: fn must be idempotent (de-duplicate by n.ID).
func (p *Parser) Handler(fn HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			answer(w, http.StatusMethodNotAllowed, "FAIL", "POST only")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, p.maxBody)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				answer(w, http.StatusRequestEntityTooLarge, "FAIL", ErrTooLarge.Error())
				return
			}
			answer(w, http.StatusBadRequest, "FAIL", "body could not be read")
			return
		}
		n, err := p.Parse(r.Header, body)
		if err != nil {
			answer(w, statusFor(err), "FAIL", err.Error())
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
		defer cancel()
		if err := fn(ctx, n); err != nil {
			answer(w, http.StatusInternalServerError, "FAIL", "处理失败") // the cause stays here: it may hold business data
			return
		}
		if ctx.Err() != nil {
			answer(w, http.StatusInternalServerError, "FAIL", "handler exceeded the answer deadline")
			return
		}
		answer(w, http.StatusOK, "SUCCESS", "成功")
	})
}

func statusFor(err error) int {
	switch {
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, wxpay.ErrMissingSignature), errors.Is(err, wxpay.ErrSignatureMismatch),
		errors.Is(err, wxpay.ErrUnknownSerial), errors.Is(err, wxpay.ErrClockSkew), errors.Is(err, ErrReplayed):
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

func answer(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(map[string]string{"code": code, "message": msg})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// hasMember reports whether the JSON object resource has a member name, to pick
// an event's model by who receives it (mchid for a merchant, sp_mchid for a
// service provider).
func hasMember(resource []byte, name string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(resource, &m) != nil {
		return false
	}
	_, ok := m[name]
	return ok
}
