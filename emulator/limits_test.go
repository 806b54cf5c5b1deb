package emulator_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

const (
	// bound is the read or idle timeout the tests configure: short, so
	// that they are fast.
	bound = 400 * time.Millisecond
	// slack is how late past the bound a cut may come on a loaded machine.
	// A client that is never cut would trickle for a minute.
	slack = 2 * time.Second
	// guard fails a test whose connection is never cut, instead of hanging.
	guard = 15 * time.Second
	// tick is the misbehaving clients' pace: well inside the bound, so only
	// a bound on the whole read, not on each pause, cuts them.
	tick = 50 * time.Millisecond
)

// rawConn dials srv for a client that misbehaves on purpose. Its read
// deadline is a guard, not a synchronisation: should the server never cut the
// client, the test fails instead of hanging.
func rawConn(t *testing.T, srv *wxpaytest.Server) net.Conn {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(guard)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// trickle writes p to c one byte per tick until all is written, a write
// fails (the server closed) or stop is closed. It is the slow client.
func trickle(c net.Conn, p []byte, stop <-chan struct{}) {
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for i := range p {
		select {
		case <-stop:
			return
		case <-tk.C:
		}
		if _, err := c.Write(p[i : i+1]); err != nil {
			return
		}
	}
}

// readUntilCut reads what the server sends until it closes the connection.
// A reset counts as closed; only the guard's own timeout is an error.
func readUntilCut(c net.Conn) ([]byte, error) {
	got, err := io.ReadAll(c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return got, fmt.Errorf("not cut within the %v guard (read %q)", guard, got)
	}
	return got, nil
}

// servedMeanwhile makes well-behaved signed calls, one per tick, until done
// is closed, and returns how many succeeded and the first failure. It runs
// while a misbehaving client holds a connection.
func servedMeanwhile(c *wxpay.Client, done <-chan struct{}) (int, error) {
	tk := time.NewTicker(tick)
	defer tk.Stop()
	for n := 0; ; n++ {
		if err := permission(context.Background(), c); err != nil {
			return n, err
		}
		select {
		case <-done:
			return n + 1, nil
		case <-tk.C:
		}
	}
}

// whileHeld runs hold (a misbehaving client, returning when the server cut
// it) with a well-behaved client calling meanwhile, and checks that the
// well-behaved one was served throughout.
func whileHeld(t *testing.T, c *wxpay.Client, hold func()) {
	t.Helper()
	done := make(chan struct{})
	type result struct {
		n   int
		err error
	}
	res := make(chan result, 1)
	go func() {
		n, err := servedMeanwhile(c, done)
		res <- result{n, err}
	}()
	hold()
	close(done)
	if r := <-res; r.err != nil || r.n == 0 {
		t.Errorf("well-behaved client meanwhile: %d calls served, then %v", r.n, r.err)
	}
}

// parseAnswer reads the one HTTP answer in got.
func parseAnswer(t *testing.T, got []byte) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), nil)
	if err != nil {
		t.Fatalf("no HTTP answer in %q: %v", got, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("answer body: %v", err)
	}
	return resp, body
}

// Every read the emulator does is bounded, so no client holds a connection by
// sending slowly or not at all; well-behaved clients are served meanwhile.
func TestReadsAreBounded(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t, wxpaytest.WithEmulatorOptions(emulator.WithReadTimeout(bound)))
	head := func(accept string) string {
		return "POST " + permissionPath + " HTTP/1.1\r\nHost: emulator\r\n" + accept +
			"User-Agent: slow-client/1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n" +
			"Authorization: WECHATPAY2-SHA256-RSA2048 mchid=\"1\"\r\n\r\n"
	}
	tests := []struct {
		name    string
		sent    string // at once
		trickle string // then one byte per tick
		// answer checks what the server sent before closing; nothing at all
		// when nil.
		answer func(t *testing.T, resp *http.Response, body map[string]any)
	}{
		{
			name: "body trickled", sent: head("Accept: application/json\r\n"), trickle: strings.Repeat("a", 1000),
			answer: func(t *testing.T, resp *http.Response, body map[string]any) {
				want := fmt.Sprintf("请求体读取超时，须在%v内发送完毕", bound)
				if resp.StatusCode != 408 || body["code"] != "INVALID_REQUEST" || body["message"] != want {
					t.Errorf("got %d %v, want 408 INVALID_REQUEST %s", resp.StatusCode, body, want)
				}
				if !resp.Close || !requestIDShape.MatchString(resp.Header.Get("Request-ID")) {
					t.Errorf("Connection: close %v, Request-ID %q", resp.Close, resp.Header.Get("Request-ID"))
				}
				noWechatpayHeaders(t, resp.Header)
			},
		},
		{
			// Answered before the body is read, which net/http then drains:
			// the same deadline bounds the drain.
			name: "body trickled after an early answer", sent: head(""), trickle: strings.Repeat("a", 1000),
			answer: func(t *testing.T, resp *http.Response, body map[string]any) {
				if resp.StatusCode != 400 || body["message"] != "Http头缺少Accept或User-Agent" {
					t.Errorf("got %d %v, want 400 for the missing Accept", resp.StatusCode, body)
				}
			},
		},
		{name: "headers trickled", sent: "POST " + permissionPath + " HTTP/1.1\r\n", trickle: "Host: emulator\r\n" + strings.Repeat("X-Slow: 1\r\n", 100)},
		{name: "nothing sent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now() // before the server can start its clock
			conn := rawConn(t, srv)
			if _, err := io.WriteString(conn, tt.sent); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer close(stop)
			go trickle(conn, []byte(tt.trickle), stop)
			var got []byte
			var err error
			whileHeld(t, c, func() { got, err = readUntilCut(conn) })
			held := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("cut after %v (read timeout %v)", held.Round(time.Millisecond), bound)
			if held < bound || held > bound+slack {
				t.Errorf("held %v, want the read timeout %v (+ up to %v)", held, bound, slack)
			}
			if tt.answer == nil {
				if len(got) > 0 {
					t.Errorf("answered %q, want the connection closed without a word", got)
				}
				return
			}
			resp, body := parseAnswer(t, got)
			tt.answer(t, resp, body)
		})
	}
}

// A kept-alive connection left idle is closed after the idle timeout, while
// other clients are served.
func TestIdleConnectionIsClosed(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer(wxpaytest.WithEmulatorOptions(emulator.WithIdleTimeout(bound)))
	t.Cleanup(srv.Close)
	// The well-behaved client opens a connection per call: one of its own
	// pooled connections could be closed for idleness just as it sends.
	c, err := srv.NewClient(wxpay.WithRetry(wxpay.RetryPolicy{MaxAttempts: 1}),
		wxpay.WithHTTPClient(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}))
	if err != nil {
		t.Fatal(err)
	}
	conn := rawConn(t, srv)
	req, _ := rawRequest{method: "POST", target: permissionPath, body: permissionBody}.build(t, srv)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("the call before idling: %d, Connection: close %v, %v", resp.StatusCode, resp.Close, err)
	}
	start := time.Now()
	var rest []byte
	whileHeld(t, c, func() { rest, err = io.ReadAll(br) })
	idle := time.Since(start)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle connection not closed within the %v guard", guard)
	}
	t.Logf("idle connection closed after %v (idle timeout %v)", idle.Round(time.Millisecond), bound)
	// The server's idle clock starts when it has written the answer, a little
	// before the client has read it: hence only half the bound below.
	if len(rest) > 0 || idle < bound/2 || idle > bound+slack {
		t.Errorf("idle connection closed after %v with %q, want the idle timeout %v", idle, rest, bound)
	}
}

// Once the body is in, the read deadline is lifted: processing that outlasts
// the read timeout (a Latency fault here) is not cut short, for a request
// without a body (net/http's background read, already running, must not time
// out) as for one with a body, on one kept-alive connection.
func TestSlowAnswerOutlastsReadTimeout(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t, wxpaytest.WithEmulatorOptions(emulator.WithReadTimeout(bound)))
	srv.Emulator.SetFault("*", emulator.Fault{Latency: 2 * bound})
	ctx := context.Background()
	if _, err := c.Chain("v3/marketing/membercard-open/cards/{card_id}").Get(ctx, wxpay.PathParam("card_id", emulator.DemoCardID)); err != nil {
		t.Errorf("a GET answered %v after its headers: %v", 2*bound, err)
	}
	if err := permission(ctx, c); err != nil {
		t.Errorf("a POST answered %v after its body: %v", 2*bound, err)
	}
}

// Headers beyond MaxHeaderBytes are refused with 431 and the connection
// closed, before the emulator sees the request.
func TestHeadersTooLarge(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	conn := rawConn(t, srv)
	go func() { // the server may stop reading midway; the write must not block the test
		_, _ = io.WriteString(conn, "GET "+permissionPath+" HTTP/1.1\r\nHost: emulator\r\nX-Big: "+
			strings.Repeat("b", 2*emulator.MaxHeaderBytes)+"\r\n\r\n")
	}()
	got, err := readUntilCut(conn)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(got, []byte("HTTP/1.1 431 ")) {
		t.Errorf("answered %.60q, want 431", got)
	}
}
