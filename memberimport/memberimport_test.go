package memberimport

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/wxpaykit/wxpay"
)

// These tests drive the importer's own machinery (journal, resume, rejects,
// classification) through Config.Send. The end-to-end test against the emulator,
// with the importer killed and resumed, is in internal/cli (e2e_test.go).

// store is an idempotent import target keyed by out_request_no, like the API.
type store struct {
	mu      sync.Mutex
	members map[string]string // openid → code
	byNo    map[string]string // out_request_no → openid
	calls   atomic.Int64
	fail    func(Row) error // per-row failure, nil for none
}

func newStore() *store {
	return &store{members: map[string]string{}, byNo: map[string]string{}}
}

func (s *store) send(ctx context.Context, row Row, no string) (string, error) {
	s.calls.Add(1)
	if s.fail != nil {
		if err := s.fail(row); err != nil {
			return "", err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.byNo[no]; ok && prev != row.OpenID {
		return "", &wxpay.APIError{StatusCode: 400, Code: "INVALID_REQUEST", Message: "请确认相同单号是否使用了不同的参数"}
	}
	s.byNo[no] = row.OpenID
	if c, ok := s.members[row.OpenID]; ok {
		return c, nil
	}
	c := fmt.Sprintf("%012d", len(s.members)+1)
	s.members[row.OpenID] = c
	return c, nil
}

func writeCSV(t *testing.T, rows int, bad func(i int) bool) string {
	t.Helper()
	var b bytes.Buffer
	b.WriteString("openid,code\n")
	for i := 1; i <= rows; i++ {
		if bad != nil && bad(i) {
			fmt.Fprintf(&b, "unknown-%d\n", i)
			continue
		}
		fmt.Fprintf(&b, "openid-%d\n", i)
	}
	p := filepath.Join(t.TempDir(), "members.csv")
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func unknownIsRejected(row Row) error {
	if strings.HasPrefix(row.OpenID, "unknown-") {
		return &wxpay.APIError{StatusCode: 400, Code: "PARAM_ERROR", Message: "OpenID有误"}
	}
	return nil
}

func readRejects(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[1]+" "+r[3])
	}
	sort.Strings(out)
	return out
}

func TestImportAndResume(t *testing.T) {
	t.Parallel()
	in := writeCSV(t, 2000, func(i int) bool { return i%97 == 0 })
	s := newStore()
	s.fail = unknownIsRejected
	cfg := Config{Kind: Membercard, CardID: "pbLat", InputPath: in, Concurrency: 8, Send: s.send}

	// First run: stop after ~700 calls, as a kill would.
	ctx, cancel := context.WithCancel(context.Background())
	var stopAt sync.Once
	base := s.send
	cfg.Send = func(c context.Context, r Row, no string) (string, error) {
		if s.calls.Load() >= 700 {
			stopAt.Do(cancel)
		}
		return base(c, r, no)
	}
	sum, err := Run(ctx, cfg)
	if !errors.Is(err, ErrInterrupted) || sum.Complete() {
		t.Fatalf("interrupted run: %+v, %v", sum, err)
	}

	// Second run resumes: every row ends up imported once or rejected once.
	cfg.Send = s.send
	before := s.calls.Load()
	sum, err = Run(context.Background(), cfg)
	if err != nil || !sum.Complete() {
		t.Fatalf("resumed run: %+v, %v", sum, err)
	}
	if sent := s.calls.Load() - before; sent > 2000-sum.Skipped {
		t.Errorf("resumed run sent %d rows, journal had %d done", sent, sum.Skipped)
	}
	if len(s.members) != 2000-20 {
		t.Errorf("%d members, want %d", len(s.members), 2000-20)
	}
	rej := readRejects(t, cfg.InputPath+".rejects.csv")
	if len(rej) != 20 || rej[0] != "unknown-1067 PARAM_ERROR" {
		t.Errorf("rejects = %d %v", len(rej), rej[:min(3, len(rej))])
	}

	// A third run has nothing left to do.
	before = s.calls.Load()
	sum, err = Run(context.Background(), cfg)
	if err != nil || s.calls.Load() != before || sum.Skipped != 2000 || sum.Rejected != 20 {
		t.Errorf("third run: %+v %v, %d new calls", sum, err, s.calls.Load()-before)
	}
}

func TestJournalTornTailAndMismatch(t *testing.T) {
	t.Parallel()
	in := writeCSV(t, 50, nil)
	s := newStore()
	cfg := Config{Kind: Membercard, CardID: "pbLat", InputPath: in, Send: s.send}
	if _, err := Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	// A torn last line (crash mid-write) is ignored and overwritten.
	f, _ := os.OpenFile(cfg.InputPath+".journal", os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("51\to")
	f.Close()
	if sum, err := Run(context.Background(), cfg); err != nil || sum.Skipped != 50 {
		t.Fatalf("after torn tail: %+v %v", sum, err)
	}
	// The journal refuses another card or a changed input.
	other := cfg
	other.CardID = "another"
	if _, err := Run(context.Background(), other); err == nil || !strings.Contains(err.Error(), "another run") {
		t.Errorf("other card: %v", err)
	}
	if err := os.WriteFile(in, []byte("openid-x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "another run") {
		t.Errorf("changed input: %v", err)
	}
}

func TestTemporaryFailuresAreNotJournaled(t *testing.T) {
	t.Parallel()
	in := writeCSV(t, 30, nil)
	s := newStore()
	var down atomic.Bool
	down.Store(true)
	s.fail = func(r Row) error {
		if down.Load() && r.Number%3 == 0 {
			return &wxpay.TransportError{Method: "POST", Path: "/v3/x", Err: errors.New("connection reset")}
		}
		return nil
	}
	cfg := Config{Kind: Membercard, CardID: "pbLat", InputPath: in, Send: s.send}
	sum, err := Run(context.Background(), cfg)
	if err != nil || sum.Failed != 10 || sum.Imported != 20 || sum.Complete() {
		t.Fatalf("first run: %+v %v", sum, err)
	}
	down.Store(false)
	sum, err = Run(context.Background(), cfg)
	if err != nil || sum.Imported != 10 || sum.Skipped != 20 || !sum.Complete() {
		t.Fatalf("second run: %+v %v", sum, err)
	}
	if s.calls.Load() != 40 {
		t.Errorf("%d calls, want 40", s.calls.Load())
	}
}

func TestStopsWhenTheServiceIsDown(t *testing.T) {
	t.Parallel()
	in := writeCSV(t, 500, nil)
	s := newStore()
	s.fail = func(Row) error { return &wxpay.APIError{StatusCode: 500, Code: "SYSTEM_ERROR"} }
	sum, err := Run(context.Background(), Config{Kind: Membercard, CardID: "c", InputPath: in, Send: s.send, MaxConsecutiveFailures: 10, Concurrency: 2})
	if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "in a row") {
		t.Fatalf("err = %v", err)
	}
	if s.calls.Load() > 50 || sum.Imported != 0 {
		t.Errorf("kept going: %d calls, %+v", s.calls.Load(), sum)
	}
}

func TestInvalidRowsAndConfig(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "m.csv")
	os.WriteFile(p, []byte("openid,code\n,1\n"+strings.Repeat("o", 129)+"\nok-1,\n"), 0o600)
	s := newStore()
	sum, err := Run(context.Background(), Config{Kind: Brand, BrandID: "1004", CardID: "c", InputPath: p, Send: s.send})
	if err != nil || sum.Rejected != 3 || s.calls.Load() != 0 {
		t.Fatalf("%+v %v calls=%d", sum, err, s.calls.Load())
	}
	// Each configuration is refused by the check, before its input is read:
	// fresh is a file that no run has touched.
	fresh := filepath.Join(t.TempDir(), "fresh.csv")
	os.WriteFile(fresh, []byte("o1\n"), 0o600)
	for _, tt := range []struct {
		c   Config
		err string
	}{
		{Config{Kind: "x", CardID: "c", InputPath: fresh, Send: s.send}, "Kind must be"},
		{Config{Kind: Membercard, InputPath: fresh, Send: s.send}, "CardID is required"},
		{Config{Kind: Brand, CardID: "c", InputPath: fresh, Send: s.send}, "BrandID is required"},
		{Config{Kind: Membercard, CardID: "c", Send: s.send}, "InputPath is required"},
		{Config{Kind: Membercard, CardID: "c", InputPath: fresh}, "Client is required"},
		{Config{Kind: Membercard, CardID: "pb Lat", InputPath: fresh, Send: s.send}, "CardID and BrandID must be"},
		{Config{Kind: Membercard, CardID: "pb=Lat", InputPath: fresh, Send: s.send}, "CardID and BrandID must be"},
		{Config{Kind: Brand, CardID: "c", BrandID: "10\t04", InputPath: fresh, Send: s.send}, "CardID and BrandID must be"},
		{Config{Kind: Membercard, CardID: strings.Repeat("c", 129), InputPath: fresh, Send: s.send}, "CardID and BrandID must be"},
		{Config{Kind: Membercard, CardID: "c", InputPath: fresh, JournalPath: fresh, Send: s.send}, "three different files"},
		{Config{Kind: Membercard, CardID: "c", InputPath: fresh, RejectsPath: filepath.Dir(fresh) + "/./fresh.csv", Send: s.send}, "three different files"},
		{Config{Kind: Membercard, CardID: "c", InputPath: fresh, JournalPath: fresh + ".x", RejectsPath: fresh + ".x", Send: s.send}, "three different files"},
	} {
		if _, err := Run(context.Background(), tt.c); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("%+v: %v, want %q", tt.c, err, tt.err)
		}
	}
	if _, err := os.Stat(fresh + ".journal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused configuration created a journal: %v", err)
	}
	if s.calls.Load() != 0 {
		t.Errorf("%d calls", s.calls.Load())
	}
}

func TestRequestNo(t *testing.T) {
	t.Parallel()
	a := RequestNo(Membercard, "c", "o")
	if a != RequestNo(Membercard, "c", "o") || a == RequestNo(Membercard, "c2", "o") || a == RequestNo(Brand, "c", "o") {
		t.Error("RequestNo must depend on kind, card and openid only")
	}
	if len(a) > 128 || strings.Trim(a, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ|_*-") != "" {
		t.Errorf("%q does not fit out_request_no", a)
	}
}

func TestProgressLines(t *testing.T) {
	t.Parallel()
	in := writeCSV(t, 100, nil)
	var out bytes.Buffer
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	s := newStore()
	if _, err := Run(context.Background(), Config{Kind: Membercard, CardID: "c", InputPath: in, Send: s.send, Progress: w}); err != nil {
		t.Fatal(err)
	}
	read := func() string { mu.Lock(); defer mu.Unlock(); s := out.String(); out.Reset(); return s }
	if got := read(); !strings.Contains(got, "import: 100/100 rows (100.0%), 100 imported") {
		t.Errorf("final progress line: %q", got)
	}
	in2 := writeCSV(t, 10, nil)
	if _, err := Run(context.Background(), Config{Kind: Membercard, CardID: "c", InputPath: in2, Send: s.send, Progress: w, Terminal: true}); err != nil {
		t.Fatal(err)
	}
	if got := read(); !strings.Contains(got, "\r100.0% ████████████████████████ 10/10") {
		t.Errorf("terminal bar: %q", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
