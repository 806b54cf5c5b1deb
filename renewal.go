package wxpay

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxpaykit/wxpay/internal/wire"
)

// This file keeps the platform certificates of a certificate-mode merchant
// current (WithCertificateRenewal): WeChat Pay issues a new certificate before
// the old one expires and signs with both during the overlap (平台证书更新).

// Defaults of CertificateRenewal.
const (
	// DefaultRenewalInterval is the time between scheduled downloads. WeChat Pay
	// lists a new certificate about ten days before the old one expires and
	// starts signing with it five days before, so twice a day learns it from a
	// list signed by a certificate already trusted.
	DefaultRenewalInterval = 12 * time.Hour
	// DefaultRenewalMinInterval is the least time between two downloads caused
	// by an unknown Wechatpay-Serial.
	DefaultRenewalMinInterval = time.Minute
	// DefaultRenewalTimeout bounds one download, retries included.
	DefaultRenewalTimeout = 10 * time.Second
)

// CertificateRenewal configures WithCertificateRenewal. The zero value takes
// the defaults and never trusts a download on its own.
type CertificateRenewal struct {
	// Interval is the time between scheduled downloads (default
	// DefaultRenewalInterval), each drawn at random within ±10 % of it. After a
	// failed download the next one comes sooner: MinInterval, doubling up to
	// Interval.
	Interval time.Duration
	// MinInterval is the least time between two downloads started because a
	// response or notification named a serial the client does not know
	// (default DefaultRenewalMinInterval, measured on the client's clock).
	// Concurrent callers share one download; a caller that comes within
	// MinInterval of the last download fails with ErrUnknownSerial at once.
	MinInterval time.Duration
	// Timeout bounds one download, retries included (default
	// DefaultRenewalTimeout). It also bounds how long Verifier.Verify, which
	// has no context, waits for one.
	Timeout time.Duration
	// TrustFirstDownload allows a client configured with no WeChat Pay key at
	// all (no WithPlatformCertificate, no WithPlatformPublicKey) to trust the
	// first download on its own: the certificate list is accepted when it is
	// signed by one of the certificates it contains, as DownloadCertificates
	// does. That is trust on first use, and the operator's decision: whoever
	// can answer that first request in WeChat Pay's place (and knows the APIv3
	// key) chooses the keys the client will trust. Every later download must be
	// signed by a key already trusted. Without this, such a client is refused
	// by NewClient; configure the certificate saved by `wxpay certificates
	// download` instead.
	TrustFirstDownload bool
}

func (p CertificateRenewal) withDefaults() CertificateRenewal {
	if p.Interval == 0 {
		p.Interval = DefaultRenewalInterval
	}
	if p.MinInterval == 0 {
		p.MinInterval = min(DefaultRenewalMinInterval, p.Interval)
	}
	if p.Timeout == 0 {
		p.Timeout = DefaultRenewalTimeout
	}
	return p
}

// renewalSettings is what WithCertificateRenewal records.
type renewalSettings struct {
	key    APIv3Key
	policy CertificateRenewal
}

// errRenewalStopped is returned once Client.Close has stopped the renewal.
var errRenewalStopped = errors.New("wxpay: certificate renewal stopped by Client.Close")

// renewer downloads the platform certificates on a schedule and on demand and
// installs the ones it accepts in the client's verifier.
//
// Trust: a download is accepted only when the answer verifies with a key the
// verifier already holds (a configured certificate or public key, or a
// certificate accepted before), except the first download of a client that
// started with no key and opted in to TrustFirstDownload. Each certificate is
// decrypted and checked (decodeCertificates); a certificate whose serial is
// already trusted with another key, or that is the merchant's own, refuses the
// whole answer. Accepted certificates are kept until they expire.
//
// Concurrency: readers load the verifier's key set atomically; only renewal
// replaces it, under writeMu. At most one download runs at a time; callers
// that need one while it runs wait for it (download.done).
type renewer struct {
	c       *Client
	v       *Verifier
	key     APIv3Key
	policy  CertificateRenewal
	logger  *slog.Logger
	now     func() time.Time
	mchPub  *rsa.PublicKey
	mchSer  string
	firstOK bool // TrustFirstDownload
	// after returns a channel that receives after d and a function that
	// stops it; tests replace it to drive the schedule without sleeping.
	after func(d time.Duration) (<-chan time.Time, func() bool)

	ctx    context.Context // cancelled by Close: the parent of every download
	cancel context.CancelFunc
	wg     sync.WaitGroup // the schedule loop and running downloads

	writeMu sync.Mutex // serialises replacements of the verifier's key set

	running atomic.Bool // the schedule loop was started; set under mu

	mu        sync.Mutex
	closed    bool
	inflight  *download // the running download, nil when none
	lastStart time.Time // of the last download, on the client's clock
	lastErr   error     // of the last finished download
	trusted   bool      // the key set has held a key: the first-download exception is spent
}

// download is one GET /v3/certificates shared by everyone who waits for it.
type download struct {
	done chan struct{} // closed when err is set
	err  error
}

func newRenewer(c *Client, rs *renewalSettings, mchPub *rsa.PublicKey) *renewer {
	ctx, cancel := context.WithCancel(context.Background())
	r := &renewer{
		c: c, v: c.verifier, key: rs.key, policy: rs.policy.withDefaults(), logger: c.logger, now: c.now,
		mchPub: mchPub, mchSer: c.serial, firstOK: rs.policy.TrustFirstDownload,
		after: func(d time.Duration) (<-chan time.Time, func() bool) {
			t := time.NewTimer(d)
			return t.C, t.Stop
		},
		ctx: ctx, cancel: cancel,
	}
	r.trusted = len(c.verifier.set.Load().keys) > 0
	return r
}

// start starts the schedule loop on first use: NewClient does no I/O, so the
// first download happens when the client is first used (a call, a
// verification, RenewCertificates), not when it is built.
func (r *renewer) start() {
	if r.running.Load() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running.Load() || r.closed {
		return
	}
	r.running.Store(true)
	r.wg.Add(1)
	go r.loop()
}

// loop downloads at once, then every Interval (jittered), sooner after a failure.
func (r *renewer) loop() {
	defer r.wg.Done()
	trigger := "start"
	failures := 0
	for {
		// Limited too: a download that just ran (RenewCertificates, a first
		// call) stands for this one.
		err := r.fetch(r.ctx, trigger, true)
		if r.ctx.Err() != nil {
			return
		}
		var recent *recentError
		if errors.As(err, &recent) {
			err = recent.last
		}
		wait := jitter(r.policy.Interval)
		if err != nil {
			failures++
			wait = backoff(r.policy.MinInterval, r.policy.Interval, failures)
		} else {
			failures = 0
		}
		r.prune()
		c, stop := r.after(wait)
		select {
		case <-c:
		case <-r.ctx.Done():
			stop()
			return
		}
		trigger = "schedule"
	}
}

// backoff is lo, doubled for each failure after the first, capped at hi.
func backoff(lo, hi time.Duration, failures int) time.Duration {
	d := lo
	for i := 1; i < failures && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// jitter spreads d by ±10 % so that many clients do not download together.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + rand.N(d/5+1)
}

// close stops the loop and any download, and waits for them.
func (r *renewer) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// learn is called with a serial the verifier does not know: it downloads the
// certificates unless the serial arrived meanwhile or the last download was
// less than MinInterval ago.
func (r *renewer) learn(ctx context.Context, serial string) error {
	if _, ok := r.v.set.Load().keys[serial]; ok {
		return nil
	}
	return r.fetch(ctx, "unknown serial", true)
}

// awaitKey waits until the key set holds a key: the first download of a
// client configured with none. It is bounded by ctx.
func (r *renewer) awaitKey(ctx context.Context) error {
	r.start()
	if len(r.v.set.Load().keys) > 0 {
		return nil
	}
	err := r.fetch(ctx, "first use", true)
	if len(r.v.set.Load().keys) > 0 {
		return nil
	}
	if err == nil {
		err = errors.New("the download held no certificate")
	}
	return fmt.Errorf("wxpay: no WeChat Pay key yet: %w", err)
}

// fetch joins the running download or starts one, then waits for it (bounded
// by ctx). A limited fetch starts no download within MinInterval of the last.
func (r *renewer) fetch(ctx context.Context, trigger string, limited bool) error {
	d, err := r.begin(trigger, limited)
	if err != nil {
		return err
	}
	return d.wait(ctx)
}

// begin joins the running download or starts one.
func (r *renewer) begin(trigger string, limited bool) (*download, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errRenewalStopped
	}
	if r.inflight != nil {
		return r.inflight, nil
	}
	now := r.now()
	if since := now.Sub(r.lastStart); limited && !r.lastStart.IsZero() && since >= 0 && since < r.policy.MinInterval {
		return nil, &recentError{since: since, limit: r.policy.MinInterval, last: r.lastErr}
	}
	d := &download{done: make(chan struct{})}
	r.inflight, r.lastStart = d, now
	r.wg.Add(1)
	go r.run(d, trigger)
	return d, nil
}

// wait waits for the download, bounded by ctx.
func (d *download) wait(ctx context.Context) error {
	select {
	case <-d.done:
		return d.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// recentError refuses a download within MinInterval of the last one.
type recentError struct {
	since, limit time.Duration
	last         error // of the last download, nil when it succeeded
}

func (e *recentError) Error() string {
	s := fmt.Sprintf("the last certificate download was %s ago (at most one per %s)", e.since.Round(time.Second), e.limit)
	if e.last != nil {
		s += " and failed: " + e.last.Error()
	}
	return s
}

func (e *recentError) Unwrap() error { return e.last }

// run performs one download and wakes its waiters.
func (r *renewer) run(d *download, trigger string) {
	defer r.wg.Done()
	ctx, cancel := context.WithTimeout(r.ctx, r.policy.Timeout)
	added, removed, err := r.download(ctx)
	cancel()
	r.mu.Lock()
	r.inflight, r.lastErr = nil, err
	r.mu.Unlock()
	d.err = err
	close(d.done)
	r.log(trigger, added, removed, err)
}

func (r *renewer) log(trigger string, added, removed []string, err error) {
	if r.logger == nil {
		return
	}
	if err != nil {
		r.logger.LogAttrs(context.Background(), slog.LevelWarn, "wxpay certificate renewal failed",
			slog.String("trigger", trigger), slog.String("error", err.Error()))
		return
	}
	level := slog.LevelDebug
	if len(added)+len(removed) > 0 {
		level = slog.LevelInfo
	}
	r.logger.LogAttrs(context.Background(), level, "wxpay certificates renewed",
		slog.String("trigger", trigger), slog.Any("added", added), slog.Any("removed", removed),
		slog.Any("serials", r.v.Serials()))
}

// download fetches, checks and installs the certificates.
func (r *renewer) download(ctx context.Context) (added, removed []string, err error) {
	h := http.Header{}
	if k := r.v.set.Load().newestCert(); k != nil {
		// Name the certificate the client trusts: a service that signs with the
		// certificate a request names (as WeChat Pay does with public key IDs)
		// then signs the list with a key the client can check it with.
		h.Set(wire.HeaderSerial, k.id)
	}
	var got []PlatformCertificate
	cl := &call{method: http.MethodGet, path: certificatesPath, idempotent: true, header: h,
		verify: func(resp *Response) error {
			var err error
			got, err = r.check(resp)
			return err
		}}
	if _, err := r.c.do(ctx, cl); err != nil {
		return nil, nil, err
	}
	added, removed = r.install(got)
	return added, removed, nil
}

// check decodes a certificates answer and decides whether to trust it.
func (r *renewer) check(resp *Response) ([]PlatformCertificate, error) {
	now := r.now()
	certs, expired, err := decodeCertificates(resp, r.key, now)
	if err != nil {
		return nil, err
	}
	ks := r.v.set.Load()
	// An expired certificate vouches for nothing, even before prune drops it.
	valid, _ := unexpired(ks.keys, now)
	trusted := newKeySet(valid, "")
	if len(ks.keys) == 0 {
		r.mu.Lock()
		first := !r.trusted
		r.mu.Unlock()
		if !first || !r.firstOK {
			return nil, fmt.Errorf("%w: no trusted WeChat Pay key to check the certificate list with", ErrUnknownSerial)
		}
		// Trust on first use, by the operator's choice (TrustFirstDownload).
		trusted = newKeySet(certificateKeys(certs), "")
	}
	if err := r.v.check(trusted, resp.Header, resp.Body); err != nil {
		return nil, err
	}
	for _, pc := range certs {
		pub := pc.Certificate.PublicKey.(*rsa.PublicKey) // RSA, checked by decodeCertificates
		if k := ks.keys[pc.Serial]; k != nil && !k.pub.Equal(pub) {
			return nil, fmt.Errorf("%w: %s is already trusted with another key", ErrBadCertificate, pc.Serial)
		}
		if pc.Serial == r.mchSer || pub.Equal(r.mchPub) {
			return nil, fmt.Errorf("%w: %s is the merchant's own certificate or key", ErrBadCertificate, pc.Serial)
		}
	}
	if len(expired) > 0 && r.logger != nil {
		r.logger.LogAttrs(context.Background(), slog.LevelWarn, "wxpay certificate list holds expired certificates; they are not trusted",
			slog.Any("serials", expired))
	}
	return certs, nil
}

// install adds the accepted certificates to the verifier's keys, dropping the
// expired ones, as a new version of the key set.
func (r *renewer) install(certs []PlatformCertificate) (added, removed []string) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	old := r.v.set.Load()
	keys, removed := unexpired(old.keys, r.now())
	for id, k := range certificateKeys(certs) {
		if _, ok := keys[id]; ok {
			continue
		}
		keys[id] = k
		added = append(added, id)
	}
	sort.Strings(added)
	if len(added)+len(removed) > 0 {
		r.v.set.Store(newKeySet(keys, old.prefer))
	}
	if len(keys) > 0 {
		r.mu.Lock()
		r.trusted = true
		r.mu.Unlock()
	}
	return added, removed
}

// prune drops the certificates that have expired.
func (r *renewer) prune() {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	old := r.v.set.Load()
	if keys, removed := unexpired(old.keys, r.now()); len(removed) > 0 {
		r.v.set.Store(newKeySet(keys, old.prefer))
		if r.logger != nil {
			r.logger.LogAttrs(context.Background(), slog.LevelInfo, "wxpay platform certificates expired",
				slog.Any("removed", removed), slog.Any("serials", r.v.Serials()))
		}
	}
}

// unexpired copies keys without the certificates expired at now.
func unexpired(keys map[string]*platformKey, now time.Time) (map[string]*platformKey, []string) {
	out := make(map[string]*platformKey, len(keys)+2)
	var removed []string
	for id, k := range keys {
		if k.cert != nil && !now.Before(k.cert.NotAfter) {
			removed = append(removed, id)
			continue
		}
		out[id] = k
	}
	sort.Strings(removed)
	return out, removed
}

// RenewCertificates downloads the platform certificates now and installs the
// ones it can trust, as the schedule of WithCertificateRenewal does; a
// download already running is joined instead. It also starts the schedule if
// the client was not used yet. Services call it at start-up to fail fast on a
// wrong APIv3 key or an untrusted certificate list. It fails with
// ErrInvalidConfig on a client built without WithCertificateRenewal.
func (c *Client) RenewCertificates(ctx context.Context) error {
	if c.renewal == nil {
		return fmt.Errorf("%w: RenewCertificates needs WithCertificateRenewal", ErrInvalidConfig)
	}
	if ctx == nil {
		return fmt.Errorf("%w: nil context", ErrInvalidRequest)
	}
	// Begin before starting the schedule, whose first download then joins
	// this one instead of following it.
	d, err := c.renewal.begin("RenewCertificates", false)
	if err != nil {
		return err
	}
	c.renewal.start()
	return d.wait(ctx)
}

// Close stops the certificate renewal of WithCertificateRenewal and waits
// until its goroutine and any running download have ended. The client keeps
// working with the keys it holds. Close is safe to call more than once, and
// on a client without renewal, where it does nothing. It returns nil.
func (c *Client) Close() error {
	if c.renewal != nil {
		c.renewal.close()
	}
	return nil
}
