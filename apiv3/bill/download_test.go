package bill_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/bill"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/core"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// billServer is an emulator whose demo merchant paid and refunded an order
// today, and ended the day: its bills can be applied for at once.
func billServer(t *testing.T) (*wxpaytest.Server, *wxpay.Client, string) {
	t.Helper()
	srv := wxpaytest.NewServer()
	t.Cleanup(srv.Close)
	c := srv.Client()
	ctx := context.Background()
	if _, _, err := c.V3.Pay.Transactions.Native.Post(ctx, &pay.PrepayNativeRequest{AppID: emulator.DemoAppID, MchID: emulator.DemoMchID,
		Description: "账单测试", OutTradeNo: "bill-order-1", NotifyURL: "http://127.0.0.1:9/notify", Amount: pay.Amount{Total: 4321, Currency: "CNY"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Pay("bill-order-1", ""); err != nil {
		t.Fatal(err)
	}
	day, err := srv.EndDay()
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, day
}

func apply(t *testing.T, c *wxpay.Client, day string, tar bill.TarType) *bill.File {
	t.Helper()
	f, _, err := c.V3.Bill.TradeBill.Get(context.Background(), &bill.GetTradeBillRequest{BillDate: day, TarType: tar})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// noParts fails when dir holds anything but want.
func onlyFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s holds %v, want %v", dir, got, want)
	}
}

func TestDownloadFromEmulator(t *testing.T) {
	t.Parallel()
	_, c, day := billServer(t)
	ctx := context.Background()
	for _, tar := range []bill.TarType{"", bill.TarTypeGZIP} {
		f := apply(t, c, day, tar)
		var buf bytes.Buffer
		n, err := bill.Download(ctx, c, f, &buf)
		if err != nil || n != int64(buf.Len()) {
			t.Fatalf("%q: %d %v", tar, n, err)
		}
		if sum := sha1.Sum(buf.Bytes()); hex.EncodeToString(sum[:]) != f.HashValue {
			t.Errorf("%q: not the file of hash_value", tar)
		}
		r := bill.NewReader(&buf)
		var found bool
		for rec, err := range r.Records() {
			if err != nil {
				t.Fatal(err)
			}
			found = found || rec.Get("商户订单号") == "bill-order-1" && rec.Get("应结订单金额") == "43.21"
		}
		if !found {
			t.Errorf("%q: the order is not in the bill", tar)
		}

		// WriteFile: the file at path, nothing else left in the directory.
		dir := t.TempDir()
		path := filepath.Join(dir, "tradebill.csv")
		f = apply(t, c, day, tar)
		if n, err := bill.WriteFile(ctx, c, f, path); err != nil || n <= 0 {
			t.Fatalf("%q WriteFile: %d %v", tar, n, err)
		}
		got, err := os.ReadFile(path)
		if sum := sha1.Sum(got); err != nil || hex.EncodeToString(sum[:]) != f.HashValue {
			t.Errorf("%q: written file %v", tar, err)
		}
		onlyFiles(t, dir, "tradebill.csv")
	}
	// hash_value in upper case is the same hash.
	f := apply(t, c, day, "")
	f.HashValue = strings.ToUpper(f.HashValue)
	if _, err := bill.Download(ctx, c, f, io.Discard); err != nil {
		t.Errorf("upper-case hash_value: %v", err)
	}
}

// tamperingProxy stands between a client and the emulator and changes the
// download answers with tamper; everything else passes untouched (signed
// answers still verify).
func tamperingProxy(t *testing.T, srv *wxpaytest.Server, tamper func(body []byte) []byte) *wxpay.Client {
	t.Helper()
	target, _ := url.Parse(srv.URL)
	rp := httputil.NewSingleHostReverseProxy(target) // keeps the Host header: download URLs point at the proxy
	rp.Transport = srv.HTTPClient().Transport
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.URL.Path != "/v3/billdownload/file" || resp.StatusCode != 200 {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		body = tamper(body)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	proxy := httptest.NewServer(rp)
	t.Cleanup(proxy.Close)
	c, err := srv.NewClient(wxpay.WithBaseURL(proxy.URL), wxpay.WithHTTPClient(proxy.Client()))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func gz(t *testing.T, p []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gunzip(t *testing.T, p []byte) []byte {
	r, err := gzip.NewReader(bytes.NewReader(p))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A file that is not the one the application described: ErrHashMismatch, and
// WriteFile leaves nothing behind.
func TestDownloadBadFiles(t *testing.T) {
	t.Parallel()
	changeAmount := func(p []byte) []byte { return bytes.Replace(p, []byte("43.21"), []byte("43.12"), 1) }
	tests := []struct {
		name   string
		tar    bill.TarType
		tamper func(t *testing.T, body []byte) []byte
		want   error
	}{
		{"plain, an amount changed", "", func(_ *testing.T, b []byte) []byte { return changeAmount(b) }, bill.ErrHashMismatch},
		{"plain, truncated", "", func(_ *testing.T, b []byte) []byte { return b[:len(b)/2] }, bill.ErrHashMismatch},
		{"plain, a line added", "", func(_ *testing.T, b []byte) []byte { return append(b, "`extra\r\n"...) }, bill.ErrHashMismatch},
		{"gzip, an amount changed", bill.TarTypeGZIP, func(t *testing.T, b []byte) []byte { return gz(t, changeAmount(gunzip(t, b))) }, bill.ErrHashMismatch},
		{"gzip, truncated", bill.TarTypeGZIP, func(_ *testing.T, b []byte) []byte { return b[:len(b)/2] }, io.ErrUnexpectedEOF},
		{"gzip, no trailer", bill.TarTypeGZIP, func(_ *testing.T, b []byte) []byte { return b[:len(b)-8] }, io.ErrUnexpectedEOF},
		{"gzip, a bad checksum", bill.TarTypeGZIP, func(_ *testing.T, b []byte) []byte {
			b = bytes.Clone(b)
			b[len(b)-8] ^= 0xff // CRC-32 of the trailer
			return b
		}, gzip.ErrChecksum},
		{"gzip asked, plain served", bill.TarTypeGZIP, func(t *testing.T, b []byte) []byte { return gunzip(t, b) }, gzip.ErrHeader},
		{"gzip asked, nothing served", bill.TarTypeGZIP, func(_ *testing.T, b []byte) []byte { return nil }, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c, day := billServer(t)
			proxied := tamperingProxy(t, srv, func(b []byte) []byte { return tt.tamper(t, b) })
			ctx := context.Background()
			f := apply(t, proxied, day, tt.tar)
			if !strings.HasPrefix(f.DownloadURL, "http://127.0.0.1:") || strings.HasPrefix(f.DownloadURL, srv.URL) {
				t.Fatalf("the download URL %q does not go through the proxy", f.DownloadURL)
			}
			if _, err := bill.Download(ctx, proxied, f, io.Discard); !errors.Is(err, tt.want) {
				t.Errorf("Download: %v, want %v", err, tt.want)
			}
			dir := t.TempDir()
			if _, err := bill.WriteFile(ctx, proxied, apply(t, proxied, day, tt.tar), filepath.Join(dir, "bill.csv")); !errors.Is(err, tt.want) {
				t.Errorf("WriteFile: %v, want %v", err, tt.want)
			}
			onlyFiles(t, dir)
			// The same application, unproxied, is fine.
			if _, err := bill.Download(ctx, c, apply(t, c, day, tt.tar), io.Discard); err != nil {
				t.Error(err)
			}
		})
	}
}

// A gzip bomb — a few kilobytes that inflate without end — stops at the bound
// on the uncompressed file, having inflated no more than the bound.
func TestDownloadGzipBomb(t *testing.T) {
	t.Parallel()
	const bound = 1 << 20
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zeros := make([]byte, 64<<10)
	for i := 0; i < 64; i++ { // 4 MiB of zeros in about 4 KiB
		_, _ = zw.Write(zeros)
	}
	_ = zw.Close()
	var served atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v3/billdownload/file" || r.Header.Get("Authorization") == "" {
			http.Error(w, `{"code":"INVALID_REQUEST","message":"?"}`, 400)
			return
		}
		served.Add(1)
		w.Header().Set("Content-Type", "application/x-gzip")
		_, _ = w.Write(bomb.Bytes())
	}))
	t.Cleanup(hs.Close)
	srv := wxpaytest.NewUnstartedServer() // for its keys: the client talks to hs only
	c, err := srv.NewClient(wxpay.WithBaseURL(hs.URL), wxpay.WithHTTPClient(hs.Client()))
	if err != nil {
		t.Fatal(err)
	}
	f := &bill.File{HashType: "SHA1", HashValue: strings.Repeat("0", 40), DownloadURL: hs.URL + "/v3/billdownload/file?token=bomb&tartype=GZIP"}
	var out countingWriter
	n, err := bill.DownloadWithin(context.Background(), c, f, &out, bound)
	if !errors.Is(err, bill.ErrTooLarge) || n != bound+1 || out.n != bound+1 {
		t.Errorf("bomb: %d bytes, %d written, %v", n, out.n, err)
	}
	dir := t.TempDir()
	if _, err := bill.WriteFileWithin(context.Background(), c, f, filepath.Join(dir, "bill.csv"), bound); !errors.Is(err, bill.ErrTooLarge) {
		t.Errorf("WriteFile: %v", err)
	}
	onlyFiles(t, dir)
	// Under the bound, the same stream is merely the wrong file.
	if _, err := bill.DownloadWithin(context.Background(), c, f, io.Discard, 8<<20); !errors.Is(err, bill.ErrHashMismatch) {
		t.Errorf("under the bound: %v", err)
	}
	if served.Load() != 3 {
		t.Errorf("served %d times", served.Load())
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// The download URL must be an APIv3 URL of the client's own domain: the signed
// request never goes elsewhere.
func TestDownloadRefusesOtherHosts(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(elsewhere.Close)
	srv, c, day := billServer(t)
	good := apply(t, c, day, "")
	u, _ := url.Parse(good.DownloadURL)
	tests := []struct {
		name, url string
	}{
		{"another host", elsewhere.URL + "/v3/billdownload/file?" + u.RawQuery},
		{"the same host, another port", "http://127.0.0.1:1/v3/billdownload/file?" + u.RawQuery},
		{"https for an http base", strings.Replace(good.DownloadURL, "http://", "https://", 1)},
		{"not under /v3/", srv.URL + "/_emulator/orders?" + u.RawQuery},
		{"a user in the URL", "http://user@" + u.Host + u.RequestURI()},
		{"not a URL", "http://[::1"},
		{"relative", "/v3/billdownload/file?" + u.RawQuery},
	}
	for _, tt := range tests {
		f := &bill.File{HashType: "SHA1", HashValue: good.HashValue, DownloadURL: tt.url}
		if _, err := bill.Download(context.Background(), c, f, io.Discard); !errors.Is(err, wxpay.ErrInvalidRequest) {
			t.Errorf("%s (%s): %v", tt.name, tt.url, err)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("another host was called %d times", hits.Load())
	}
	// What Download checks before anything is sent.
	for _, f := range []*bill.File{nil, {HashType: "SHA1"}, {HashType: "MD5", HashValue: good.HashValue, DownloadURL: good.DownloadURL}} {
		if _, err := bill.Download(context.Background(), c, f, io.Discard); !errors.Is(err, core.ErrInvalidRequest) {
			t.Errorf("%+v: %v", f, err)
		}
	}
	// The good URL still works (nothing above used its token up).
	if _, err := bill.Download(context.Background(), c, good, io.Discard); err != nil {
		t.Error(err)
	}
}

// A cancelled context ends a download with its error, without hanging.
func TestDownloadCancelled(t *testing.T) {
	t.Parallel()
	_, c, day := billServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := bill.Download(ctx, c, apply(t, c, day, bill.TarTypeGZIP), io.Discard); !errors.Is(err, context.Canceled) {
		t.Errorf("%v", err)
	}
}
