package memberimport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/metrics"
	"strings"
	"testing"
)

// journalFixture is a 50-row input and the journal header of its run.
func journalFixture(t *testing.T) (Config, header) {
	t.Helper()
	in := writeCSV(t, 50, func(i int) bool { return i == 6 })
	fp, rows, err := fingerprint(in, Membercard)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Kind: Membercard, CardID: "pbLat", InputPath: in, Concurrency: 4}
	return cfg, header{Kind: string(Membercard), CardID: "pbLat", Input: fp, Rows: rows, Pickup: "2026-01-01T10:00:00+08:00"}
}

// TestJournalDamageIsRefused: each damage that cannot be repaired safely is
// refused with a typed error that says what to do, before anything is sent,
// and the journal is left as it was.
func TestJournalDamageIsRefused(t *testing.T) {
	t.Parallel()
	_, h := journalFixture(t)
	other := func(change func(*header)) string {
		o := h
		change(&o)
		return o.String() + "\n"
	}
	head := h.String() + "\n"
	tests := []struct {
		name, journal string
		err           error
		msg           string
	}{
		{"huge row number", head + "1\tok\n99999999999\tok\n", ErrJournalCorrupt, "line 3: row 99999999999 is not a row of the input, which has 50"},
		{"row beyond the input", head + "51\tok\n", ErrJournalCorrupt, "row 51 is not a row of the input"},
		{"row zero", head + "0\tok\n", ErrJournalCorrupt, "row 0 is not a row"},
		{"negative row", head + "-1\tok\n", ErrJournalCorrupt, "line 2: it does not start with a row number"},
		{"signed row", head + "+5\tok\n", ErrJournalCorrupt, "does not start with a row number"},
		{"leading zero", head + "05\tok\n", ErrJournalCorrupt, "does not start with a row number"},
		{"hexadecimal", head + "0x10\tok\n", ErrJournalCorrupt, "does not start with a row number"},
		{"space before the number", head + " 5\tok\n", ErrJournalCorrupt, "does not start with a row number"},
		{"overflowing number", head + "9223372036854775808\tok\n", ErrJournalCorrupt, "does not start with a row number"},
		{"unknown status", head + "5\tdone\n", ErrJournalCorrupt, "row 5 has no valid status"},
		{"ok with more fields", head + "5\tok\tx\n", ErrJournalCorrupt, "row 5 has no valid status"},
		{"rejected with too few fields", head + "5\trejected\toX\n", ErrJournalCorrupt, "row 5 has no valid status"},
		{"rejected with too many fields", head + "5\trejected\ta\tb\tc\td\te\n", ErrJournalCorrupt, "row 5 has no valid status"},
		{"zeros then lines (power loss)", head + "1\tok\n\x00\x00\x00\x002\tok\n", ErrJournalCorrupt, "line 3"},
		{"garbage in the middle", head + "1\tok\ngarbage\n2\tok\n", ErrJournalCorrupt, "line 3"},
		{"overlong line", head + strings.Repeat("1", maxJournalLine+10) + "\n", ErrJournalCorrupt, "longer than 16384 bytes"},
		{"not a journal", "openid,code\noSecret1\n", ErrJournalCorrupt, "not a wxpay import journal"},
		{"not a journal, one unterminated line", "oSecret1", ErrJournalCorrupt, "not a wxpay import journal"},
		{"not a journal, one long line", strings.Repeat("x", 100_000), ErrJournalCorrupt, "not a wxpay import journal"},
		{"entries without a header", "1\tok\n2\tok\n", ErrJournalCorrupt, "not a wxpay import journal"},
		{"another version", strings.Replace(head, "v1", "v2", 1), ErrJournalCorrupt, `another version of wxpay (format "v2"`},
		{"header rows not a number", strings.Replace(head, "rows=50", "rows=fifty", 1), ErrJournalCorrupt, `rows="fifty"`},
		{"header without rows", strings.Replace(head, " rows=50", "", 1), ErrJournalCorrupt, "lacks a field"},
		{"header with a repeated field", strings.Replace(head, " rows=50", " rows=50 rows=50", 1), ErrJournalCorrupt, "repeated field"},
		{"header with an unknown field", strings.Replace(head, " rows=50", " rows=50 x=1", 1), ErrJournalCorrupt, "unknown field"},
		{"header with a bad pickup time", strings.Replace(head, "pickup=2026-01-01T10:00:00+08:00", "pickup=yesterday", 1), ErrJournalCorrupt, "not an RFC 3339 time"},
		{"another card", other(func(o *header) { o.CardID = "pbOther" }), ErrJournalMismatch, "belongs to another run"},
		{"another kind", other(func(o *header) { o.Kind = string(Brand) }), ErrJournalMismatch, "belongs to another run"},
		{"another brand", other(func(o *header) { o.BrandID = "1004" }), ErrJournalMismatch, "belongs to another run"},
		{"another input", other(func(o *header) { o.Input = "sha256:00000000000000000000000000000000" }), ErrJournalMismatch, "belongs to another run"},
		{"another row count (an older wxpay read the header as a row)", other(func(o *header) { o.Rows = 51 }), ErrJournalMismatch, "records an input of 51 rows, this wxpay reads 50"},
		{"a huge row count", other(func(o *header) { o.Rows = 999_999_999_999_999_999 }), ErrJournalMismatch, "records an input of 999999999999999999 rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _ := journalFixture(t)
			path := cfg.InputPath + ".journal"
			if err := os.WriteFile(path, []byte(tt.journal), 0o600); err != nil {
				t.Fatal(err)
			}
			s := newStore()
			cfg.Send = s.send
			sum, err := Run(context.Background(), cfg)
			if !errors.Is(err, tt.err) || sum != nil || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %+v, %v\nwant %v with %q", sum, err, tt.err, tt.msg)
			}
			if strings.Contains(err.Error(), "oSecret") {
				t.Errorf("the message shows an openid: %v", err)
			}
			if s.calls.Load() != 0 {
				t.Errorf("%d calls", s.calls.Load())
			}
			if got, err := os.ReadFile(path); err != nil || string(got) != tt.journal {
				t.Errorf("the journal was changed (%v)", err)
			}
			if _, err := os.Stat(cfg.InputPath + ".rejects.csv"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a rejects file was written: %v", err)
			}
		})
	}
}

// TestJournalDamageIsRepaired: damage that only costs a repeat is repaired,
// with a notice, and the import completes with every row once.
func TestJournalDamageIsRepaired(t *testing.T) {
	t.Parallel()
	_, h := journalFixture(t)
	head := h.String() + "\n"
	rej := func(n int) string {
		return fmt.Sprintf("%d\trejected\tunknown-%d\t\tPARAM_ERROR\tOpenID有误\n", n, n)
	}
	tests := []struct {
		name, journal    string
		skipped, members int64 // rows the journal holds, members imported by the run
		notice           string
	}{
		{"lines out of row order", head + "7\tok\n3\tok\n5\tok\n" + rej(6), 4, 46, ""},
		{"duplicate lines", head + "5\tok\n5\tok\n" + rej(6) + rej(6) + "7\tok\n", 3, 47, "ignored 2 lines for rows journaled before"},
		{"conflicting duplicates: the first line counts", head + "7\tok\n" + rej(7) + rej(6) + "6\tok\n", 2, 48, "ignored 2 lines"},
		{"torn last line", head + "5\tok\n" + rej(6) + "7\to", 2, 48, "dropped an unterminated last line"},
		{"torn rejected line", head + "5\tok\n6\trejected\tunkno", 1, 48, "dropped an unterminated last line"},
		{"a long torn tail of zeros (power loss)", head + "5\tok\n" + strings.Repeat("\x00", 3*maxJournalLine), 1, 48, "dropped an unterminated last line"},
		{"torn header (created, then killed)", head[:20], 0, 49, "dropped an unterminated last line"},
		{"header only", head, 0, 49, ""},
		{"empty file", "", 0, 49, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg, _ := journalFixture(t)
			path := cfg.InputPath + ".journal"
			if err := os.WriteFile(path, []byte(tt.journal), 0o600); err != nil {
				t.Fatal(err)
			}
			s := newStore()
			s.fail = unknownIsRejected
			cfg.Send = s.send
			sum, err := Run(context.Background(), cfg)
			if err != nil || !sum.Complete() || sum.Skipped != tt.skipped || sum.Rejected != 1 || s.calls.Load() != 50-tt.skipped {
				t.Fatalf("%+v %v, %d calls", sum, err, s.calls.Load())
			}
			if notices := strings.Join(sum.Notices, "\n"); tt.notice == "" && notices != "" || !strings.Contains(notices, tt.notice) {
				t.Errorf("notices %q, want %q", notices, tt.notice)
			}
			if int64(len(s.members)) != tt.members {
				t.Errorf("%d members, want %d", len(s.members), tt.members)
			}
			if got := readRejects(t, cfg.InputPath+".rejects.csv"); len(got) != 1 || got[0] != "unknown-6 PARAM_ERROR" {
				t.Errorf("rejects: %q", got)
			}
			// The repaired journal reads back clean, and a new run has nothing to do.
			sum, err = Run(context.Background(), cfg)
			if err != nil || sum.Skipped != 50 || sum.Rejected != 1 || len(sum.Notices) > 0 && !strings.Contains(tt.notice, "ignored") {
				t.Errorf("next run: %+v %v", sum, err)
			}
		})
	}
}

// heapAllocated returns the bytes allocated on the heap so far. Large
// allocations, such as a bitset sized from a bogus row number, count at once.
func heapAllocated() int64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// replayBound is the most replay may allocate for an input of rows rows: the
// bitset, the line buffer, and slack for the header and a message.
func replayBound(rows int64) int64 { return rows/8 + maxJournalLine + 1<<20 }

// TestJournalReplayMemoryIsBoundedByTheInput: a row number or a row count read
// from the journal never sizes an allocation (it once grew the bitset to
// 99999999999 bits).
func TestJournalReplayMemoryIsBoundedByTheInput(t *testing.T) {
	want := header{Kind: "membercard", CardID: "c", Input: "sha256:x", Rows: 1000, Pickup: "2026-01-01T10:00:00+08:00"}
	huge := want
	huge.Rows = 999_999_999_999_999_999
	for _, journal := range []string{
		want.String() + "\n99999999999\tok\n",
		want.String() + "\n999999999999999999\tok\n",
		huge.String() + "\n1\tok\n",
		want.String() + "\n" + strings.Repeat("1\tok\n", 100_000),
		want.String() + "\n" + strings.Repeat("x", 10<<20),
	} {
		before := heapAllocated()
		_, err := replay(strings.NewReader(journal), want)
		if got := heapAllocated() - before; got > replayBound(want.Rows) {
			t.Errorf("%.60q…: allocated %d bytes, bound %d (err %v)", journal, got, replayBound(want.Rows), err)
		}
	}
}

// FuzzJournalReplay replays arbitrary journals, as they are or after this
// run's header: never a panic, never more memory than the input's row count
// allows, an error that is ErrJournalCorrupt or ErrJournalMismatch, and on
// success a state that replaying the kept prefix gives again.
//
//	go test -run '^$' -fuzz FuzzJournalReplay -fuzztime 60s ./memberimport/
func FuzzJournalReplay(f *testing.F) {
	want := header{Kind: "membercard", CardID: "pbLat", Input: "sha256:0123456789abcdef0123456789abcdef", Rows: 100, Pickup: "2026-01-01T10:00:00+08:00"}
	for _, s := range []string{
		"", "1\tok\n", "1\tok\n2\trejected\to\t\tPARAM_ERROR\tx\n", "99999999999\tok\n", "1\tok\n1\tok\n", "5\tok\n6\to",
		"-1\tok\n", "0\tok\n", "1\tok\tx\n", "\x00\x00\n", want.String() + "\n", want.String()[:30],
		strings.Replace(want.String(), "rows=100", "rows=99999999999", 1) + "\n1\tok\n",
	} {
		f.Add([]byte(s), uint32(100), true)
		f.Add([]byte(s), uint32(100), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, rows uint32, withHeader bool) {
		w := want
		w.Rows = int64(rows % (1 << 20))
		data := body
		if withHeader {
			data = append([]byte(w.String()+"\n"), body...)
		}
		before := heapAllocated()
		got, err := replay(bytes.NewReader(data), w)
		if n := heapAllocated() - before; n > replayBound(w.Rows) {
			t.Fatalf("allocated %d bytes for %d rows", n, w.Rows)
		}
		if len(got.done) != int(w.Rows/64+1) {
			t.Fatalf("bitset of %d words for %d rows", len(got.done), w.Rows)
		}
		if err != nil {
			if !errors.Is(err, ErrJournalCorrupt) && !errors.Is(err, ErrJournalMismatch) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		var finished int64
		for i := range w.Rows + 64 {
			if got.done.has(i) {
				if i < 1 || i > w.Rows {
					t.Fatalf("row %d of %d finished", i, w.Rows)
				}
				finished++
			}
		}
		if got.rejected > finished || got.end < 0 || got.end > int64(len(data)) {
			t.Fatalf("%d rejected of %d finished, end %d of %d", got.rejected, finished, got.end, len(data))
		}
		again, err := replay(bytes.NewReader(data[:got.end]), w)
		if err != nil || again.tornTail || again.rejected != got.rejected || again.duplicates != got.duplicates || again.end != got.end || !slicesEqual(again.done, got.done) {
			t.Fatalf("the kept prefix replays differently: %+v %v", again, err)
		}
	})
}

func slicesEqual(a, b bitset) bool { return bytes.Equal(bitsetBytes(a), bitsetBytes(b)) }

func bitsetBytes(b bitset) []byte {
	out := make([]byte, 0, len(b)*8)
	for _, w := range b {
		out = fmt.Appendf(out, "%016x", w)
	}
	return out
}
