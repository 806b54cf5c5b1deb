// Package wxpaytest runs the WeChat Pay emulator on loopback for tests, named
// after net/http/httptest: NewServer, NewUnstartedServer, Start, Close, URL,
// and Client, which returns a *wxpay.Client already configured with the
// server's generated keys.
//
//	srv := wxpaytest.NewServer()
//	defer srv.Close()
//	client := srv.Client()
//	tok, _, err := client.V3.Brand.Partner.CardMember.PreAuthTokens.Post(ctx, &cardmember.CreatePreAuthTokenRequest{
//		BrandID: wxpaytest.BrandID, CardID: wxpaytest.BrandCardID, OpenID: wxpaytest.OpenID,
//	})
//
// The server starts with fixtures (the constants below), a fixed seed and a
// fake clock shared with its clients, so outputs are reproducible; Clock().Advance
// moves time for both.
package wxpaytest

import (
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/testkeys"
)

// APIv3Key is the server's APIv3 key, as text. The fixtures every server starts
// with (merchant, brand, cards, users, a member's user cards, a coupon
// activity, sub-merchant, callback URL) are the emulator's Demo constants:
// emulator.DemoMchID, emulator.DemoCardID, …
const APIv3Key = "wxpaytestAPIv3Key0123456789abcde"

// Start is where the fake clock starts: 2026-01-01 10:00:00 China Standard Time.
var Start = time.Date(2026, 1, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// Clock is a clock moved by hand, shared by a server and its clients.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set sets the clock.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Option configures a Server.
type Option func(*config)

type config struct {
	certMode, transition bool
	clock                func() time.Time // nil: the fake clock
	seed                 uint64
	extra                []emulator.Option
}

// WithCertificateMode makes the server sign with a platform certificate instead
// of a public key (legacy merchants).
func WithCertificateMode() Option { return func(c *config) { c.certMode = true } }

// WithTransition makes the server hold both, as during the move from platform
// certificates to public keys.
func WithTransition() Option { return func(c *config) { c.transition = true } }

// WithRealClock uses time.Now instead of the fake clock.
func WithRealClock() Option { return WithClock(time.Now) }

// WithClock uses now, shared by the server and its clients, instead of the
// fake clock; Server.Clock then returns nil. A nil now is ignored; of several
// clock options, the last wins.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.clock = now
		}
	}
}

// WithSeed changes the seed of the server's random choices (default 1).
func WithSeed(seed uint64) Option { return func(c *config) { c.seed = seed } }

// WithEmulatorOptions passes options to the emulator, after the server's own
// (merchant, keys, seed, clock). Like httptest on misuse, NewServer and
// NewUnstartedServer panic when these options are invalid; build an emulator
// with emulator.New to get the error instead.
func WithEmulatorOptions(opts ...emulator.Option) Option {
	return func(c *config) { c.extra = append(c.extra, opts...) }
}

// Server is an emulator listening on 127.0.0.1.
type Server struct {
	// URL is the base URL, http://127.0.0.1:port, set by Start.
	URL string
	// Emulator gives access to fixtures, state and fault injection.
	Emulator *emulator.Emulator

	hs       *httptest.Server
	clock    *Clock
	apiV3Key wxpay.APIv3Key
	cfg      config
}

// NewServer starts a server. Call Close when done.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.Start()
	return s
}

// NewUnstartedServer returns a server that is not listening yet; set up
// fixtures or faults, then call Start.
func NewUnstartedServer(opts ...Option) *Server {
	cfg := config{seed: 1}
	for _, o := range opts {
		o(&cfg)
	}
	k := testkeys.Shared()
	apiKey, err := wxpay.ParseAPIv3Key(APIv3Key)
	if err != nil {
		panic("wxpaytest: " + err.Error()) // a constant of this package
	}
	s := &Server{clock: &Clock{now: Start}, apiV3Key: apiKey, cfg: cfg}
	eopts := []emulator.Option{
		emulator.WithMerchant(emulator.DemoMchID, emulator.DemoMerchantSerial, &k.Merchant.PublicKey),
		emulator.WithAPIv3Key(apiKey),
		emulator.WithSeed(cfg.seed),
		emulator.WithClock(s.Now),
	}
	if !cfg.certMode || cfg.transition {
		eopts = append(eopts, emulator.WithPublicKey(emulator.DemoPublicKeyID, k.Platform))
	}
	if cfg.certMode || cfg.transition {
		eopts = append(eopts, emulator.WithCertificate(k.PlatformCert, k.Platform))
	}
	e, err := emulator.New(append(eopts, cfg.extra...)...)
	if err != nil {
		panic("wxpaytest: " + err.Error()) // only bad WithEmulatorOptions get here
	}
	if err := e.SeedDemo(emulator.DemoMchID); err != nil {
		panic("wxpaytest: " + err.Error())
	}
	s.Emulator = e
	s.hs = httptest.NewUnstartedServer(e)
	s.hs.Config = e.HTTPServer() // the emulator's read limits, as in production use
	return s
}

// Start starts listening on 127.0.0.1.
func (s *Server) Start() {
	s.hs.Start()
	s.URL = s.hs.URL
	// httptest's transport keeps 2 idle connections per host; concurrent tests
	// and benchmarks would reconnect on nearly every call.
	if t, ok := s.hs.Client().Transport.(*http.Transport); ok {
		t.MaxIdleConnsPerHost = 64
	}
}

// Close stops the server and the emulator's notification delivery.
func (s *Server) Close() {
	s.hs.Close()
	s.Emulator.Close()
}

// Now is the server's clock.
func (s *Server) Now() time.Time {
	if s.cfg.clock != nil {
		return s.cfg.clock()
	}
	return s.clock.Now()
}

// Clock returns the fake clock shared with clients (nil with WithRealClock or
// WithClock).
func (s *Server) Clock() *Clock {
	if s.cfg.clock != nil {
		return nil
	}
	return s.clock
}

// HTTPClient returns an *http.Client for the server, like httptest's.
func (s *Server) HTTPClient() *http.Client { return s.hs.Client() }

// Client returns a *wxpay.Client configured for the server: merchant key and
// serial, the platform key (or certificate), base URL, HTTP client and clock.
// opts are applied after those (a logger, a retry policy, …). Like httptest
// on misuse, it panics when opts are invalid; NewClient returns the error.
func (s *Server) Client(opts ...wxpay.Option) *wxpay.Client {
	c, err := s.NewClient(opts...)
	if err != nil {
		panic("wxpaytest: Client: " + err.Error())
	}
	return c
}

// NewClient is Client returning the error of invalid options.
func (s *Server) NewClient(opts ...wxpay.Option) (*wxpay.Client, error) {
	k := testkeys.Shared()
	base := []wxpay.Option{
		wxpay.WithMerchant(emulator.DemoMchID, emulator.DemoMerchantSerial, k.Merchant),
		wxpay.WithClock(s.Now),
	}
	if s.URL != "" {
		base = append(base, wxpay.WithBaseURL(s.URL))
	}
	if hc := s.hs.Client(); hc != nil { // nil until Start
		base = append(base, wxpay.WithHTTPClient(hc))
	}
	if !s.cfg.certMode || s.cfg.transition {
		base = append(base, wxpay.WithPlatformPublicKey(emulator.DemoPublicKeyID, &k.Platform.PublicKey))
	}
	if s.cfg.certMode || s.cfg.transition {
		base = append(base, wxpay.WithPlatformCertificate(k.PlatformCert))
	}
	return wxpay.NewClient(append(base, opts...)...)
}

// APIv3Key returns the server's APIv3 key, for notify.New.
// APIv3Key returns the APIv3 key the server encrypts notifications and
// certificates with (the constant APIv3Key, parsed).
func (s *Server) APIv3Key() wxpay.APIv3Key { return s.apiV3Key }

// PlatformPublicKey returns the key the server signs with in public-key mode.
func (s *Server) PlatformPublicKey() *rsa.PublicKey { return &testkeys.Shared().Platform.PublicKey }

// MerchantKey returns the merchant private key the server's clients sign with.
func (s *Server) MerchantKey() *rsa.PrivateKey { return testkeys.Shared().Merchant }

// Verifier returns a verifier for notifications from this server.
func (s *Server) Verifier() *wxpay.Verifier {
	c, err := s.NewClient()
	if err != nil {
		panic("wxpaytest: " + err.Error())
	}
	return c.Verifier()
}

// NewNotificationRequest builds a signed, encrypted notification of eventType
// carrying resource, as a POST to target, for testing a notification handler:
//
//	req, _ := srv.NewNotificationRequest("/wxpay/notify", notify.EventMembercardActivateCard, ev)
//	handler.ServeHTTP(recorder, req)
func (s *Server) NewNotificationRequest(target, eventType string, resource any) (*http.Request, error) {
	n, err := s.Emulator.NewNotification(eventType, resource)
	if err != nil {
		return nil, err
	}
	return n.Request(target)
}
