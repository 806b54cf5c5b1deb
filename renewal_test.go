package wxpay_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/payrollcard"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/notify"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// rotationKeys are the keys of the certificates a test rotates to, generated
// once (RSA-2048 generation is slow under -race).
var rotationKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	return [2]*rsa.PrivateKey{testkeys.Generate(), testkeys.Generate()}
})

// certWatch counts what crosses the client's transport: the certificate
// downloads, and the signed answers to every other request.
type certWatch struct {
	rt        http.RoundTripper
	downloads atomic.Int64
	answers   atomic.Int64 // 2xx answers to other requests
	// hold, when set, blocks a certificate download until it is closed
	// (or the request is cancelled); reached is closed when one arrives.
	hold, reached chan struct{}
	once          sync.Once
}

func (w *certWatch) RoundTrip(req *http.Request) (*http.Response, error) {
	isCerts := strings.HasSuffix(req.URL.Path, "/v3/certificates")
	if isCerts {
		w.downloads.Add(1)
		if w.hold != nil {
			w.once.Do(func() { close(w.reached) })
			select {
			case <-w.hold:
			case <-req.Context().Done():
				return nil, req.Context().Err()
			}
		}
	}
	resp, err := w.rt.RoundTrip(req)
	if err == nil && !isCerts && resp.StatusCode/100 == 2 {
		w.answers.Add(1)
	}
	return resp, err
}

// serialCounts counts verified answers by the serial that signed them and
// wakes waiters when a serial reaches a count.
type serialCounts struct {
	mu      sync.Mutex
	n       map[string]int
	waiters []serialWaiter
}

type serialWaiter struct {
	serial string
	n      int
	ch     chan struct{}
}

func (s *serialCounts) add(serial string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[serial]++
	s.waiters = slices.DeleteFunc(s.waiters, func(w serialWaiter) bool {
		if s.n[w.serial] >= w.n {
			close(w.ch)
			return true
		}
		return false
	})
}

// reached returns a channel closed once serial has signed n verified answers.
func (s *serialCounts) reached(serial string, n int) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	if s.n[serial] >= n {
		close(ch)
		return ch
	}
	s.waiters = append(s.waiters, serialWaiter{serial, n, ch})
	return ch
}

func (s *serialCounts) get(serial string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[serial]
}

// await fails the test if ch is not closed in time: a safety net, never the
// synchronisation itself.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(60 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// rotationServer is a certificate-mode emulator and a client renewing its
// certificates through a certWatch.
func rotationServer(t *testing.T, policy wxpay.CertificateRenewal, opts ...wxpay.Option) (*wxpaytest.Server, *wxpay.Client, *certWatch) {
	t.Helper()
	srv := wxpaytest.NewServer(wxpaytest.WithCertificateMode())
	t.Cleanup(srv.Close)
	w := &certWatch{rt: srv.HTTPClient().Transport}
	c, err := srv.NewClient(append([]wxpay.Option{wxpay.WithHTTPClient(&http.Client{Transport: w}),
		wxpay.WithCertificateRenewal(srv.APIv3Key(), policy)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return srv, c, w
}

// rotatedCert is a platform certificate for rotation key i, valid from an hour
// before the server's start for years years.
func rotatedCert(i int, serial int64, years int) (*x509.Certificate, *rsa.PrivateKey) {
	key := rotationKeys()[i]
	start := wxpaytest.Start.Add(-time.Hour)
	return testkeys.SelfSigned(key, big.NewInt(serial), start, start.AddDate(years, 0, 0)), key
}

func getCard(ctx context.Context, c *wxpay.Client) (*wxpay.Response, error) {
	return c.Chain("v3/marketing/membercard-open/cards/{card_id}").Get(ctx, wxpay.PathParam("card_id", emulator.DemoCardID))
}

// TestCertificateRotationUnderLoad: the emulator rotates its platform
// certificate twice while goroutines call through one client. No call fails,
// each new serial is learned from the first answer that names it (one
// download per rotation, not the 12-hour schedule), and old and new
// certificates verify side by side.
func TestCertificateRotationUnderLoad(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, c, w := rotationServer(t, wxpay.CertificateRenewal{}, wxpay.WithLogger(logger))
	ctx := context.Background()
	if err := c.RenewCertificates(ctx); err != nil { // the start-up download
		t.Fatal(err)
	}
	certA := testkeys.Shared().PlatformCertSerial
	certB, keyB := rotatedCert(0, 0xB0B0B0B0B001, 6)
	certC, keyC := rotatedCert(1, 0xC0C0C0C0C001, 7)
	serialB, serialC := wxpay.CertificateSerial(certB), wxpay.CertificateSerial(certC)

	const workers, perPhase = 8, 60
	var (
		calls, failures atomic.Int64
		firstErr        atomic.Value
		counts          serialCounts
		stop            = make(chan struct{})
		wg              sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := getCard(ctx, c)
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				counts.add(resp.Header.Get("Wechatpay-Serial"))
			}
		}()
	}
	await(t, counts.reached(certA, perPhase), "answers signed by the first certificate")

	// Rotation 1: B signs from now on; A stays listed.
	srv.Clock().Advance(wxpay.DefaultRenewalMinInterval)
	if err := srv.Emulator.RotateCertificate(certB, keyB); err != nil {
		t.Fatal(err)
	}
	await(t, counts.reached(serialB, perPhase), "answers signed by the second certificate")

	// Rotation 2: A retired by the service, C signs; B stays listed.
	srv.Clock().Advance(wxpay.DefaultRenewalMinInterval)
	if err := srv.Emulator.RetireCertificate(certA); err != nil {
		t.Fatal(err)
	}
	if err := srv.Emulator.RotateCertificate(certC, keyC); err != nil {
		t.Fatal(err)
	}
	await(t, counts.reached(serialC, perPhase), "answers signed by the third certificate")
	close(stop)
	wg.Wait()

	t.Logf("%d calls by %d goroutines across two rotations (A %d, B %d, C %d answers), %d failures, %d certificate downloads",
		calls.Load(), workers, counts.get(certA), counts.get(serialB), counts.get(serialC), failures.Load(), w.downloads.Load())
	if n := failures.Load(); n != 0 {
		t.Errorf("%d calls failed; first: %v", n, firstErr.Load())
	}
	// Every answer the transport let through reached its caller verified.
	if got, want := w.answers.Load(), calls.Load(); got != want {
		t.Errorf("%d signed answers, %d verified calls", got, want)
	}
	// One download at start and one per rotation, shared by every caller.
	if got := w.downloads.Load(); got != 3 {
		t.Errorf("%d certificate downloads, want 3", got)
	}
	want := []string{certA, serialB, serialC}
	slices.Sort(want)
	if got := c.Verifier().Serials(); !slices.Equal(got, want) {
		t.Errorf("serials %v, want %v (A kept until it expires)", got, want)
	}
	// Sensitive fields go to the newest certificate, which the service opens.
	if got := c.EncryptionSerial(); got != serialC {
		t.Errorf("encrypting for %s, want %s", got, serialC)
	}
	if _, _, err := c.V3.PayrollCard.Tokens.Post(ctx, &payrollcard.CreateTokenRequest{
		OpenID: emulator.DemoOpenID, SubMchID: emulator.DemoSubMchID, SubAppID: emulator.DemoSubAppID,
		UserName: "张三", IDCardNumber: "110101199003077777"}); err != nil {
		t.Errorf("encrypted call after the rotation: %v", err)
	}
	// Both rotations were learned from an answer naming the new serial.
	if n := strings.Count(logs.String(), `"msg":"wxpay certificates renewed","trigger":"unknown serial","added":["`); n != 2 {
		t.Errorf("%d downloads caused by an unknown serial added a certificate, want 2:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), wxpaytest.APIv3Key) || strings.Contains(logs.String(), "PRIVATE KEY") {
		t.Error("the log holds key material")
	}
}

// TestCertificateRenewalForNotifications: the notify parser built from
// client.Verifier() accepts a notification signed with a rotated certificate;
// concurrent notifications share one download; a serial that nobody lists
// costs at most one download per MinInterval and is never trusted.
func TestCertificateRenewalForNotifications(t *testing.T) {
	t.Parallel()
	srv, c, w := rotationServer(t, wxpay.CertificateRenewal{})
	ctx := context.Background()
	if err := c.RenewCertificates(ctx); err != nil {
		t.Fatal(err)
	}
	parser, err := notify.New(c.Verifier(), srv.APIv3Key(), notify.WithClock(srv.Now))
	if err != nil {
		t.Fatal(err)
	}
	certB, keyB := rotatedCert(0, 0xB0B0B0B0B002, 6)
	srv.Clock().Advance(wxpay.DefaultRenewalMinInterval)
	if err := srv.Emulator.RotateCertificate(certB, keyB); err != nil {
		t.Fatal(err)
	}
	ev := map[string]any{"card_id": "c", "openid": "o", "brand_id": "1004", "card_type": "NORMAL",
		"user_card_state": "EFFECTIVE", "valid_date_information": map[string]string{"type": "PERMANENT"}}
	const concurrent = 16
	var notes []*emulator.Notification
	for range concurrent {
		n, err := srv.Emulator.NewNotification(notify.EventBrandMemberCardSPUserCardCreate, ev)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Header.Get("Wechatpay-Serial"); got != wxpay.CertificateSerial(certB) {
			t.Fatalf("notification signed by %s, want the rotated certificate", got)
		}
		notes = append(notes, n)
	}
	errs := make(chan error, concurrent)
	for _, n := range notes {
		go func() {
			_, err := parser.Parse(n.Header, n.Body)
			errs <- err
		}()
	}
	for range concurrent {
		if err := <-errs; err != nil {
			t.Errorf("notification signed with the rotated certificate: %v", err)
		}
	}
	if got := w.downloads.Load(); got != 2 {
		t.Errorf("%d downloads, want 2 (start, then one shared by %d notifications)", got, concurrent)
	}

	// A forged notification naming a serial nobody lists.
	rogue := func() error {
		h := http.Header{}
		signResponse(h, notes[0].Body, testkeys.Shared().Other, "DEADBEEF0001", srv.Now())
		_, err := parser.Parse(h, notes[0].Body)
		return err
	}
	if err := rogue(); !errors.Is(err, wxpay.ErrUnknownSerial) {
		t.Errorf("rogue serial: %v", err)
	}
	if got := w.downloads.Load(); got != 2 {
		t.Errorf("%d downloads: a rogue serial within MinInterval of the last download started one", got)
	}
	srv.Clock().Advance(wxpay.DefaultRenewalMinInterval)
	for range concurrent {
		go func() { errs <- rogue() }()
	}
	for range concurrent {
		if err := <-errs; !errors.Is(err, wxpay.ErrUnknownSerial) {
			t.Errorf("rogue serial: %v", err)
		}
	}
	if got := w.downloads.Load(); got != 3 {
		t.Errorf("%d downloads, want 3: one for %d concurrent rogue notifications a minute later", got, concurrent)
	}
	want := []string{testkeys.Shared().PlatformCertSerial, wxpay.CertificateSerial(certB)}
	slices.Sort(want)
	if got := c.Verifier().Serials(); !slices.Equal(got, want) {
		t.Errorf("serials %v, want %v", got, want)
	}
}

// TestCertificateRenewalSchedule drives the schedule through the injected
// timer: it starts with the first call, downloads every Interval (jittered)
// and drops certificates once they expire; Close stops it.
func TestCertificateRenewalSchedule(t *testing.T) {
	t.Parallel()
	const interval = time.Hour
	srv, c, w := rotationServer(t, wxpay.CertificateRenewal{Interval: interval})
	delays := make(chan time.Duration, 1)
	ticks := make(chan time.Time)
	wxpay.SetRenewalTimer(c, func(d time.Duration) <-chan time.Time { delays <- d; return ticks })
	next := func() time.Duration {
		t.Helper()
		select {
		case d := <-delays:
			return d
		case <-time.After(60 * time.Second):
			t.Fatal("the schedule did not come back")
			return 0
		}
	}
	ctx := context.Background()
	if w.downloads.Load() != 0 {
		t.Fatal("NewClient downloaded")
	}
	if _, err := getCard(ctx, c); err != nil { // starts the schedule
		t.Fatal(err)
	}
	if d := next(); d < interval*9/10 || d > interval*11/10 {
		t.Errorf("next download in %s, want %s ±10 %%", d, interval)
	}
	if got := w.downloads.Load(); got != 1 {
		t.Errorf("%d downloads at start, want 1", got)
	}

	certA := testkeys.Shared().PlatformCert
	certB, keyB := rotatedCert(0, 0xB0B0B0B0B003, 6)
	serialB := wxpay.CertificateSerial(certB)
	if err := srv.Emulator.RotateCertificate(certB, keyB); err != nil {
		t.Fatal(err)
	}
	srv.Clock().Advance(interval)
	ticks <- time.Time{}
	next()
	if !slices.Contains(c.Verifier().Serials(), serialB) {
		t.Fatalf("the scheduled download did not bring %s: %v", serialB, c.Verifier().Serials())
	}
	resp, err := getCard(ctx, c)
	if err != nil || resp.Header.Get("Wechatpay-Serial") != serialB {
		t.Fatalf("call after the scheduled download: %v", err)
	}
	if got := w.downloads.Load(); got != 2 {
		t.Errorf("%d downloads, want 2: the new serial was known before it signed", got)
	}

	// A expires: the next download leaves it out.
	if err := srv.Emulator.RetireCertificate(testkeys.Shared().PlatformCertSerial); err != nil {
		t.Fatal(err)
	}
	srv.Clock().Set(certA.NotAfter.Add(time.Minute))
	ticks <- time.Time{}
	next()
	if got := c.Verifier().Serials(); !slices.Equal(got, []string{serialB}) {
		t.Errorf("serials after A expired: %v, want [%s]", got, serialB)
	}

	// Close ends the schedule (and waits for it); the client keeps its keys.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := getCard(ctx, c); err != nil {
		t.Errorf("call after Close: %v", err)
	}
	if err := c.RenewCertificates(ctx); err == nil {
		t.Error("RenewCertificates after Close succeeded")
	}
}

// TestCertificateRenewalFirstDownload: a client configured with no WeChat Pay
// key needs an explicit opt-in to trust its first download; its first call
// then waits for that download, bounded by the call's context.
func TestCertificateRenewalFirstDownload(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer(wxpaytest.WithCertificateMode())
	t.Cleanup(srv.Close)
	w := &certWatch{rt: srv.HTTPClient().Transport, hold: make(chan struct{}), reached: make(chan struct{})}
	base := []wxpay.Option{
		wxpay.WithMerchant(emulator.DemoMchID, emulator.DemoMerchantSerial, srv.MerchantKey()),
		wxpay.WithBaseURL(srv.URL), wxpay.WithHTTPClient(&http.Client{Transport: w}), wxpay.WithClock(srv.Now),
	}
	if _, err := wxpay.NewClient(append(base, wxpay.WithCertificateRenewal(srv.APIv3Key(), wxpay.CertificateRenewal{}))...); !errors.Is(err, wxpay.ErrInvalidConfig) ||
		!strings.Contains(err.Error(), "TrustFirstDownload") {
		t.Fatalf("no key, no opt-in: %v", err)
	}
	c, err := wxpay.NewClient(append(base, wxpay.WithCertificateRenewal(srv.APIv3Key(), wxpay.CertificateRenewal{TrustFirstDownload: true}))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if len(c.Verifier().Serials()) != 0 || w.downloads.Load() != 0 {
		t.Fatal("NewClient downloaded")
	}

	// The first call waits for the download; its context ends the wait.
	callCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := getCard(callCtx, c); done <- err }()
	await(t, w.reached, "the first download")
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("first call cancelled while waiting: %v", err)
	}
	close(w.hold)
	if _, err := getCard(context.Background(), c); err != nil {
		t.Fatalf("first call after the download: %v", err)
	}
	serialA := testkeys.Shared().PlatformCertSerial
	if got := c.Verifier().Serials(); !slices.Equal(got, []string{serialA}) || c.EncryptionSerial() != serialA {
		t.Errorf("serials %v, encrypting for %q", got, c.EncryptionSerial())
	}
	if got := w.downloads.Load(); got != 1 {
		t.Errorf("%d downloads, want 1", got)
	}
}

// TestCertificateRenewalTrust: a certificate list is accepted only when it is
// signed by a key the client already trusts and every certificate in it checks
// out; otherwise nothing from it is added.
func TestCertificateRenewalTrust(t *testing.T) {
	t.Parallel()
	k := keys()
	apiKey, _ := wxpay.ParseAPIv3Key(vecKey)
	now := time.Now()
	certX := selfSigned(k.other, big.NewInt(0xBAD0001), now.Add(-time.Hour), now.Add(365*24*time.Hour)) // a man in the middle's
	keyB := rotationKeys()[0]
	certB := selfSigned(keyB, big.NewInt(0xB0B0B0B0B004), now.Add(-time.Hour), now.Add(6*365*24*time.Hour))
	expired := selfSigned(keyB, big.NewInt(0xE0E0E0E0E001), now.Add(-2*365*24*time.Hour), now.Add(-time.Hour))
	sameSerial := selfSigned(k.other, big.NewInt(0x5157F09EFDC0), now.Add(-time.Hour), now.Add(365*24*time.Hour)) // A's serial, X's key
	merchant := selfSigned(k.merchant, big.NewInt(0xAA0001), now.Add(-time.Hour), now.Add(365*24*time.Hour))
	a, b, x := entryFor(k.cert), entryFor(certB), entryFor(certX)
	signBy := func(key *rsa.PrivateKey, serial string) func(http.Header, []byte) {
		return func(h http.Header, body []byte) { signResponse(h, body, key, serial, time.Now()) }
	}
	byA := signBy(k.platform, k.certSerial)
	tampered := b
	tampered.tamper = true
	notACert := b
	notACert.pem = []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	otherSerial := b
	otherSerial.serial = x.serial
	longer := b
	longer.expire = certB.NotAfter.AddDate(1, 0, 0)
	earlier := b
	earlier.effective = certB.NotBefore.Add(-time.Hour)

	tests := []struct {
		name    string
		body    string
		sign    func(http.Header, []byte)
		want    error // nil: accepted
		serials []string
	}{
		{name: "a new certificate signed by a trusted one", body: certificatesBodyOf(t, apiKey, a, b), sign: byA,
			serials: []string{k.certSerial, b.serial}},
		{name: "man in the middle: its own certificate, signed by itself", body: certificatesBodyOf(t, apiKey, x),
			sign: signBy(k.other, x.serial), want: wxpay.ErrUnknownSerial},
		{name: "man in the middle: the trusted certificate and its own, signed by its own", body: certificatesBodyOf(t, apiKey, a, x),
			sign: signBy(k.other, x.serial), want: wxpay.ErrUnknownSerial},
		{name: "man in the middle: signed by another key under the trusted serial", body: certificatesBodyOf(t, apiKey, a, x),
			sign: signBy(k.other, k.certSerial), want: wxpay.ErrSignatureMismatch},
		{name: "unsigned", body: certificatesBodyOf(t, apiKey, a, b), sign: func(http.Header, []byte) {}, want: wxpay.ErrMissingSignature},
		{name: "tampered ciphertext", body: certificatesBodyOf(t, apiKey, a, tampered), sign: byA, want: wxpay.ErrDecrypt},
		{name: "not a certificate", body: certificatesBodyOf(t, apiKey, a, notACert), sign: byA, want: wxpay.ErrBadCertificate},
		{name: "serial differs from its entry", body: certificatesBodyOf(t, apiKey, a, otherSerial), sign: byA, want: wxpay.ErrBadCertificate},
		{name: "expire_time beyond the certificate", body: certificatesBodyOf(t, apiKey, a, longer), sign: byA, want: wxpay.ErrBadCertificate},
		{name: "effective_time before the certificate", body: certificatesBodyOf(t, apiKey, a, earlier), sign: byA, want: wxpay.ErrBadCertificate},
		{name: "listed twice", body: certificatesBodyOf(t, apiKey, a, b, b), sign: byA, want: wxpay.ErrBadCertificate},
		{name: "a trusted serial with another key", body: certificatesBodyOf(t, apiKey, entryFor(sameSerial)), sign: byA, want: wxpay.ErrBadCertificate},
		{name: "the merchant's own key", body: certificatesBodyOf(t, apiKey, a, entryFor(merchant)), sign: byA, want: wxpay.ErrBadCertificate},
		{name: "an expired certificate is left out", body: certificatesBodyOf(t, apiKey, a, entryFor(expired)), sign: byA,
			serials: []string{k.certSerial}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTestServer(t, func(r seenRequest) reply {
				if !r.SignatureOK {
					return reply{status: 401, body: `{"code":"SIGN_ERROR","message":"x"}`}
				}
				return reply{body: tt.body, sign: tt.sign}
			})
			c, err := wxpay.NewClient(wxpay.WithMerchant(testMchID, testSerial, k.merchant), wxpay.WithPlatformCertificate(k.cert),
				wxpay.WithBaseURL(ts.URL+testPrefix), wxpay.WithHTTPClient(ts.Client()),
				wxpay.WithCertificateRenewal(apiKey, wxpay.CertificateRenewal{}))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			err = c.RenewCertificates(context.Background())
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			want := tt.serials
			if want == nil {
				want = []string{k.certSerial}
			}
			slices.Sort(want)
			if got := c.Verifier().Serials(); !slices.Equal(got, want) {
				t.Errorf("serials %v, want %v", got, want)
			}
			if tt.want != nil && c.EncryptionSerial() != k.certSerial {
				t.Errorf("encrypting for %s after a refused list", c.EncryptionSerial())
			}
		})
	}

	// A man in the middle answers a call with its own key: the client downloads
	// the certificates (from the same man in the middle), refuses the list and
	// the call.
	t.Run("man in the middle answers a call", func(t *testing.T) {
		t.Parallel()
		mitm := signBy(k.other, x.serial)
		ts := newTestServer(t, func(r seenRequest) reply {
			if strings.HasSuffix(r.Target, "/v3/certificates") {
				return reply{body: certificatesBodyOf(t, apiKey, a, x), sign: mitm}
			}
			return reply{body: `{}`, sign: mitm}
		})
		c, err := wxpay.NewClient(wxpay.WithMerchant(testMchID, testSerial, k.merchant), wxpay.WithPlatformCertificate(k.cert),
			wxpay.WithBaseURL(ts.URL+testPrefix), wxpay.WithHTTPClient(ts.Client()),
			wxpay.WithCertificateRenewal(apiKey, wxpay.CertificateRenewal{}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		_, err = c.Chain("v3/anything").Get(context.Background())
		var ve *wxpay.VerificationError
		if !errors.As(err, &ve) || !errors.Is(err, wxpay.ErrUnknownSerial) {
			t.Errorf("err = %v", err)
		}
		if got := c.Verifier().Serials(); !slices.Equal(got, []string{k.certSerial}) {
			t.Errorf("serials %v after a forged list", got)
		}
	})

	// A configured certificate that has expired vouches for nothing.
	t.Run("signed by an expired certificate", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, func(seenRequest) reply {
			return reply{body: certificatesBodyOf(t, apiKey, a, b), sign: signBy(keyB, wxpay.CertificateSerial(expired))}
		})
		c, err := wxpay.NewClient(wxpay.WithMerchant(testMchID, testSerial, k.merchant), wxpay.WithPlatformCertificate(k.cert),
			wxpay.WithPlatformCertificate(expired), wxpay.WithBaseURL(ts.URL+testPrefix), wxpay.WithHTTPClient(ts.Client()),
			wxpay.WithCertificateRenewal(apiKey, wxpay.CertificateRenewal{}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		if err := c.RenewCertificates(context.Background()); !errors.Is(err, wxpay.ErrUnknownSerial) {
			t.Errorf("err = %v", err)
		}
		if slices.Contains(c.Verifier().Serials(), b.serial) {
			t.Errorf("serials %v: a list signed by an expired certificate was trusted", c.Verifier().Serials())
		}
	})

	// DownloadCertificates applies the same checks to the certificates.
	t.Run("DownloadCertificates: only expired certificates", func(t *testing.T) {
		t.Parallel()
		ts := newTestServer(t, func(seenRequest) reply {
			return reply{body: certificatesBodyOf(t, apiKey, entryFor(expired)), sign: signBy(keyB, wxpay.CertificateSerial(expired))}
		})
		_, err := wxpay.DownloadCertificates(context.Background(), apiKey, wxpay.WithMerchant(testMchID, testSerial, k.merchant),
			wxpay.WithBaseURL(ts.URL+testPrefix), wxpay.WithHTTPClient(ts.Client()))
		if !errors.Is(err, wxpay.ErrBadCertificate) {
			t.Errorf("err = %v", err)
		}
	})
}

// TestCertificateRenewalConfig: the option's mistakes are reported by NewClient.
func TestCertificateRenewalConfig(t *testing.T) {
	t.Parallel()
	k := keys()
	apiKey, _ := wxpay.ParseAPIv3Key(vecKey)
	for name, tt := range map[string]struct {
		key    wxpay.APIv3Key
		policy wxpay.CertificateRenewal
	}{
		"no APIv3 key":            {policy: wxpay.CertificateRenewal{}},
		"negative interval":       {key: apiKey, policy: wxpay.CertificateRenewal{Interval: -time.Hour}},
		"negative timeout":        {key: apiKey, policy: wxpay.CertificateRenewal{Timeout: -time.Second}},
		"min interval > interval": {key: apiKey, policy: wxpay.CertificateRenewal{Interval: time.Minute, MinInterval: time.Hour}},
	} {
		_, err := wxpay.NewClient(wxpay.WithMerchant(testMchID, testSerial, k.merchant), wxpay.WithPlatformCertificate(k.cert),
			wxpay.WithCertificateRenewal(tt.key, tt.policy))
		if !errors.Is(err, wxpay.ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	c, err := wxpay.NewClient(wxpay.WithMerchant(testMchID, testSerial, k.merchant), wxpay.WithPlatformCertificate(k.cert))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RenewCertificates(context.Background()); !errors.Is(err, wxpay.ErrInvalidConfig) {
		t.Errorf("RenewCertificates without renewal: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close without renewal: %v", err)
	}
	// A Verifier not built by NewVerifier or a client accepts nothing, without panicking.
	h := http.Header{}
	signResponse(h, []byte("{}"), k.platform, k.certSerial, time.Now())
	if err := new(wxpay.Verifier).Verify(h, []byte("{}")); !errors.Is(err, wxpay.ErrUnknownSerial) {
		t.Errorf("zero Verifier: %v", err)
	}
}
