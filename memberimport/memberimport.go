package memberimport

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/cardmember"
	"github.com/wxpaykit/wxpay/apiv3/membercardopen"
	"github.com/wxpaykit/wxpay/internal/ctxwait"
)

// Kind selects the import API.
type Kind string

// The two import APIs.
const (
	Membercard Kind = "membercard" // membercard-open users/import by openid
	Brand      Kind = "brand"      // brand card-member import-by-openid
)

// Row is one input row. Number counts data rows from 1.
type Row struct {
	Number int64
	OpenID string
	Code   string
}

// Sender performs the import call for one row and returns the member's card code.
// The default sender calls the API of Config.Kind through Config.Client.
type Sender func(ctx context.Context, row Row, requestNo string) (code string, err error)

// Config describes an import run.
type Config struct {
	Client *wxpay.Client // required unless Send is set
	Kind   Kind
	CardID string
	// BrandID, ValidDate: Brand imports only (ValidDate defaults to PERMANENT).
	BrandID   string
	ValidDate cardmember.ValidDateInformation

	InputPath   string // CSV file of members: see "Input" in the package doc
	JournalPath string // default InputPath + ".journal"
	RejectsPath string // default InputPath + ".rejects.csv"

	Concurrency int     // calls in flight, default 16
	QPS         float64 // calls started per second, 0 for no limit
	// MaxConsecutiveFailures stops the run after that many temporary failures in
	// a row (the service is down: resume later). Default 50.
	MaxConsecutiveFailures int

	// Progress receives progress reports: a redrawn bar when Terminal is true,
	// otherwise a line every ProgressInterval (default 10 s). nil: silent.
	Progress         io.Writer
	Terminal         bool
	ProgressInterval time.Duration

	Now  func() time.Time // default time.Now
	Send Sender           // default: the API call of Kind
}

// Summary reports a run.
type Summary struct {
	Rows      int64 // data rows in the input
	Imported  int64 // imported (or confirmed as already imported) by this run
	Skipped   int64 // finished by earlier runs, per the journal
	Rejected  int64 // rejected for good, this run and earlier ones
	Failed    int64 // failed temporarily this run: run again to retry them
	Duration  time.Duration
	Journal   string
	Rejects   string
	Interrupt error // why the run stopped early, if it did
	// Notices says what the run repaired on its way (a torn journal tail,
	// repeated journal lines); nothing was lost by it.
	Notices []string

	rejectedNow int64
}

// Complete reports whether every row is now either imported or rejected.
func (s *Summary) Complete() bool {
	return s.Interrupt == nil && s.Failed == 0 && s.Imported+s.Skipped+s.rejectedNow == s.Rows
}

// ErrInterrupted is wrapped by Run's error when it stops before the end; the
// journal holds what was done, so running again resumes.
var ErrInterrupted = errors.New("memberimport: run interrupted; run again to resume")

func (c *Config) check() error {
	switch {
	case c.Kind != Membercard && c.Kind != Brand:
		return fmt.Errorf("memberimport: Kind must be %q or %q", Membercard, Brand)
	case c.CardID == "":
		return errors.New("memberimport: CardID is required")
	case c.Kind == Brand && c.BrandID == "":
		return errors.New("memberimport: BrandID is required for brand imports")
	case c.InputPath == "":
		return errors.New("memberimport: InputPath is required (a file, so that a run can be resumed)")
	case c.Client == nil && c.Send == nil:
		return errors.New("memberimport: Client is required")
	case c.Concurrency < 0 || c.QPS < 0:
		return errors.New("memberimport: Concurrency and QPS must not be negative")
	case !isID(c.CardID) || c.BrandID != "" && !isID(c.BrandID):
		return errors.New("memberimport: CardID and BrandID must be at most 128 bytes, without spaces, control characters or '='")
	}
	if c.JournalPath == "" {
		c.JournalPath = c.InputPath + ".journal"
	}
	if c.RejectsPath == "" {
		c.RejectsPath = c.InputPath + ".rejects.csv"
	}
	in, jn, rj := filepath.Clean(c.InputPath), filepath.Clean(c.JournalPath), filepath.Clean(c.RejectsPath)
	if in == jn || in == rj || jn == rj {
		return errors.New("memberimport: InputPath, JournalPath and RejectsPath must be three different files")
	}
	if c.Concurrency == 0 {
		c.Concurrency = 16
	}
	if c.MaxConsecutiveFailures == 0 {
		c.MaxConsecutiveFailures = 50
	}
	if c.ProgressInterval == 0 {
		c.ProgressInterval = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.ValidDate.Type == "" {
		c.ValidDate.Type = cardmember.ValidDateTypePermanent
	}
	return nil
}

// isID reports whether s fits on the journal header as one field.
func isID(s string) bool {
	return len(s) <= 128 && strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == '=' || unprintable(r) || unicode.IsSpace(r) }) < 0
}

// RequestNo is the out_request_no sent for an openid: derived from the API, the
// card and the openid, so every run sends the same number for the same member.
func RequestNo(kind Kind, cardID, openID string) string {
	sum := sha256.Sum256([]byte(string(kind) + "\x00" + cardID + "\x00" + openID))
	return "wxpimp-" + hex.EncodeToString(sum[:16])
}

// Run imports the rows of cfg.InputPath that earlier runs did not finish.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	start := time.Now()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	fp, rows, err := fingerprint(cfg.InputPath, cfg.Kind)
	if err != nil {
		return nil, err
	}
	want := header{Kind: string(cfg.Kind), CardID: cfg.CardID, BrandID: cfg.BrandID, Input: fp, Rows: rows,
		Pickup: cfg.Now().Truncate(time.Second).Format(time.RFC3339)}
	j, got, err := openJournal(cfg.JournalPath, want)
	if err != nil {
		return nil, err
	}
	send := cfg.Send
	if send == nil {
		send = cfg.apiSender(got.header.Pickup)
	}
	sum := &Summary{Rows: rows, Journal: cfg.JournalPath, Rejects: cfg.RejectsPath}
	if got.tornTail {
		sum.Notices = append(sum.Notices, fmt.Sprintf("journal %s: dropped an unterminated last line (a write torn by a crash); its rows are sent again", cfg.JournalPath))
	}
	if got.duplicates > 0 {
		sum.Notices = append(sum.Notices, fmt.Sprintf("journal %s: ignored %d lines for rows journaled before (the first line of a row counts)", cfg.JournalPath, got.duplicates))
	}
	r := &run{cfg: &cfg, send: send, sum: sum, done: got.done, journal: j, fingerprint: fp}
	runErr := r.do(ctx)
	closeErr := j.Close()
	rejErr := writeRejects(cfg.JournalPath, cfg.RejectsPath, rows)
	sum.Duration = time.Since(start)
	sum.rejectedNow = r.rejected.Load()
	sum.Rejected = got.rejected + sum.rejectedNow
	if err := errors.Join(closeErr, rejErr); err != nil {
		return sum, err
	}
	if runErr != nil {
		sum.Interrupt = runErr
		return sum, fmt.Errorf("%w: %w", ErrInterrupted, runErr)
	}
	return sum, nil
}

type result struct {
	e      entry
	failed error // temporary failure: not journaled
}

type run struct {
	cfg     *Config
	send    Sender
	sum     *Summary
	done    bitset
	journal *journal
	// fingerprint of the input when the run started
	fingerprint string

	imported, rejected, failed, skipped atomic.Int64
	consecutive                         atomic.Int64
	start                               time.Time
}

func (r *run) do(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.start = time.Now()

	rows := make(chan item, r.cfg.Concurrency*2)
	results := make(chan result, r.cfg.Concurrency*2)
	lim := newLimiter(r.cfg.QPS)

	go func() {
		defer close(rows)
		if err := r.read(ctx, rows); err != nil {
			cancel(err)
		}
	}()
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for row := range rows {
				if lim.wait(ctx) != nil {
					continue // drain: the reader stops on ctx too
				}
				results <- r.one(ctx, row)
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	stopProgress := r.progress()
	commitErr := r.commit(results, cancel)
	if commitErr != nil {
		for range results { // let the workers finish
		}
	}
	stopProgress()
	r.sum.Skipped = r.skipped.Load()
	r.sum.Imported = r.imported.Load()
	r.sum.Failed = r.failed.Load()
	if commitErr != nil {
		return commitErr
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return nil
}

// read streams the input, sending the rows the journal does not hold yet. It
// hashes what it reads and checks it against the fingerprint taken before the
// run, so that a file changed meanwhile cannot be mixed up with the journal.
func (r *run) read(ctx context.Context, out chan<- item) error {
	f, err := os.Open(r.cfg.InputPath)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	in := newInputReader(io.TeeReader(f, h), r.cfg.Kind, r.cfg.InputPath)
	for {
		it, err := in.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if it.Number > r.sum.Rows {
			return fmt.Errorf("%w: it has more rows than when the run started", errInputChanged)
		}
		if r.done.has(it.Number) {
			r.skipped.Add(1)
			continue
		}
		select {
		case out <- it:
		case <-ctx.Done():
			return nil
		}
	}
	if fingerprintOf(h) != r.fingerprint || in.n != r.sum.Rows {
		return errInputChanged
	}
	return nil
}

var errInputChanged = errors.New("memberimport: the input file changed during the run; restore it and run again")

// one imports a row and classifies the outcome.
func (r *run) one(ctx context.Context, it item) result {
	row := it.Row
	if it.invalid != "" {
		r.rejected.Add(1)
		return result{e: entry{row: row.Number, rej: rejectionOf(row, invalidRowCode, it.invalid)}}
	}
	_, err := r.send(ctx, row, RequestNo(r.cfg.Kind, r.cfg.CardID, row.OpenID))
	var ae *wxpay.APIError
	switch {
	case err == nil:
		r.imported.Add(1)
		r.consecutive.Store(0)
		return result{e: entry{row: row.Number}}
	case errors.Is(err, wxpay.ErrInvalidRequest):
		r.rejected.Add(1)
		return result{e: entry{row: row.Number, rej: rejectionOf(row, invalidRowCode, err.Error())}}
	case errors.As(err, &ae) && !ae.Temporary():
		r.rejected.Add(1)
		r.consecutive.Store(0)
		return result{e: entry{row: row.Number, rej: rejectionOf(row, ae.Code, ae.Message)}}
	}
	if ctx.Err() == nil {
		r.failed.Add(1)
		r.consecutive.Add(1)
	}
	return result{failed: err}
}

// maxBatch bounds one journal group commit.
const maxBatch = 4096

// commit journals finished rows with group commit: it takes every result that
// is ready (up to maxBatch), appends them and fsyncs once. Under load the
// groups grow by themselves; when rows trickle in, each is durable at once.
func (r *run) commit(results <-chan result, cancel context.CancelCauseFunc) error {
	batch := make([]entry, 0, 256)
	var lastFailure error
	take := func(res result) {
		if res.failed != nil {
			lastFailure = res.failed
			if r.consecutive.Load() >= int64(r.cfg.MaxConsecutiveFailures) {
				cancel(fmt.Errorf("%d calls in a row failed, last: %w", r.consecutive.Load(), lastFailure))
			}
			return
		}
		batch = append(batch, res.e)
	}
	for {
		res, ok := <-results
		if !ok {
			return nil
		}
		take(res)
	drain:
		for len(batch) < maxBatch {
			select {
			case res, ok := <-results:
				if !ok {
					break drain
				}
				take(res)
			default:
				break drain
			}
		}
		if len(batch) > 0 {
			if err := r.journal.append(batch); err != nil {
				cancel(err)
				return err
			}
			batch = batch[:0]
		}
	}
}

// apiSender calls the import API of cfg.Kind.
func (c *Config) apiSender(pickup string) Sender {
	switch c.Kind {
	case Brand:
		return func(ctx context.Context, row Row, _ string) (string, error) {
			card, _, err := c.Client.V3.Brand.Partner.CardMember.UserCards.ImportByOpenID.Post(ctx, &cardmember.ImportUserCardByOpenIDRequest{
				BrandID: c.BrandID, CardID: c.CardID, OpenID: row.OpenID, UserCardCode: row.Code,
				DateInformation: c.ValidDate, PickupTime: pickup,
			})
			if err != nil {
				return "", err
			}
			return card.UserCardCode, nil
		}
	default:
		cards := c.Client.V3.Marketing.MembercardOpen.Cards
		return func(ctx context.Context, row Row, requestNo string) (string, error) {
			out, _, err := cards.CardID(c.CardID).Users.Import.Post(ctx, &membercardopen.ImportUserRequest{
				OpenID: row.OpenID, Code: row.Code, OutRequestNo: requestNo,
			})
			if err != nil {
				return "", err
			}
			return out.Code, nil
		}
	}
}

// fingerprint hashes the input and counts its data rows in one streaming pass.
// It reads the whole file the way the run will, so an unusable header is
// reported here, before anything is sent.
func fingerprint(path string, kind Kind) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	in := newInputReader(io.TeeReader(f, h), kind, path)
	for {
		_, err := in.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, err
		}
	}
	return fingerprintOf(h), in.n, nil
}

func fingerprintOf(h hash.Hash) string {
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:32]
}

// limiter spaces call starts 1/QPS apart (no burst).
type limiter struct {
	mu       sync.Mutex
	interval time.Duration
	next     time.Time
}

func newLimiter(qps float64) *limiter {
	if qps <= 0 {
		return &limiter{}
	}
	return &limiter{interval: time.Duration(float64(time.Second) / qps)}
}

func (l *limiter) wait(ctx context.Context) error {
	if l.interval == 0 {
		return ctx.Err()
	}
	l.mu.Lock()
	now := time.Now()
	if l.next.Before(now) {
		l.next = now
	}
	at := l.next
	l.next = l.next.Add(l.interval)
	l.mu.Unlock()
	return ctxwait.Sleep(ctx, time.Until(at))
}
