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
)

// The journal is the importer's durable memory: one header line that pins the
// run (API, card, input fingerprint, pickup time), then one line per finished
// row. A row is "finished" when it was imported or rejected for good; rows that
// failed temporarily are not journaled and are sent again by the next run.
//
//	wxpay-import v1 kind=membercard card=pbLat… brand= input=sha256:… rows=100000 pickup=2026-01-01T10:00:00+08:00
//	17	ok
//	18	rejected	obLat…	478515832665	PARAM_ERROR	OpenID有误
//
// Lines are appended and fsync'd in groups (group commit). A crash can lose the
// last group:
// those rows are sent again, and because every row's out_request_no is derived
// from its content the server answers them as repeats, so nothing is imported
// twice. A torn last line (no newline) is ignored and overwritten.

const journalMagic = "wxpay-import v1"

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
		return h, fmt.Errorf("not a wxpay import journal (first line %.40q)", line)
	}
	for _, kv := range strings.Fields(rest) {
		k, v, _ := strings.Cut(kv, "=")
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
			h.Rows, _ = strconv.ParseInt(v, 10, 64)
		case "pickup":
			h.Pickup = v
		}
	}
	return h, nil
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

const (
	maxErrorText = 512 // characters of an error message kept per rejected row
	maxErrorCode = 64
)

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

// bitset records finished rows; 10 M rows take 1.25 MB.
type bitset []uint64

func (b *bitset) set(i int64) {
	w := int(i >> 6)
	for len(*b) <= w {
		*b = append(*b, 0)
	}
	(*b)[w] |= 1 << (uint(i) & 63)
}

func (b bitset) has(i int64) bool {
	w := int(i >> 6)
	return w < len(b) && b[w]&(1<<(uint(i)&63)) != 0
}

// openJournal opens or creates the journal at path. For an existing journal it
// checks the header against want (ignoring Pickup, which is taken from the
// journal) and returns the finished rows and the number of rejections.
func openJournal(path string, want header) (*journal, header, bitset, int64, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, want, nil, 0, err
	}
	done, h, rejected, end, err := replay(f, want)
	if err != nil {
		f.Close()
		return nil, want, nil, 0, fmt.Errorf("journal %s: %w", path, err)
	}
	// Drop a torn tail, then append from there.
	if err := f.Truncate(end); err != nil {
		f.Close()
		return nil, want, nil, 0, err
	}
	if _, err := f.Seek(end, io.SeekStart); err != nil {
		f.Close()
		return nil, want, nil, 0, err
	}
	j := &journal{f: f, w: bufio.NewWriterSize(f, 64<<10)}
	if end == 0 {
		if _, err := j.w.WriteString(h.String() + "\n"); err != nil {
			f.Close()
			return nil, want, nil, 0, err
		}
		if err := j.sync(); err != nil {
			f.Close()
			return nil, want, nil, 0, err
		}
	}
	return j, h, done, rejected, nil
}

// replay reads the journal and returns where valid content ends.
func replay(r io.Reader, want header) (done bitset, h header, rejected, end int64, err error) {
	br := bufio.NewReaderSize(r, 256<<10)
	first := true
	for {
		line, rerr := br.ReadBytes('\n')
		if rerr == io.EOF {
			break // an unterminated line is a torn write: ignored
		}
		if rerr != nil {
			return nil, h, 0, 0, rerr
		}
		text := string(bytes.TrimSuffix(line, []byte("\n")))
		if first {
			first = false
			if h, err = parseHeader(text); err != nil {
				return nil, h, 0, 0, err
			}
			if h.Kind != want.Kind || h.CardID != want.CardID || h.BrandID != want.BrandID || h.Input != want.Input {
				return nil, h, 0, 0, fmt.Errorf("belongs to another run (%s); use a new journal path or the same input and card", h)
			}
			end += int64(len(line))
			continue
		}
		row, status, rest := splitTab(text)
		n, perr := strconv.ParseInt(row, 10, 64)
		if perr != nil || n < 0 || status != "ok" && status != "rejected" {
			return nil, h, 0, 0, fmt.Errorf("line after byte %d is corrupt: %.60q", end, text)
		}
		done.set(n)
		if status == "rejected" {
			rejected++
		}
		_ = rest
		end += int64(len(line))
	}
	if first {
		h = want
	}
	return done, h, rejected, end, nil
}

func splitTab(s string) (string, string, string) {
	a, rest, _ := strings.Cut(s, "\t")
	b, rest, _ := strings.Cut(rest, "\t")
	return a, b, rest
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
// each rejected row exactly once however many runs it took.
func writeRejects(journalPath, rejectsPath string) error {
	in, err := os.Open(journalPath)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := rejectsPath + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	w.WriteString("row,openid,code,error_code,message\n")
	br := bufio.NewReaderSize(in, 256<<10)
	first := true
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			break
		}
		if first {
			first = false
			continue
		}
		row, status, rest := splitTab(strings.TrimSuffix(line, "\n"))
		if status != "rejected" {
			continue
		}
		f := strings.SplitN(rest, "\t", 4)
		for len(f) < 4 {
			f = append(f, "")
		}
		fmt.Fprintf(w, "%s,%s,%s,%s,%s\n", row, csvField(f[0]), csvField(f[1]), csvField(f[2]), csvField(f[3]))
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
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
