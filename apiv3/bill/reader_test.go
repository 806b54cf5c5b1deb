package bill_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/wxpaykit/wxpay/apiv3/bill"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

// summaryColumns are a trade bill's summary columns.
var summaryColumns = []string{"总交易单数", "应结订单总金额", "退款总金额", "充值券退款总金额", "手续费总金额", "订单总金额", "申请退款总金额"}

// readAll reads a bill to its end: the header, every record's values and the
// summary by the trade bill's summary columns.
func readAll(r io.Reader) (header []string, records [][]string, summary map[string]string, err error) {
	br := bill.NewReader(r)
	if header, err = br.Header(); err != nil {
		return nil, nil, nil, err
	}
	for rec, err := range br.Records() {
		if err != nil {
			return header, records, nil, err
		}
		records = append(records, rec.Values)
	}
	s, err := br.Summary()
	if err != nil {
		return header, records, nil, err
	}
	summary = map[string]string{}
	for _, c := range summaryColumns {
		summary[c] = s.Get(c)
	}
	return header, records, summary, nil
}

// A realistic ALL trade bill (payments, a payment code with a device, a
// sub-merchant's order, a refund, a full-width comma and empty fields),
// read into the golden JSON.
func TestReaderGolden(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile(filepath.Join("testdata", "tradebill_all.csv"))
	if err != nil {
		t.Fatal(err)
	}
	header, records, summary, err := readAll(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(map[string]any{"header": header, "records": records, "summary": summary}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "tradebill_all.golden.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the bill reads differently from %s:\n%s", golden, got)
	}
	// By column name.
	r := bill.NewReader(bytes.NewReader(in))
	rec, err := r.Next()
	if err != nil || rec.Get("商户订单号") != "1217752501201407033233368018" || rec.Get("设备号") != "" || rec.Get("no such column") != "" {
		t.Errorf("%+v %v", rec.Values, err)
	}
	if _, err := r.Summary(); err == nil {
		t.Error("a summary before the records were read")
	}
}

// The same bill with CRLF or LF, with or without a final newline or a
// byte-order mark, read through any chunking, reads the same.
func TestReaderLineEndings(t *testing.T) {
	t.Parallel()
	crlf, err := os.ReadFile(filepath.Join("testdata", "tradebill_all.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lf := bytes.ReplaceAll(crlf, []byte("\r\n"), []byte("\n"))
	bom := []byte("\ufeff")
	variants := map[string][]byte{
		"LF":                    lf,
		"CRLF without the last": bytes.TrimSuffix(crlf, []byte("\r\n")),
		"LF without the last":   bytes.TrimSuffix(lf, []byte("\n")),
		"BOM, CRLF":             append(append([]byte{}, bom...), crlf...),
		"BOM, LF":               append(append([]byte{}, bom...), lf...),
		"mixed":                 bytes.Replace(crlf, []byte("\r\n"), []byte("\n"), 3),
	}
	wantH, wantR, wantS, err := readAll(bytes.NewReader(crlf))
	if err != nil {
		t.Fatal(err)
	}
	for name, in := range variants {
		for _, wrap := range []struct {
			name string
			r    func(io.Reader) io.Reader
		}{{"", func(r io.Reader) io.Reader { return r }}, {"one byte at a time", iotest.OneByteReader}, {"half reads", iotest.HalfReader}} {
			h, r, s, err := readAll(wrap.r(bytes.NewReader(in)))
			if err != nil || !equal(h, wantH) || !equal2(r, wantR) || !equalMap(s, wantS) {
				t.Errorf("%s %s: %v\n%q", name, wrap.name, err, h)
			}
		}
	}
	// A BOM is only a BOM at the start.
	if _, _, _, err := readAll(bytes.NewReader(bytes.Replace(crlf, []byte("\r\n`"), []byte("\r\n\ufeff`"), 1))); !errors.Is(err, bill.ErrMalformed) {
		t.Errorf("a BOM before a record: %v", err)
	}
}

// Every truncation of the file is reported as malformed, except a cut inside
// the last field of the summary (which only the download's hash can tell).
func TestReaderTruncated(t *testing.T) {
	t.Parallel()
	full, err := os.ReadFile(filepath.Join("testdata", "tradebill_all.csv"))
	if err != nil {
		t.Fatal(err)
	}
	_, wantR, _, _ := readAll(bytes.NewReader(full))
	body := bytes.TrimSuffix(full, []byte("\r\n"))
	lastField := bytes.LastIndexByte(body, '`') + 1
	for n := 0; n < len(full); n++ {
		_, records, _, err := readAll(bytes.NewReader(full[:n]))
		switch {
		case n >= lastField:
			if err != nil || !equal2(records, wantR) {
				t.Errorf("cut at %d/%d, in the last value: %v", n, len(full), err)
			}
		case !errors.Is(err, bill.ErrMalformed):
			t.Fatalf("cut at %d/%d (%q): %v", n, len(full), full[max(0, n-20):n], err)
		}
	}
}

func TestReaderMalformed(t *testing.T) {
	t.Parallel()
	const header = "交易时间,商户订单号,订单金额\r\n"
	const record = "`2026-01-01 10:00:00,`no-1,`10.00\r\n"
	const summary = "总交易单数,订单总金额\r\n`1,`10.00\r\n"
	long := "`" + strings.Repeat("x", bill.MaxLineBytes) + ",`a,`b\r\n"
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"only a BOM", "\ufeff"},
		{"header only", header},
		{"no summary", header + record},
		{"summary header only", header + record + "总交易单数,订单总金额\r\n"},
		{"summary values without back ticks", header + record + "总交易单数,订单总金额\r\n1,10.00\r\n"},
		{"summary with fewer values", header + record + "总交易单数,订单总金额\r\n`1\r\n"},
		{"summary with more values", header + record + "总交易单数,订单总金额\r\n`1,`10.00,`0\r\n"},
		{"a line after the summary", header + record + summary + "`2\r\n"},
		{"an empty line after the summary", header + record + summary + "\r\n"},
		{"a record first", record + header + summary},
		{"fewer fields", header + "`2026-01-01 10:00:00,`no-1\r\n" + summary},
		{"more fields", header + "`2026-01-01 10:00:00,`no-1,`10.00,`x\r\n" + summary},
		{"a field without its back tick", header + "`2026-01-01 10:00:00,no-1,`10.00\r\n" + summary},
		{"a blank line among the records", header + record + "\r\n" + record + summary},
		{"a line over the bound", header + long + summary},
		{"a header over the bound", strings.Repeat("列", bill.MaxLineBytes/3+1) + "\r\n" + record + summary},
		{"no newline at all, over the bound", strings.Repeat("x", 3*bill.MaxLineBytes)},
		{"invalid UTF-8 in a record", header + "`2026-01-01 10:00:00,`no-\xff,`10.00\r\n" + summary},
		{"invalid UTF-8 in the header", "交易时间,商户\xc3订单号,订单金额\r\n" + record + summary},
		{"invalid UTF-8 in the summary", header + record + "总交易单数,订单总金额\r\n`1,`\xed\xa0\x80\r\n"},
		{"a NUL-split line", header + "`2026\x00,`no-1\r\n" + summary},
	}
	for _, tt := range tests {
		r := bill.NewReader(strings.NewReader(tt.in))
		var err error
		for i := 0; i < 10 && err == nil; i++ { // never more calls than lines
			_, err = r.Next()
		}
		if !errors.Is(err, bill.ErrMalformed) {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		// The error sticks.
		if _, again := r.Next(); again != err {
			t.Errorf("%s: then %v", tt.name, again)
		}
		if _, serr := r.Summary(); serr == nil {
			t.Errorf("%s: a summary after %v", tt.name, err)
		}
	}
	// The bound is on the whole line, its CRLF included.
	fits := "`" + strings.Repeat("x", bill.MaxLineBytes-len("`\r\n")-len(",`a,`b")) + ",`a,`b\r\n"
	if len(fits) != bill.MaxLineBytes {
		t.Fatalf("line of %d", len(fits))
	}
	if _, _, _, err := readAll(strings.NewReader(header + fits + summary)); err != nil {
		t.Errorf("a line of exactly MaxLineBytes: %v", err)
	}
	// A reader that fails: its error, not ErrMalformed.
	boom := errors.New("disk on fire")
	_, _, _, err := readAll(io.MultiReader(strings.NewReader(header+record), iotest.ErrReader(boom)))
	if !errors.Is(err, boom) {
		t.Errorf("reader error: %v", err)
	}
}

// FuzzReader: any input reads as records with exactly the header's number of
// values, then a summary, or stops at an error wrapping ErrMalformed; never a
// panic, and never more Next calls than lines.
func FuzzReader(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "tradebill_all.csv"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add(bytes.ReplaceAll(golden, []byte("\r\n"), []byte("\n")))
	f.Add([]byte("a,b\n`1,`2\nx\n`3\n"))
	f.Add([]byte("\ufeffa\r\n`\r\ns\r\n`\r\n"))
	f.Add([]byte("a,b\n`1,`2\n`1\n"))
	f.Add([]byte("`\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bill.NewReader(bytes.NewReader(in))
		h, err := r.Header()
		if err != nil {
			if !errors.Is(err, bill.ErrMalformed) {
				t.Fatalf("header: %v", err)
			}
			return
		}
		lines := bytes.Count(in, []byte("\n")) + 1
		for i := 0; ; i++ {
			if i > lines {
				t.Fatalf("more than %d records from %d lines", i, lines)
			}
			rec, err := r.Next()
			if err == io.EOF {
				s, err := r.Summary()
				if err != nil || len(s.Values) == 0 {
					t.Fatalf("EOF without a summary: %v", err)
				}
				return
			}
			if err != nil {
				if !errors.Is(err, bill.ErrMalformed) {
					t.Fatalf("not ErrMalformed: %v", err)
				}
				return
			}
			if len(rec.Values) != len(h) {
				t.Fatalf("%d values for %d columns", len(rec.Values), len(h))
			}
		}
	})
}

func equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func equal2(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func equalMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
