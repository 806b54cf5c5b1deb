package memberimport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The journal is the importer's durable memory: one header line that pins the
// run (API, card, input fingerprint and row count, pickup time), then one line
// per finished row. A row is "finished" when it was imported or rejected for
// good; rows that failed temporarily are not journaled and are sent again by
// the next run.
//
//	wxpay-import v1 kind=membercard card=pbLat… brand= input=sha256:… rows=100000 pickup=2026-01-01T10:00:00+08:00
//	17	ok
//	18	rejected	obLat…	478515832665	PARAM_ERROR	OpenID有误
//
// Lines are appended and fsync'd in groups (group commit), in the order rows
// finish, which is not row order. A crash can lose the last group: those rows
// are sent again, and because every row's out_request_no is derived from its
// content (and a brand import's pickup_time is pinned by the header) the server
// answers them as repeats, so nothing is imported twice.
//
// A journal is read back as untrusted input: memory is bounded by the input
// file (the finished-row bitset has one bit per input row, sized from the
// fingerprint pass, never from a number read from the journal; lines are read
// through a fixed buffer), and every damage is either repaired or refused:
//
//   - empty file, or a torn first line that is the start of a header (a crash
//     while the journal was created, before anything was sent): a new journal.
//   - a first line that is not a journal header: refused (ErrJournalCorrupt),
//     and the file is left untouched: --journal may name the wrong file.
//   - a header of another version, or with a missing, repeated, unknown or
//     malformed field: refused (ErrJournalCorrupt).
//   - a header of another run (kind, card, brand, input fingerprint) or of the
//     same file read as another number of rows (a wxpay that read its header
//     differently): refused (ErrJournalMismatch).
//   - an unterminated last line (a torn write): dropped and overwritten
//     (repaired; Summary.Notices says so). A crash cannot tear any other line.
//   - lines out of row order: normal.
//   - a row journaled more than once (journals concatenated, an edit): the
//     first line counts, the others are ignored, in the rejects file too
//     (repaired; a notice says how many).
//   - any other line that is not "N<tab>ok" or "N<tab>rejected<tab>4 fields"
//     with N a decimal number from 1 to the input's row count (garbage, a
//     huge, negative or non-decimal number, a line longer than maxJournalLine):
//     refused (ErrJournalCorrupt) with the line number. Such damage is not
//     guessed around, because nearby lines may be damaged in ways that still
//     parse; deleting the damaged lines is always safe: a row missing from the
//     journal is sent again and answered as a repeat.

const (
	journalMagic = "wxpay-import v1"
	// maxJournalLine bounds a journal line; the writer keeps lines far
	// shorter by shortening the values of rejected rows.
	maxJournalLine = 16 << 10
	maxErrorText   = 512 // characters of an error message kept per rejected row
	maxErrorCode   = 64
)

// ErrJournalMismatch is wrapped by Run's error when the journal was written for
// another input file, card or API.
var ErrJournalMismatch = errors.New("memberimport: the journal belongs to another run")

// ErrJournalCorrupt is wrapped by Run's error when the journal file is not an
// import journal or has a damaged line; the message says which and what to do.
var ErrJournalCorrupt = errors.New("memberimport: the journal is damaged")

// header identifies the run a journal belongs to.
type header struct {
	Kind, CardID, BrandID string
	Input                 string // fingerprint of the input file
	Rows                  int64
	Pickup                string // pickup_time sent with brand imports, fixed for the whole run
}

func (h header) String() string {
	return fmt.Sprintf("%s kind=%s card=%s brand=%s input=%s rows=%d pickup=%s",
		journalMagic, h.Kind, h.CardID, h.BrandID, h.Input, h.Rows, h.Pickup)
}

func parseHeader(line string) (header, error) {
	var h header
	rest, ok := strings.CutPrefix(line, journalMagic+" ")
	if !ok {
		if strings.HasPrefix(line, "wxpay-import ") {
			v, _, _ := strings.Cut(strings.TrimPrefix(line, "wxpay-import "), " ")
			return h, fmt.Errorf("%w: it was written by another version of wxpay (format %.20q, this one reads v1)", ErrJournalCorrupt, v)
		}
		return h, fmt.Errorf("%w: it is not a wxpay import journal (its first line is no journal header); check --journal, which must name the journal of this import or a new file", ErrJournalCorrupt)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(rest, " ") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || seen[k] {
			return h, fmt.Errorf("%w: its header has a malformed or repeated field %.40q", ErrJournalCorrupt, kv)
		}
		seen[k] = true
		switch k {
		case "kind":
			h.Kind = v
		case "card":
			h.CardID = v
		case "brand":
			h.BrandID = v
		case "input":
			h.Input = v
		case "rows":
			n, ok := parseCount(v)
			if !ok {
				return h, fmt.Errorf("%w: its header has rows=%.24q, not a row count", ErrJournalCorrupt, v)
			}
			h.Rows = n
		case "pickup":
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				return h, fmt.Errorf("%w: its header has pickup=%.40q, not an RFC 3339 time", ErrJournalCorrupt, v)
			}
			h.Pickup = v
		default:
			return h, fmt.Errorf("%w: its header has an unknown field %.24q", ErrJournalCorrupt, k)
		}
	}
	if len(seen) != 6 {
		return h, fmt.Errorf("%w: its header lacks a field (it has %d of kind, card, brand, input, rows, pickup)", ErrJournalCorrupt, len(seen))
	}
	return h, nil
}

// parseCount parses a canonical decimal number: digits only, no sign, no
// leading zero, at most 18 digits (so it cannot overflow).
func parseCount[T string | []byte](s T) (int64, bool) {
	if len(s) == 0 || len(s) > 18 || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// rejection is a row that failed for good.
type rejection struct {
	Row           int64
	OpenID, Code  string
	ErrCode, Text string
}

// rejectionOf records why row failed, with its values in the form the journal
// and the rejects file keep them (see shown).
func rejectionOf(row Row, errCode, text string) *rejection {
	return &rejection{Row: row.Number, OpenID: shown(row.OpenID), Code: shown(row.Code),
		ErrCode: clip(errCode, maxErrorCode), Text: clip(text, maxErrorText)}
}

// clip shortens s to at most n characters.
func clip(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i] + "…"
		}
		n--
	}
	return s
}

// entry is one journal line.
type entry struct {
	row int64
	rej *rejection // nil: imported
}

// bitset records finished rows, one bit per input row (rows count from 1);
// 10 M rows take 1.25 MB. It never grows: it is sized from the input.
type bitset []uint64

func newBitset(rows int64) bitset { return make(bitset, rows/64+1) }

// set sets bit i and reports whether it was clear; i out of range is ignored.
func (b bitset) set(i int64) bool {
	w := i >> 6
	if i < 0 || w >= int64(len(b)) {
		return false
	}
	m := uint64(1) << (uint(i) & 63)
	was := b[w]&m != 0
	b[w] |= m
	return !was
}

func (b bitset) has(i int64) bool {
	w := i >> 6
	return i >= 0 && w < int64(len(b)) && b[w]&(1<<(uint(i)&63)) != 0
}

// lineReader reads the lines of a journal through a fixed buffer.
type lineReader struct {
	br   *bufio.Reader
	line int64 // lines read
	off  int64 // bytes read
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, maxJournalLine+1)}
}

// next returns the next line without its newline, valid until the next call.
// complete is false for an unterminated last line; overlong lines are
// consumed and returned as nil with overlong set.
func (lr *lineReader) next() (text []byte, complete, overlong bool, err error) {
	text, err = lr.br.ReadSlice('\n')
	lr.off += int64(len(text))
	for errors.Is(err, bufio.ErrBufferFull) {
		overlong = true
		var more []byte
		more, err = lr.br.ReadSlice('\n')
		lr.off += int64(len(more))
	}
	switch {
	case err == io.EOF && (len(text) > 0 || overlong):
		err = nil
	case err == nil:
		complete = true
	}
	if err != nil {
		return nil, false, false, err
	}
	lr.line++
	if overlong {
		return nil, complete, true, nil
	}
	return bytes.TrimSuffix(text, []byte("\n")), complete, false, nil
}

// parseEntry checks a journal line and returns its row and status. rows is
// the input's row count: a row number outside 1..rows is damage.
func parseEntry(text []byte, rows int64) (row int64, rejected bool, problem string) {
	rowField, rest, _ := bytes.Cut(text, []byte("\t"))
	status, rest, hasMore := bytes.Cut(rest, []byte("\t"))
	n, ok := parseCount(rowField)
	switch {
	case !ok:
		return 0, false, fmt.Sprintf("it does not start with a row number (%.24q)", rowField)
	case n < 1 || n > rows:
		return 0, false, fmt.Sprintf("row %d is not a row of the input, which has %d", n, rows)
	}
	switch {
	case string(status) == "ok" && !hasMore:
		return n, false, ""
	case string(status) == "rejected" && bytes.Count(rest, []byte("\t")) == 3:
		return n, true, ""
	}
	return 0, false, fmt.Sprintf("row %d has no valid status (ok, or rejected with 4 fields)", n)
}

// replayed is what a journal holds.
type replayed struct {
	header     header
	done       bitset // finished rows
	rejected   int64  // rows rejected for good
	duplicates int64  // lines ignored because their row was journaled before
	end        int64  // where the valid content ends; a torn tail starts there
	tornTail   bool
}

// replay reads a journal; want is the header of this run (its Pickup is used
// only when the journal is new). See the comment at the top of this file for
// what is repaired and what is refused.
func replay(r io.Reader, want header) (replayed, error) {
	lr := newLineReader(r)
	out := replayed{header: want, done: newBitset(want.Rows)}
	text, complete, overlong, err := lr.next()
	switch {
	case err == io.EOF:
		return out, nil // a new journal
	case err != nil:
		return out, err
	case !complete:
		if !overlong && (bytes.HasPrefix([]byte(journalMagic+" "), text) || bytes.HasPrefix(text, []byte(journalMagic+" "))) {
			out.tornTail = true
			return out, nil // torn while created: nothing was sent yet
		}
		return out, fmt.Errorf("%w: it is not a wxpay import journal (it has one unterminated line); check --journal", ErrJournalCorrupt)
	case overlong:
		return out, fmt.Errorf("%w: it is not a wxpay import journal (its first line is longer than any header); check --journal", ErrJournalCorrupt)
	}
	h, err := parseHeader(string(text))
	if err != nil {
		return out, err
	}
	switch {
	case h.Kind != want.Kind || h.CardID != want.CardID || h.BrandID != want.BrandID || h.Input != want.Input:
		return out, fmt.Errorf("%w: it belongs to another run (kind=%s card=%s brand=%s input=%s, this run kind=%s card=%s brand=%s input=%s); use a new journal path or the same input and card",
			ErrJournalMismatch, h.Kind, h.CardID, h.BrandID, h.Input, want.Kind, want.CardID, want.BrandID, want.Input)
	case h.Rows != want.Rows:
		return out, fmt.Errorf("%w: it records an input of %d rows, this wxpay reads %d rows in the same file (an older version read its header row differently); "+
			"finish the import with the version that started it, or move the journal away to start over (imported members are answered as repeats; "+
			"a brand import lists them as rejected, their codes being taken)", ErrJournalMismatch, h.Rows, want.Rows)
	}
	out.header = h
	out.end = lr.off
	for {
		text, complete, overlong, err := lr.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		if !complete {
			out.tornTail = true // a torn write: ignored and overwritten
			return out, nil
		}
		if overlong {
			return out, corruptLine(lr.line, fmt.Sprintf("it is longer than %d bytes", maxJournalLine))
		}
		n, rejected, problem := parseEntry(text, want.Rows)
		if problem != "" {
			return out, corruptLine(lr.line, problem)
		}
		switch {
		case !out.done.set(n):
			out.duplicates++
		case rejected:
			out.rejected++
		}
		out.end = lr.off
	}
}

func corruptLine(line int64, problem string) error {
	return fmt.Errorf("%w: line %d: %s. Delete the damaged lines and run again: a row missing from the journal is sent again and the server answers it as a repeat", ErrJournalCorrupt, line, problem)
}

// openJournal opens or creates the journal at path, checks it against want
// and returns it ready to append, with what it holds.
func openJournal(path string, want header) (*journal, replayed, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, replayed{}, err
	}
	got, err := replay(f, want)
	if err != nil {
		f.Close()
		return nil, got, fmt.Errorf("journal %s: %w", path, err)
	}
	// Drop a torn tail, then append from there.
	if err := f.Truncate(got.end); err != nil {
		f.Close()
		return nil, got, err
	}
	if _, err := f.Seek(got.end, io.SeekStart); err != nil {
		f.Close()
		return nil, got, err
	}
	j := &journal{f: f, w: bufio.NewWriterSize(f, 64<<10)}
	if got.end == 0 {
		if _, err := j.w.WriteString(got.header.String() + "\n"); err != nil {
			f.Close()
			return nil, got, err
		}
		if err := j.sync(); err != nil {
			f.Close()
			return nil, got, err
		}
	}
	return j, got, nil
}

// journal appends entries with group commit.
type journal struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

func (j *journal) append(batch []entry) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, e := range batch {
		j.w.WriteString(strconv.FormatInt(e.row, 10))
		if e.rej == nil {
			j.w.WriteString("\tok\n")
			continue
		}
		r := e.rej
		fmt.Fprintf(j.w, "\trejected\t%s\t%s\t%s\t%s\n", clean(r.OpenID), clean(r.Code), clean(r.ErrCode), clean(r.Text))
	}
	return j.sync()
}

func (j *journal) sync() error {
	if err := j.w.Flush(); err != nil {
		return err
	}
	return j.f.Sync()
}

func (j *journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	err := j.sync()
	return errors.Join(err, j.f.Close())
}

// clean keeps a value on one journal field.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// writeRejects rewrites the rejects file from the journal, so that it holds
// each rejected row exactly once however many runs it took (and however many
// times a damaged journal repeats it). The journal was checked by replay and
// since appended by this process, so lines that do not parse are skipped.
func writeRejects(journalPath, rejectsPath string, rows int64) error {
	in, err := os.Open(journalPath)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := rejectsPath + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	w.WriteString("row,openid,code,error_code,message\n")
	lr := newLineReader(in)
	seen := newBitset(rows)
	for first := true; ; first = false {
		text, complete, overlong, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			out.Close()
			return err
		}
		if first || !complete || overlong {
			continue
		}
		n, rejected, problem := parseEntry(text, rows)
		if problem != "" || !seen.set(n) || !rejected {
			continue
		}
		f := strings.SplitN(string(text), "\t", 6)
		fmt.Fprintf(w, "%d,%s,%s,%s,%s\n", n, csvField(f[2]), csvField(f[3]), csvField(f[4]), csvField(f[5]))
	}
	if err := w.Flush(); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, rejectsPath)
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\r\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
