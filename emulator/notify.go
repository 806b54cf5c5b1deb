package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wxpaykit/wxpay/internal/apispec"
	"github.com/wxpaykit/wxpay/internal/wire"
)

// Notification is a signed, encrypted notification as WeChat Pay delivers it.
type Notification struct {
	ID        string
	EventType string
	Header    http.Header
	Body      []byte
}

// Request returns a POST of the notification to url, for a handler under test.
func (n *Notification) Request(url string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(n.Body))
	if err != nil {
		return nil, err
	}
	req.Header = n.Header.Clone()
	return req, nil
}

// NewNotification builds a notification of eventType whose decrypted resource is
// resource (marshalled to JSON): the §9.3 envelope, the resource sealed with
// AEAD_AES_256_GCM under the APIv3 key, and the Wechatpay-* headers signed
// with the platform key. original_type and summary come from the spec.
func (e *Emulator) NewNotification(eventType string, resource any) (*Notification, error) {
	if e.apiV3Key.IsZero() {
		return nil, errors.New("emulator: notifications need WithAPIv3Key")
	}
	plain, err := json.Marshal(resource)
	if err != nil {
		return nil, fmt.Errorf("emulator: resource: %w", err)
	}
	originalType, summary := "membercard", eventType
	if ev, ok := apispec.EventByType(eventType); ok {
		originalType, summary = ev.OriginalType, ev.SummaryZh
	}
	nonce := e.randString(12, alnum)
	ct, err := e.apiV3Key.EncryptAEAD(nonce, originalType, plain)
	if err != nil {
		return nil, err
	}
	id := e.uuid()
	body, err := json.Marshal(map[string]any{
		"id": id, "create_time": rfc3339(e.nowCST()), "resource_type": "encrypt-resource",
		"event_type": eventType, "summary": summary,
		"resource": map[string]string{"original_type": originalType, "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": ct, "associated_data": originalType, "nonce": nonce},
	})
	if err != nil {
		return nil, err
	}
	h := e.notificationHeader(body)
	return &Notification{ID: id, EventType: eventType, Header: h, Body: body}, nil
}

// notificationHeader signs a notification body afresh: WeChat Pay re-signs every
// delivery (its redelivery schedule spans hours, beyond any skew window).
func (e *Emulator) notificationHeader(body []byte) http.Header {
	serial, key := e.signingKey(e.pubKeyID)
	at := e.now()
	sig := e.sign(key, at, body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Request-ID", e.requestID())
	h.Set(wire.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(wire.HeaderNonce, sig.nonce)
	h.Set(wire.HeaderSignature, sig.value)
	h.Set(wire.HeaderSerial, serial)
	h.Set(wire.HeaderSignatureType, wire.Scheme)
	h.Set("User-Agent", "Mozilla/4.0 (WeChat Pay emulator)")
	return h
}

func (e *Emulator) uuid() string {
	s := e.randString(32, "0123456789abcdef")
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// DefaultSchedule returns the redelivery schedule of membership-card
// notifications: every 60 s, 11 redeliveries (sources disagree; see the protocol
// notes §9.6).
func DefaultSchedule() []time.Duration {
	s := make([]time.Duration, 11)
	for i := range s {
		s[i] = 60 * time.Second
	}
	return s
}

// ScheduleOf returns the documented redelivery schedule of an event type: the
// spec's retry text for payments and refunds (15s/15s/30s/3m/…/6h, 24h4m in
// all), DefaultSchedule for the membership-card families, whose pages disagree.
func ScheduleOf(eventType string) []time.Duration {
	ev, ok := apispec.EventByType(eventType)
	if !ok || strings.HasPrefix(eventType, "MEMBERCARD.") || strings.HasPrefix(eventType, "BRAND_MEMBER_CARD_SP.") {
		return DefaultSchedule()
	}
	text, _, _ := strings.Cut(ev.Retry, "(")
	var out []time.Duration
	for _, part := range strings.Split(strings.TrimSpace(text), "/") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			return DefaultSchedule()
		}
		out = append(out, d)
	}
	return out
}

// deliver sends a notification in the background if there is a URL to send it
// to; without an APIv3 key there is nothing to encrypt it with, and it is
// dropped (the emulator's callers learn it from Deliveries).
func (e *Emulator) deliver(url, eventType string, resource any) {
	if url == "" {
		return
	}
	_, _ = e.Notify(url, eventType, resource)
}

// Delivery is the state of one notification being delivered.
// Its JSON names are those of the control API's GET /_emulator/deliveries.
type Delivery struct {
	ID         string `json:"id"`
	EventType  string `json:"event_type"`
	URL        string `json:"url"`
	Attempts   int    `json:"attempts"`
	Delivered  bool   `json:"delivered"`
	GaveUp     bool   `json:"gave_up"`
	LastStatus int    `json:"last_status"` // HTTP status of the last attempt, 0 when no answer
}

type delivery struct {
	Delivery
	n        *Notification
	due      time.Time
	schedule []time.Duration // nil: the notifier's override, or the event's documented schedule
}

// notifier delivers notifications in the background, redelivering failures.
type notifier struct {
	e        *Emulator
	client   *http.Client
	schedule []time.Duration // SetNotificationSchedule's override of every event's; nil: none
	mu       sync.Mutex
	queue    []*delivery
	all      []*delivery
	wake     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}
	once     sync.Once
	start    sync.Once
}

func newNotifier(e *Emulator) *notifier {
	return &notifier{e: e, client: &http.Client{Timeout: 5 * time.Second},
		wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
}

// SetNotificationSchedule sets the waits between delivery attempts of every
// event (tests use milliseconds), in place of each event's documented schedule
// (ScheduleOf); SetNotificationClient the HTTP client that delivers.
func (e *Emulator) SetNotificationSchedule(waits ...time.Duration) {
	e.notifier.mu.Lock()
	defer e.notifier.mu.Unlock()
	e.notifier.schedule = waits
}

// SetNotificationClient sets the client notifications are posted with.
func (e *Emulator) SetNotificationClient(c *http.Client) {
	e.notifier.mu.Lock()
	defer e.notifier.mu.Unlock()
	e.notifier.client = c
}

// Notify delivers a notification to url in the background: a 2xx answer within
// 5 s is success; anything else is retried on the schedule.
func (e *Emulator) Notify(url, eventType string, resource any) (string, error) {
	n, err := e.NewNotification(eventType, resource)
	if err != nil {
		return "", err
	}
	d := &delivery{Delivery: Delivery{ID: n.ID, EventType: eventType, URL: url}, n: n, schedule: ScheduleOf(eventType)}
	nt := e.notifier
	nt.start.Do(func() { go nt.loop() })
	nt.mu.Lock()
	nt.queue = append(nt.queue, d)
	nt.all = append(nt.all, d)
	nt.mu.Unlock()
	nt.poke()
	return n.ID, nil
}

// NotifyMerchant sends a membercard-open notification to the URL the merchant
// set with PATCH /v3/marketing/membercard-open/callback.
func (e *Emulator) NotifyMerchant(mchID, eventType string, resource any) (string, error) {
	e.state.mu.Lock()
	url := e.state.callbacks[mchID]
	e.state.mu.Unlock()
	if url == "" {
		return "", fmt.Errorf("emulator: merchant %s has no callback URL", mchID)
	}
	return e.Notify(url, eventType, resource)
}

// Deliveries reports every notification sent so far.
func (e *Emulator) Deliveries() []Delivery {
	e.notifier.mu.Lock()
	defer e.notifier.mu.Unlock()
	out := make([]Delivery, len(e.notifier.all))
	for i, d := range e.notifier.all {
		out[i] = d.Delivery
	}
	return out
}

func (nt *notifier) poke() {
	select {
	case nt.wake <- struct{}{}:
	default:
	}
}

func (nt *notifier) close() {
	nt.once.Do(func() {
		nt.start.Do(func() { close(nt.stopped) }) // never started: it never will be
		close(nt.stop)
		<-nt.stopped
	})
}

// loop delivers due notifications. Close stops it after the attempt in flight
// (bounded by the client's 5 s timeout).
func (nt *notifier) loop() {
	defer close(nt.stopped)
	for {
		nt.mu.Lock()
		now := time.Now()
		var due []*delivery
		var next time.Time
		rest := nt.queue[:0]
		for _, d := range nt.queue {
			if !d.due.After(now) {
				due = append(due, d)
				continue
			}
			rest = append(rest, d)
			if next.IsZero() || d.due.Before(next) {
				next = d.due
			}
		}
		nt.queue = rest
		client, override := nt.client, nt.schedule
		nt.mu.Unlock()

		for _, d := range due {
			status := nt.attempt(client, d)
			schedule := d.schedule
			if override != nil {
				schedule = override
			}
			nt.mu.Lock()
			d.Attempts++
			d.LastStatus = status
			switch {
			case status >= 200 && status < 300:
				d.Delivered = true
			case d.Attempts > len(schedule):
				d.GaveUp = true
			default:
				d.due = time.Now().Add(schedule[d.Attempts-1])
				nt.queue = append(nt.queue, d)
				if next.IsZero() || d.due.Before(next) {
					next = d.due
				}
			}
			nt.mu.Unlock()
		}
		var timer *time.Timer
		var fire <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(time.Until(next))
			fire = timer.C
		}
		select {
		case <-nt.stop:
			return
		case <-nt.wake:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

func (nt *notifier) attempt(client *http.Client, d *delivery) int {
	n := *d.n
	if d.Attempts > 0 {
		n.Header = nt.e.notificationHeader(n.Body)
	}
	req, err := n.Request(d.URL)
	if err != nil {
		return 0
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode
}
