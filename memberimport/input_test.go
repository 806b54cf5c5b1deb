package memberimport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// readItems reads every data row of r.
func readItems(r io.Reader, kind Kind) ([]item, error) {
	in := newInputReader(r, kind, "members.csv")
	var rows []item
	for {
		it, err := in.next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return rows, err
		}
		if it.Number != int64(len(rows)+1) {
			return rows, fmt.Errorf("row %d numbered %d", len(rows)+1, it.Number)
		}
		rows = append(rows, it)
	}
}

// readAll reads every data row of r as "openid|code" or "openid|code|!reason".
func readAll(r io.Reader, kind Kind) ([]string, error) {
	items, err := readItems(r, kind)
	var rows []string
	for _, it := range items {
		s := it.OpenID + "|" + it.Code
		if it.invalid != "" {
			s += "|!" + it.invalid
		}
		rows = append(rows, s)
	}
	return rows, err
}

func TestInputHeaderDetection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		kind       Kind
		rows       []string
	}{
		{"Excel: byte order mark, CRLF, header", "\uFEFFopenid,code\r\no1,c1\r\no2,c2\r\n", Membercard, []string{"o1|c1", "o2|c2"}},
		{"byte order mark without header", "\uFEFFo1\no2\n", Membercard, []string{"o1|", "o2|"}},
		{"byte order mark before a blank line", "\uFEFF\r\nopenid\no1\n", Membercard, []string{"o1|"}},
		{"no header: openid[,code]", "o1,c1\no2\n", Membercard, []string{"o1|c1", "o2|"}},
		{"names in any case and spacing", " Open ID ,\tCODE \no1,c1\n", Membercard, []string{"o1|c1"}},
		{"swapped columns", "code,openid\nc1,o1\n", Brand, []string{"o1|c1"}},
		{"openid only", "OpenID\no1\n", Membercard, []string{"o1|"}},
		{"empty header cells are allowed, their cells must stay empty", "openid,,code,\no1,,c1,\no2,x,c2\n", Membercard,
			[]string{"o1|c1", "o2|c2|!a value in column 2, which the header does not name"}},
		{"quoted cells", "\"openid\",\"code\"\n\"o1\",\"c1\"\n", Membercard, []string{"o1|c1"}},
		{"blank rows are skipped", "openid,code\n\n,\n  ,  \n\r\no1,c1\n,,,\n", Membercard, []string{"o1|c1"}},
		{"no final newline", "openid\no1\no2", Membercard, []string{"o1|", "o2|"}},
		{"empty file", "", Membercard, nil},
		{"header only", "\uFEFFopenid,code\r\n", Brand, nil},
		{"three columns without a header", "o1,c1,x\no2,c2,,\n", Membercard, []string{"o1|c1|!more than two columns (openid,code) in a file without a header row", "o2|c2"}},
		{"first row with an empty openid is data", ",c1\no2,c2\n", Membercard, []string{"|c1|!empty openid", "o2|c2"}},
	}
	for _, tt := range tests {
		for _, chunked := range []bool{false, true} {
			var r io.Reader = strings.NewReader(tt.file)
			if chunked {
				r = iotest.OneByteReader(r)
			}
			got, err := readAll(r, tt.kind)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if diff := cmp.Diff(tt.rows, got); diff != "" {
				t.Errorf("%s (one byte at a time: %v): rows (-want +got):\n%s", tt.name, chunked, diff)
			}
		}
	}
	for _, h := range []string{"open_id", "open-id", "Open ID", "OPENID", "open\u00a0id"} {
		if got, err := readAll(strings.NewReader(h+"\no1\n"), Membercard); err != nil || len(got) != 1 || got[0] != "o1|" {
			t.Errorf("header %q: %q %v", h, got, err)
		}
	}
}

func TestUnusableInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file string
		kind       Kind
		err        string
	}{
		{"unknown column", "openid,code,name\no1,c1,Ann\n", Membercard, `names column 3 "name", which is not openid or code`},
		{"misnamed code column", "open_id,card_code\n", Membercard, `names column 2 "card_code"`},
		{"brand header without code", "openid\no1\n", Brand, "has no code column, which brand imports need"},
		{"header without openid", "code\nc1\n", Membercard, "has no openid column"},
		{"column named twice", "openid,code,OpenID\n", Membercard, "names the openid column twice"},
		{"code named twice", "openid,code,code\n", Membercard, "names the code column twice"},
		{"Chinese column names", "\uFEFF用户标识,会员卡号\r\no1,c1\r\n", Membercard, "names no openid column: its first cell cannot be an openid"},
		{"column names with spaces", "user id,card number\n", Membercard, "names no openid column"},
		{"GBK header", "\xd3\xc3\xbb\xa7\xb1\xea\xca\xb6,code\n", Membercard, `names column 1 "\xd3`},
		{"GBK header without a known name", "\xd3\xc3\xbb\xa7\xb1\xea\xca\xb6\n", Membercard, "it is not UTF-8"},
		{"semicolons", "openid;code\no1;c1\n", Membercard, "columns must be separated by commas"},
		{"tabs", "openid\tcode\no1\tc1\n", Membercard, "columns must be separated by commas"},
		{"UTF-16LE", "\xff\xfeo\x00p\x00e\x00n\x00", Membercard, "UTF-16"},
		{"UTF-16BE", "\xfe\xff\x00o\x00p", Membercard, "UTF-16"},
		{"header with unbalanced quotes", "openid,\"code\n", Membercard, "unbalanced quotes"},
		// Documented: the first row decides; a first data row whose openid
		// cannot be one reads as a header naming no column.
		{"first row: malformed openid", "o 1,c1\no2,c2\n", Membercard, "names no openid column"},
	}
	for _, tt := range tests {
		_, err := readAll(strings.NewReader(tt.file), tt.kind)
		if !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "members.csv") {
			t.Errorf("%s: err = %v, want ErrBadInput with %q", tt.name, err, tt.err)
		}
	}
}

func TestInvalidRows(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("o", 129)
	tests := []struct {
		name, line string
		kind       Kind
		want       string // "openid|code|!reason" or "openid|code"
	}{
		{"valid", "oValid_-09,123", Membercard, "oValid_-09|123"},
		{"spaces around cells", "  o1 ,  c1  ", Membercard, "o1|c1"},
		{"no-break spaces around cells", "\u00a0o1\u00a0,\u3000c1\t", Membercard, "o1|c1"},
		{"quoted with a comma in the code", `o1,"1,2"`, Membercard, "o1|1,2"},
		{"escaped quotes", `o1,"a""b"`, Membercard, `o1|a"b`},
		{"empty openid", ",c1", Membercard, "|c1|!empty openid"},
		{"invalid UTF-8 in the openid", "o\xff1,c1", Membercard, "o\xff1|c1|!openid is not valid UTF-8"},
		{"replacement character", "o\uFFFD1", Membercard, "o\uFFFD1||!openid contains a control or invisible character"},
		{"control character", "o\x011", Membercard, "o\x011||!openid contains a control or invisible character"},
		{"zero-width space", "o1\u200b,c1", Membercard, "o1\u200b|c1|!openid contains a control or invisible character"},
		{"byte order mark inside", "o\uFEFF1", Membercard, "o\uFEFF1||!openid contains a control or invisible character"},
		{"space inside the openid", "o 1", Membercard, "o 1||!openid contains a character other than A-Z, a-z, 0-9, _ and -"},
		{"non-ASCII openid", "o张三", Membercard, "o张三||!openid contains a character other than"},
		{"openid of 128", long[:128], Membercard, long[:128] + "|"},
		{"openid of 129", long, Membercard, long + "||!openid longer than 128 characters"},
		{"membercard code of 33", "o1," + strings.Repeat("1", 33), Membercard, "o1|" + strings.Repeat("1", 33) + "|!code longer than 32 characters"},
		{"brand code of 33", "o1," + strings.Repeat("1", 33), Brand, "o1|" + strings.Repeat("1", 33)},
		{"brand code of 129", "o1," + strings.Repeat("1", 129), Brand, "o1|" + strings.Repeat("1", 129) + "|!code longer than 128 characters"},
		{"code not UTF-8", "o1,\xc3", Membercard, "o1|\xc3|!code is not valid UTF-8"},
		{"code with a control character", "o1,1\x7f", Membercard, "o1|1\x7f|!code contains a control or invisible character"},
		{"brand row without a code", "o1", Brand, "o1||!brand imports need a code (user_card_code)"},
		{"brand row with an empty code", "o1,  ", Brand, "o1||!brand imports need a code (user_card_code)"},
		{"unbalanced quotes", `"o1,c1`, Membercard, `o1,c1||!unbalanced quotes`},
		{"text after a closing quote", `"o1"x,c1`, Membercard, `o1|c1|!unbalanced quotes`},
		{"overlong line", "o1," + strings.Repeat("1", maxInputLine), Membercard, "||!line longer than 4096 bytes"},
	}
	for _, tt := range tests {
		// The header makes the row under test a data row whatever it holds.
		file := "openid,code\no0,c0\n" + tt.line + "\no2,c2\n"
		got, err := readAll(strings.NewReader(file), tt.kind)
		if err != nil || len(got) != 3 {
			t.Errorf("%s: %q %v", tt.name, got, err)
			continue
		}
		if !strings.HasPrefix(got[1], tt.want) || strings.Contains(tt.want, "|!") != strings.Contains(got[1], "|!") {
			t.Errorf("%s: got %q, want %q", tt.name, got[1], tt.want)
		}
		if got[0] != "o0|c0" || got[2] != "o2|c2" {
			t.Errorf("%s: the rows around it: %q", tt.name, got)
		}
	}
}

// TestBadInputSendsNothing: an unusable file fails before the journal is
// created and before any call.
func TestBadInputSendsNothing(t *testing.T) {
	t.Parallel()
	for _, file := range []string{"openid,name\no1,x\n", "用户标识\no1\n", "\xff\xfeo\x00"} {
		p := filepath.Join(t.TempDir(), "m.csv")
		if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		s := newStore()
		sum, err := Run(context.Background(), Config{Kind: Membercard, CardID: "c", InputPath: p, Send: s.send})
		if !errors.Is(err, ErrBadInput) || sum != nil || s.calls.Load() != 0 {
			t.Errorf("%q: %+v %v, %d calls", file, sum, err, s.calls.Load())
		}
		if _, err := os.Stat(p + ".journal"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%q: a journal was created: %v", file, err)
		}
	}
	// A brand import needs the code column.
	p := filepath.Join(t.TempDir(), "m.csv")
	if err := os.WriteFile(p, []byte("openid\no1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStore()
	if _, err := Run(context.Background(), Config{Kind: Brand, BrandID: "b", CardID: "c", InputPath: p, Send: s.send}); !errors.Is(err, ErrBadInput) || s.calls.Load() != 0 {
		t.Errorf("brand without code: %v, %d calls", err, s.calls.Load())
	}
}

// TestExcelFileImportsEveryMember: the byte order mark costs no member, and
// invalid rows are rejected locally with their reason, without a call.
func TestExcelFileImportsEveryMember(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "m.csv")
	file := "\uFEFFOpenID,Code\r\no1,c1\r\no\xff2,c2\r\no3\x00,c3\r\n,c4\r\no5,c5\r\n"
	if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	s := newStore()
	sum, err := Run(context.Background(), Config{Kind: Membercard, CardID: "c", InputPath: p, Send: s.send})
	if err != nil || sum.Rows != 5 || sum.Imported != 2 || sum.Rejected != 3 || !sum.Complete() || s.calls.Load() != 2 {
		t.Fatalf("%+v %v, %d calls", sum, err, s.calls.Load())
	}
	if _, ok := s.members["o1"]; !ok {
		t.Errorf("the first member was not imported: %v", s.members)
	}
	rej, err := os.ReadFile(sum.Rejects)
	if err != nil {
		t.Fatal(err)
	}
	want := `row,openid,code,error_code,message
2,"""o\xff2""",c2,INVALID_ROW,openid is not valid UTF-8
3,"""o3\x00""",c3,INVALID_ROW,openid contains a control or invisible character
4,,c4,INVALID_ROW,empty openid
`
	if diff := cmp.Diff(want, sortedRejects(string(rej))); diff != "" {
		t.Errorf("rejects (-want +got):\n%s", diff)
	}
	if !utf8.Valid(rej) {
		t.Errorf("the rejects file is not UTF-8:\n%q", rej)
	}
}

// sortedRejects sorts the data lines of a rejects file (rows finish in any order).
func sortedRejects(s string) string {
	lines := strings.SplitAfter(s, "\n")
	head, body := lines[0], lines[1:]
	slices.Sort(body)
	return head + strings.Join(body, "")
}

// FuzzInput reads arbitrary files: never a panic, a hang or an untyped error;
// rows numbered 1, 2, …; a row that is not invalid is one the API can take;
// the result does not depend on how the file arrives in reads.
//
//	go test -run '^$' -fuzz FuzzInput -fuzztime 60s -fuzzminimizetime 10s ./memberimport/
//
// (The minimiser tries every byte range of a new input: with the default
// minute per input it spends most of the run minimising.)
func FuzzInput(f *testing.F) {
	for _, s := range []string{
		"\uFEFFopenid,code\r\no1,c1\r\n", "o1\no2", "code,openid\n1,o1\n", "openid,,code,\n", "\"o1\",\"a\"\"b\"\n",
		"用户标识,会员卡号\n", "\xff\xfeo\x00", "openid;code\n", "o\xff1\n,\n\n\"x", "openid,code,name\n",
		// No line over maxInputLine: TestInvalidRows covers them, and a seed
		// that large makes every minimisation take a minute.
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, brand bool) {
		kind := Membercard
		if brand {
			kind = Brand
		}
		rows, err := readItems(bytes.NewReader(data), kind)
		if err != nil && !errors.Is(err, ErrBadInput) {
			t.Fatalf("untyped error: %v", err)
		}
		again, err2 := readItems(iotest.HalfReader(bytes.NewReader(data)), kind)
		if !slices.Equal(rows, again) || (err == nil) != (err2 == nil) {
			t.Fatalf("depends on reads: %q %v / %q %v", rows, err, again, err2)
		}
		for _, r := range rows {
			if r.invalid != "" {
				continue
			}
			if openIDProblem(r.OpenID) != "" || !utf8.ValidString(r.Code) || strings.IndexFunc(r.Code, unprintable) >= 0 ||
				utf8.RuneCountInString(r.Code) > maxBrandCode || kind == Brand && r.Code == "" || kind == Membercard && utf8.RuneCountInString(r.Code) > maxMembercardCode {
				t.Fatalf("row %+v passed validation", r)
			}
		}
	})
}
