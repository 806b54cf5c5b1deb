package wxpay_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/apiv3/payrollcard"
)

// fastRetry keeps backoffs tiny so the tests run in milliseconds.
var fastRetry = wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})

// scripted answers attempt i with replies[i] (the last one repeats).
func scripted(replies ...reply) func(seenRequest) reply {
	var n atomic.Int64
	return func(seenRequest) reply {
		i := int(n.Add(1)) - 1
		if i >= len(replies) {
			i = len(replies) - 1
		}
		return replies[i]
	}
}

var (
	ok200      = reply{body: `{"code":"478515832665"}`}
	sysErr     = reply{status: 500, body: `{"code":"SYSTEM_ERROR","message":"系统异常，请稍后重试"}`}
	limited    = reply{status: 429, body: `{"code":"FREQUENCY_LIMITED","message":"频率超限"}`}
	paramErr   = reply{status: 400, body: `{"code":"PARAM_ERROR","message":"参数错误"}`}
	badSig     = reply{body: `{}`, sign: func(h http.Header, b []byte) { signResponse(h, []byte("x"), keys().platform, testPubKeyID, time.Now()) }}
	importBody = &membercardopen.ImportUserRequest{OpenID: "obLatjnx9gnqzS4myYGmLZ7LgLBA", OutRequestNo: "1900000001-0001"}
)

func TestRetries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	typedImport := func(c *wxpay.Client) (*wxpay.Response, error) {
		_, resp, err := c.V3.Marketing.MembercardOpen.Cards.CardID("pbLat").Users.Import.Post(ctx, importBody)
		return resp, err
	}
	chainPost := func(opts ...wxpay.CallOption) func(c *wxpay.Client) (*wxpay.Response, error) {
		return func(c *wxpay.Client) (*wxpay.Response, error) {
			return c.Chain("v3/brand/partner/card-member/cards").Post(ctx, map[string]string{"brand_id": "1004"}, opts...)
		}
	}
	tests := []struct {
		name         string
		replies      []reply
		call         func(c *wxpay.Client) (*wxpay.Response, error)
		wantAttempts int
		wantErr      error // nil: success
		wantCode     string
	}{
		{"typed idempotent POST recovers from SYSTEM_ERROR", []reply{sysErr, sysErr, ok200}, typedImport, 3, nil, ""},
		{"gives up after MaxAttempts", []reply{sysErr}, typedImport, 3, nil, "SYSTEM_ERROR"},
		{"non-idempotent POST is not repeated on 5xx", []reply{sysErr, ok200}, chainPost(), 1, nil, "SYSTEM_ERROR"},
		{"Idempotent() opts a Chain POST in", []reply{sysErr, ok200}, chainPost(wxpay.Idempotent()), 2, nil, ""},
		{"429 is retried even when not idempotent", []reply{limited, ok200}, chainPost(), 2, nil, ""},
		{"GET is idempotent", []reply{sysErr, ok200}, func(c *wxpay.Client) (*wxpay.Response, error) {
			return c.Chain("v3/marketing/membercard-open/callback").Get(ctx)
		}, 2, nil, ""},
		{"other 4xx is final", []reply{paramErr, ok200}, typedImport, 1, nil, "PARAM_ERROR"},
		{"verification failure is final", []reply{badSig, ok200}, typedImport, 1, wxpay.ErrSignatureMismatch, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, scripted(tt.replies...))
			c := newClient(t, ts, fastRetry)
			resp, err := tt.call(c)
			ts.mu.Lock()
			seen := append([]seenRequest(nil), ts.seen...)
			ts.mu.Unlock()
			if len(seen) != tt.wantAttempts {
				t.Fatalf("server saw %d attempts, want %d (err %v)", len(seen), tt.wantAttempts, err)
			}
			switch {
			case tt.wantCode != "":
				var ae *wxpay.APIError
				if !errors.As(err, &ae) || ae.Code != tt.wantCode || ae.Attempts != tt.wantAttempts {
					t.Fatalf("err = %v, want %s after %d attempts", err, tt.wantCode, tt.wantAttempts)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			default:
				if err != nil || resp.Attempts != tt.wantAttempts {
					t.Fatalf("resp attempts %v, err %v", resp, err)
				}
			}
			// Every attempt is signed anew over the same body.
			nonces := map[string]bool{}
			for _, s := range seen {
				if !s.SignatureOK || nonces[s.Auth.NonceStr] || !bytes.Equal(s.Body, seen[0].Body) {
					t.Errorf("attempt not re-signed over the same body: %+v", s.Auth)
				}
				nonces[s.Auth.NonceStr] = true
			}
		})
	}
}

// signalHandler is a slog.Handler that reports each record on a channel.
type signalHandler struct{ ch chan slog.Record }

func (h signalHandler) Enabled(context.Context, slog.Level) bool      { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error { h.ch <- r; return nil }
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h signalHandler) WithGroup(string) slog.Handler                 { return h }

func TestRetryWaitHonoursContext(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, func(seenRequest) reply { return sysErr })
	logged := signalHandler{ch: make(chan slog.Record, 1)}
	c := newClient(t, ts, wxpay.WithLogger(slog.New(logged)),
		wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Hour, MaxDelay: time.Hour}))
	ctx, cancel := context.WithCancel(context.Background())
	f := c.V3.Marketing.MembercardOpen.Cards.CardID("pbLat").Users.Import.PostAsync(ctx, importBody)
	<-logged.ch // attempt 1 is logged just before the backoff starts
	cancel()
	select {
	case <-f.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled context did not interrupt the backoff")
	}
	_, err := f.Wait()
	var ae *wxpay.APIError
	if !errors.Is(err, context.Canceled) || !errors.As(err, &ae) || ae.Code != "SYSTEM_ERROR" {
		t.Errorf("err = %v, want context.Canceled carrying the last SYSTEM_ERROR", err)
	}
}

// dropServer closes every connection without answering.
func dropServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDroppedConnections(t *testing.T) {
	t.Parallel()
	srv := dropServer(t)
	k := keys()
	c, err := wxpay.NewClient(wxpay.WithMerchant(testMchID, testSerial, k.merchant),
		wxpay.WithPlatformPublicKey(testPubKeyID, &k.platform.PublicKey), wxpay.WithBaseURL(srv.URL), fastRetry)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.V3.Marketing.MembercardOpen.Cards.CardID("pbLat").Users.Import.Post(context.Background(), importBody)
	var te *wxpay.TransportError
	if !errors.As(err, &te) || te.Attempts != 3 {
		t.Errorf("idempotent call over dropped connections: err = %v, want a TransportError after 3 attempts", err)
	}
	_, err = c.Chain("v3/brand/partner/card-member/cards").Post(context.Background(), map[string]string{})
	if !errors.As(err, &te) || te.Attempts != 1 {
		t.Errorf("non-idempotent call: err = %v, want one attempt (its outcome is unknown)", err)
	}
}

// fakeClock is an injectable clock the test moves by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestFailoverToBackupDomain(t *testing.T) {
	t.Parallel()
	backup := newTestServer(t, okJSON(`{"code":"1"}`))
	// The primary: a port where nothing listens (connection refused).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	primary := "http://" + l.Addr().String()
	l.Close()

	clock := newFakeClock()
	var logs bytes.Buffer
	c := newClient(t, backup, fastRetry,
		wxpay.WithBaseURL(primary+testPrefix),
		wxpay.WithFailover(wxpay.FailoverPolicy{BackupURL: backup.URL + testPrefix, Cooldown: time.Minute}),
		wxpay.WithClock(clock.Now),
		wxpay.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	)
	ctx := context.Background()
	call := func() *wxpay.Response {
		t.Helper()
		resp, err := c.Chain("v3/brand/partner/card-member/cards").Post(ctx, map[string]string{"brand_id": "1004"})
		if err != nil {
			t.Fatalf("call: %v", err)
		}
		return resp
	}
	// A refused connection was never sent, so even this non-idempotent POST moves on.
	if resp := call(); resp.Attempts != 2 {
		t.Errorf("first call took %d attempts, want 2 (primary refused, then backup)", resp.Attempts)
	}
	// During the cool-down, calls go straight to the backup.
	if resp := call(); resp.Attempts != 1 {
		t.Errorf("during cool-down: %d attempts, want 1", resp.Attempts)
	}
	// After the cool-down the primary is tried again; it is still down, so back to the backup.
	clock.Advance(time.Minute + time.Second)
	if resp := call(); resp.Attempts != 2 {
		t.Errorf("after cool-down: %d attempts, want 2 (primary retried)", resp.Attempts)
	}
	primaryHost := strings.TrimPrefix(primary, "http://")
	if got := strings.Count(logs.String(), "host="+primaryHost); got != 2 {
		t.Errorf("primary tried %d times, want 2:\n%s", got, logs.String())
	}
	backup.mu.Lock()
	n := len(backup.seen)
	backup.mu.Unlock()
	if n != 3 {
		t.Errorf("backup served %d calls, want 3", n)
	}
}

func TestHTTPAnswerNeverTriggersFailover(t *testing.T) {
	t.Parallel()
	primary := newTestServer(t, scripted(sysErr, ok200))
	backup := newTestServer(t, okJSON(`{}`))
	c := newClient(t, primary, fastRetry, wxpay.WithBackupURL(backup.URL+testPrefix))
	if _, _, err := c.V3.Marketing.MembercardOpen.Cards.CardID("pbLat").Users.Import.Post(context.Background(), importBody); err != nil {
		t.Fatal(err)
	}
	backup.mu.Lock()
	defer backup.mu.Unlock()
	if len(backup.seen) != 0 {
		t.Errorf("a 500 answer sent %d requests to the backup", len(backup.seen))
	}
}

func TestLogsOneLinePerAttemptWithoutSecrets(t *testing.T) {
	t.Parallel()
	ts := newTestServer(t, scripted(sysErr, ok200))
	var logs bytes.Buffer
	c := newClient(t, ts, fastRetry, wxpay.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	_, _, err := c.V3.PayrollCard.Tokens.Post(context.Background(), &payrollcard.CreateTokenRequest{
		OpenID: "o", SubMchID: "1900000109", AppID: "wx1", UserName: "张三", IDCardNumber: "110101199003077777"})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want one per attempt:\n%s", len(lines), logs.String())
	}
	for _, want := range []string{`"method":"POST"`, `"path":"/v3/payroll-card/tokens"`, `"attempt":1`, `"status":500`, `"code":"SYSTEM_ERROR"`, `"request_id":"08DBF3A5B9061050120817028BCA901-TEST"`, `"duration"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("first line lacks %s: %s", want, lines[0])
		}
	}
	if !strings.Contains(lines[1], `"attempt":2`) || !strings.Contains(lines[1], `"status":200`) {
		t.Errorf("second line: %s", lines[1])
	}
	auth := ts.last().Header.Get("Authorization")
	sig := auth[strings.Index(auth, "signature=")+11:][:40]
	mustContainNone(t, "logs", logs.Bytes(), "张三", "110101199003077777", "WECHATPAY2-SHA256-RSA2048 ", sig)
}
