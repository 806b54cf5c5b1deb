package redisstore_test

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
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/internal/wire"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/notify/redisstore"
	"github.com/wxpaykit/wxpay/notify/storetest"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// newClient connects to rs with timeouts well under the 5 s answer deadline,
// as the package documentation advises.
func newClient(t testing.TB, rs *redisServer) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: rs.Addr(), DialTimeout: time.Second,
		ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var prefixes atomic.Int64

func TestConformance(t *testing.T) {
	t.Parallel()
	rs := startRedis(t)
	c := newClient(t, rs)
	storetest.Run(t, func(t *testing.T) (notify.Store, func(time.Duration)) {
		// Redis keeps its own time: expiry is checked by TestKeysAndTTLs.
		return redisstore.New(c, redisstore.WithPrefix(fmt.Sprintf("conf%d:", prefixes.Add(1)))), nil
	})
}

// Every key is namespaced, bounded in length, and has the TTL asked for,
// rounded up to the millisecond.
func TestKeysAndTTLs(t *testing.T) {
	t.Parallel()
	rs := startRedis(t)
	c := newClient(t, rs)
	ctx := context.Background()
	s := redisstore.New(c, redisstore.WithPrefix("p:"))
	if fresh, err := s.Mark(ctx, "digest", 90*time.Second+time.Microsecond); err != nil || !fresh {
		t.Fatal(fresh, err)
	}
	long := strings.Repeat("長", 1000)
	for _, id := range []string{"plain-id_1.0", long, "with space"} {
		if st, err := s.Claim(ctx, id, "tok", 15*time.Second); err != nil || st != notify.Claimed {
			t.Fatal(st, err)
		}
	}
	if err := s.Complete(ctx, "plain-id_1.0", 48*time.Hour); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"p:mark:digest": 90*time.Second + time.Millisecond, "p:id:plain-id_1.0": 48 * time.Hour}
	if len(keys) != 4 {
		t.Fatalf("keys %q, want 4", keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k, "p:") || len(k) > 64+len("p:mark:") {
			t.Errorf("key %.80q: not namespaced or not bounded", k)
		}
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil || ttl <= 0 {
			t.Errorf("key %q has no TTL (%v, %v)", k, ttl, err)
			continue
		}
		w, ok := want[k]
		if !ok {
			w = 15 * time.Second
		}
		// PTTL counts down from the TTL set: within a second of it.
		if ttl > w || ttl < w-time.Second {
			t.Errorf("key %q: TTL %v, want %v", k, ttl, w)
		}
	}
}

// sign re-signs body as WeChat Pay signs a (re)delivery: timestamp at, a new
// nonce, the emulator's platform key.
func sign(t testing.TB, at time.Time, body []byte) http.Header {
	t.Helper()
	ts, nonce := strconv.FormatInt(at.Unix(), 10), rand.Text()
	d := sha256.Sum256(wire.AppendResponseMessage(nil, ts, nonce, body))
	sig, err := rsa.SignPKCS1v15(nil, testkeys.Shared().Platform, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(wire.HeaderTimestamp, ts)
	h.Set(wire.HeaderNonce, nonce)
	h.Set(wire.HeaderSignature, base64.StdEncoding.EncodeToString(sig))
	h.Set(wire.HeaderSerial, emulator.DemoPublicKeyID)
	h.Set(wire.HeaderSignatureType, wire.Scheme)
	return h
}

// activation is a notification's resource.
func activation(code string) map[string]string {
	return map[string]string{"event_type": "MEMBER_CARD_ACTIVATE", "card_id": emulator.DemoCardID, "code": code,
		"openid": emulator.DemoOpenID, "event_time": "2026-01-01T10:00:00+08:00", "activate_scene": "NEW_ACTIVATE"}
}

// The replay window holds with the Redis store too, at both edges, for every
// skew: the mark's TTL runs to the message's timestamp plus the skew.
func TestReplayWindow(t *testing.T) {
	t.Parallel()
	rs := startRedis(t)
	c := newClient(t, rs)
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	n, err := srv.Emulator.NewNotification(notify.EventMembercardActivateCard, activation("1"))
	if err != nil {
		t.Fatal(err)
	}
	ts := wxpaytest.Start.Truncate(time.Second)
	for i, skew := range []time.Duration{time.Second, 5 * time.Minute, 30 * time.Minute, 24 * time.Hour} {
		for j, early := range []bool{true, false} {
			clk := &wxpaytest.Clock{}
			clk.Set(ts)
			if early {
				clk.Set(ts.Add(-skew))
			}
			v, err := wxpay.NewVerifier(wxpay.WithPlatformPublicKey(emulator.DemoPublicKeyID, srv.PlatformPublicKey()),
				wxpay.WithClock(clk.Now), wxpay.WithClockSkew(skew))
			if err != nil {
				t.Fatal(err)
			}
			prefix := fmt.Sprintf("w%d.%d:", i, j)
			p, err := notify.New(v, srv.APIv3Key(), notify.WithStore(redisstore.New(c, redisstore.WithPrefix(prefix))))
			if err != nil {
				t.Fatal(err)
			}
			h := sign(t, ts, n.Body)
			if _, err := p.Parse(h, n.Body); err != nil {
				t.Fatalf("skew %v, early %v: %v", skew, early, err)
			}
			keys, _ := c.Keys(context.Background(), prefix+"mark:*").Result()
			if len(keys) != 1 {
				t.Fatalf("marks %q", keys)
			}
			// The TTL covers the rest of the window (measured from the arrival).
			if ttl := c.PTTL(context.Background(), keys[0]).Val(); ttl < ts.Add(skew).Sub(clk.Now()) {
				t.Errorf("skew %v, early %v: mark TTL %v, window left %v", skew, early, ttl, ts.Add(skew).Sub(clk.Now()))
			}
			clk.Set(ts.Add(skew))
			if _, err := p.Parse(h, n.Body); !errors.Is(err, notify.ErrReplayed) {
				t.Errorf("skew %v, early %v: replay at the window's end: %v, want ErrReplayed", skew, early, err)
			}
			clk.Set(ts.Add(skew + time.Nanosecond))
			if _, err := p.Parse(h, n.Body); !errors.Is(err, wxpay.ErrClockSkew) {
				t.Errorf("skew %v, early %v: replay past the window: %v, want ErrClockSkew", skew, early, err)
			}
		}
	}
}

// post sends a notification and returns the status and the answer's message.
func post(t testing.TB, client *http.Client, url string, h http.Header, body []byte) (int, string) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	req.Header = h.Clone()
	resp, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	var out struct{ Code, Message string }
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&out); err != nil {
		t.Errorf("answer: %v", err)
	}
	return resp.StatusCode, out.Message
}

// With Redis down the handler answers 503 and runs nothing; once it is back,
// the redelivery runs, and what was handled before is still handled.
func TestRedisDown(t *testing.T) {
	t.Parallel()
	rs := startRedis(t)
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	p, err := notify.New(srv.Verifier(), srv.APIv3Key(), notify.WithStore(redisstore.New(newClient(t, rs))))
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int64
	hs := httptest.NewServer(p.Handler(func(context.Context, *notify.Notification) error { runs.Add(1); return nil }))
	t.Cleanup(hs.Close)
	before, _ := srv.Emulator.NewNotification(notify.EventMembercardActivateCard, activation("1"))
	during, _ := srv.Emulator.NewNotification(notify.EventMembercardActivateCard, activation("2"))
	if code, msg := post(t, hs.Client(), hs.URL, before.Header, before.Body); code != 200 || runs.Load() != 1 {
		t.Fatalf("before: %d %s", code, msg)
	}
	rs.Kill()
	code, msg := post(t, hs.Client(), hs.URL, during.Header, during.Body)
	if code != http.StatusServiceUnavailable || msg != notify.ErrStore.Error() || runs.Load() != 1 {
		t.Fatalf("Redis down: %d %q, %d runs; want 503 %q and no run", code, msg, runs.Load(), notify.ErrStore)
	}
	if err := rs.Restart(); err != nil {
		t.Fatal(err)
	}
	if code, msg := post(t, hs.Client(), hs.URL, sign(t, srv.Now(), during.Body), during.Body); code != 200 || runs.Load() != 2 {
		t.Fatalf("redelivery after the restart: %d %s, %d runs", code, msg, runs.Load())
	}
	if code, _ := post(t, hs.Client(), hs.URL, sign(t, srv.Now(), before.Body), before.Body); code != 200 || runs.Load() != 2 {
		t.Errorf("handled before the restart, redelivered after: %d, %d runs", code, runs.Load())
	}
	if code, msg := post(t, hs.Client(), hs.URL, before.Header, before.Body); code != http.StatusUnauthorized || !strings.Contains(msg, "replayed") {
		t.Errorf("replay of a message accepted before the restart: %d %s", code, msg)
	}
}
