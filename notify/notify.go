package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/internal/wire"
)

// ErrInvalid is wrapped by every notification that is not the documented
// envelope: bad JSON, wrong resource type or algorithm, a missing field.
var ErrInvalid = errors.New("notify: malformed notification")

// ErrReplayed: a message with this Wechatpay-Nonce and signature was already
// accepted. A message is remembered for as long as its timestamp passes the
// verifier's skew check; WeChat Pay re-signs every redelivery, so a repeated
// signature is a replay, not a retry.
var ErrReplayed = errors.New("notify: replayed notification")

// ErrTooLarge: the body exceeded the configured limit.
var ErrTooLarge = errors.New("notify: body too large")

// DefaultMaxBody bounds a notification body; real ones are about 1 KiB.
const DefaultMaxBody = 64 << 10

// DefaultHandlerTimeout is WeChat Pay's answer deadline: a notification not
// answered within 5 seconds counts as failed and is redelivered.
const DefaultHandlerTimeout = 5 * time.Second

// DefaultRetention is how long a handled notification id is remembered: twice
// the longest documented redelivery schedule (24h4m, protocol notes §9.6).
const DefaultRetention = 48 * time.Hour

// markMargin is added to a replay mark's TTL: it covers a store whose clock
// runs a little fast against the verifier's, and rounding to milliseconds.
const markMargin = time.Second

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
	lease    time.Duration
	retain   time.Duration
	now      func() time.Time
	store    Store
}

// Option configures a Parser.
type Option func(*Parser)

// WithMaxBody bounds the body (default DefaultMaxBody).
func WithMaxBody(n int64) Option { return func(p *Parser) { p.maxBody = n } }

// WithHandlerTimeout bounds the handler's answer, the function's run included
// (default DefaultHandlerTimeout).
func WithHandlerTimeout(d time.Duration) Option { return func(p *Parser) { p.timeout = d } }

// WithClock sets the clock of the default in-memory store's TTLs. The default
// is the verifier's clock (the one its skew check uses), which is what it must
// be; the option is kept for callers that pass that same clock.
func WithClock(now func() time.Time) Option { return func(p *Parser) { p.now = now } }

// WithStore keeps replay marks and handled ids in s instead of the Parser's own
// memory: give every instance of a service the same shared store (see the
// redisstore module) so that they reject each other's replays and run the
// function once per notification id between them.
func WithStore(s Store) Option { return func(p *Parser) { p.store = s } }

// WithLease sets how long a delivery holds a notification id while its
// function runs (default three times the handler timeout, and it must be
// longer than that): a redelivery meanwhile is answered 503. If the instance
// dies mid-run the id is free again once the lease expires. A function that
// ignores its context and runs past the lease may run alongside a redelivery.
func WithLease(d time.Duration) Option { return func(p *Parser) { p.lease = d } }

// WithRetention sets how long a handled id is remembered, so that a
// redelivery answers success without running the function again (default
// DefaultRetention).
func WithRetention(d time.Duration) Option { return func(p *Parser) { p.retain = d } }

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
		retain: DefaultRetention}
	for _, o := range opts {
		o(p)
	}
	if p.maxBody <= 0 || p.timeout <= 0 || p.retain <= 0 || p.lease < 0 {
		return nil, fmt.Errorf("%w: notify: limits must be positive", wxpay.ErrInvalidConfig)
	}
	if p.lease == 0 {
		p.lease = 3 * p.timeout
	}
	if p.lease <= p.timeout {
		return nil, fmt.Errorf("%w: notify: the lease (%s) must outlast the handler timeout (%s), or a redelivery could run the function while it still runs", wxpay.ErrInvalidConfig, p.lease, p.timeout)
	}
	if p.now == nil {
		p.now = func() time.Time { now, _ := v.Window(); return now }
	}
	if p.store == nil {
		p.store = NewMemoryStore(p.now)
	}
	return p, nil
}

// Parse is ParseContext without a context.
func (p *Parser) Parse(header http.Header, body []byte) (*Notification, error) {
	return p.ParseContext(context.Background(), header, body)
}

// ParseContext verifies and decrypts a notification from its headers and the
// raw body exactly as received, and records it against replays (ctx bounds the
// store). Errors wrap wxpay.ErrMissingSignature, ErrClockSkew, ErrUnknownSerial,
// ErrSignatureProbe, ErrSignatureMismatch, ErrReplayed, ErrStore, ErrTooLarge,
// ErrInvalid or wxpay.ErrDecrypt.
//
// Parse alone does not guard the id: two deliveries of one notification (new
// signature, same id) both parse. Handler runs its function once per id; a
// framework that has read the body already can hand it back
// (r.Body = io.NopCloser(bytes.NewReader(body))) and call Handler's ServeHTTP.
func (p *Parser) ParseContext(ctx context.Context, header http.Header, body []byte) (*Notification, error) {
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
	if err := p.remember(ctx, header); err != nil {
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
	return p.ParseContext(r.Context(), r.Header, body)
}

// remember records the message's nonce and signature, failing if seen before.
// The mark lasts as long as the message passes the skew check: until its
// timestamp plus the verifier's skew, on the verifier's clock. Any shorter and
// a replay late in the window would be accepted (a message may arrive as early
// as its timestamp minus the skew, so the span from arrival reaches twice the
// skew).
func (p *Parser) remember(ctx context.Context, h http.Header) error {
	ts, err := strconv.ParseInt(h.Get(wire.HeaderTimestamp), 10, 64)
	if err != nil { // Verify checked it; never here
		return fmt.Errorf("%w: %s", wxpay.ErrClockSkew, wire.HeaderTimestamp)
	}
	now, skew := p.verifier.Window()
	ttl := time.Unix(ts, 0).Add(skew).Sub(now) + markMargin
	sum := sha256.Sum256([]byte(h.Get(wire.HeaderNonce) + "\x00" + h.Get(wire.HeaderSignature)))
	fresh, err := p.store.Mark(ctx, base64.RawURLEncoding.EncodeToString(sum[:]), ttl)
	switch {
	case err != nil:
		return fmt.Errorf("%w: %w", ErrStore, err)
	case !fresh:
		return ErrReplayed
	}
	return nil
}

// HandlerFunc processes one verified notification. Returning an error makes the
// handler answer with a failure so that WeChat Pay delivers it again.
type HandlerFunc func(ctx context.Context, n *Notification) error

// Handler adapts fn to an http.Handler that answers as WeChat Pay expects and
// runs fn once per notification id while WeChat Pay redelivers it:
//
//   - 200 {"code":"SUCCESS","message":"成功"} once fn returns nil, and to every
//     later delivery of the id (for the retention, DefaultRetention), without
//     running fn again;
//   - 4xx FAIL when the message is rejected: bad or missing signature, stale,
//     replayed (the same signed bytes again), malformed, too large;
//   - 500 FAIL when fn fails or overruns the handler timeout: the id is
//     released, and the redelivery runs fn again;
//   - 503 FAIL while another delivery of the id holds the lease (its fn is
//     running and may yet fail, so success cannot be promised and the
//     redelivery decides), and when the Store fails: fn is never run without
//     the guard.
//
// fn's context ends at the handler timeout (WeChat Pay's 5 s answer deadline),
// counted from the request's arrival. The guard holds across instances that
// share a Store (WithStore). Its one gap is at-least-once, not at-most-once:
// if the process dies, or the store stays unreachable for the whole lease,
// after fn succeeded and before the id is recorded as handled, the lease
// expires and a redelivery runs fn again. So fn should still be idempotent in
// its effects (de-duplicate by n.ID in the same transaction as the business
// change where it matters). The body is capped with http.MaxBytesReader.
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
		ctx, cancel := context.WithTimeout(r.Context(), p.timeout)
		defer cancel()
		n, err := p.ParseContext(ctx, r.Header, body)
		if err != nil {
			msg := err.Error()
			if errors.Is(err, ErrStore) {
				msg = ErrStore.Error() // the store's error names hosts: it stays here
			}
			answer(w, statusFor(err), "FAIL", msg)
			return
		}
		status, code, msg := p.run(ctx, n, fn)
		answer(w, status, code, msg)
	})
}

// Answers of the guard, besides success.
const (
	msgBusy    = "notification is being handled; deliver it again later"
	msgFailed  = "处理失败" // fn's error stays here: it may hold business data
	msgOverrun = "handler exceeded the answer deadline"
)

// run claims n.ID, runs fn under the claim and settles it: Complete on
// success, Release on failure.
func (p *Parser) run(ctx context.Context, n *Notification, fn HandlerFunc) (status int, code, msg string) {
	claimed := time.Now()
	token := rand.Text()
	st, err := p.store.Claim(ctx, n.ID, token, p.lease)
	if err != nil {
		// The claim may have been taken before the error (a lost reply): give
		// it back, or redeliveries would be refused for the whole lease.
		p.release(ctx, n.ID, token)
		return http.StatusServiceUnavailable, "FAIL", ErrStore.Error()
	}
	switch st {
	case Handled:
		return http.StatusOK, "SUCCESS", "成功"
	case Busy:
		return http.StatusServiceUnavailable, "FAIL", msgBusy
	case Claimed:
	default:
		p.release(ctx, n.ID, token)
		return http.StatusServiceUnavailable, "FAIL", ErrStore.Error()
	}

	done := false
	defer func() {
		if !done { // fn panicked: free the id for the redelivery, let net/http log the panic
			p.release(ctx, n.ID, token)
		}
	}()
	err = fn(ctx, n)
	done = true
	if err != nil {
		p.release(ctx, n.ID, token)
		return http.StatusInternalServerError, "FAIL", msgFailed
	}
	// fn's effects are in place: recording that matters more than answering in
	// time. Keep trying while the lease holds (past it, a redelivery may run fn
	// anyway); if it still fails, answer success all the same, since a failure
	// would only invite that redelivery.
	sctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), claimed.Add(p.lease))
	defer cancel()
	_ = retry(sctx, func() error { return p.store.Complete(sctx, n.ID, p.retain) })
	if ctx.Err() != nil {
		// Too late for WeChat Pay, which redelivers; the redelivery finds the
		// id handled and is answered 200.
		return http.StatusInternalServerError, "FAIL", msgOverrun
	}
	return http.StatusOK, "SUCCESS", "成功"
}

// release gives up a claim, once and best effort: if it fails, the lease
// expires on its own and the id is free again then.
func (p *Parser) release(ctx context.Context, id, token string) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.timeout)
	defer cancel()
	_ = p.store.Release(rctx, id, token)
}

// retry calls f until it succeeds or ctx ends, backing off from 10 ms to 1 s.
func retry(ctx context.Context, f func() error) error {
	wait := 10 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, time.Second)
	}
}

func statusFor(err error) int {
	switch {
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrStore):
		return http.StatusServiceUnavailable
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
