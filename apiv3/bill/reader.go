package bill

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"unicode/utf8"
)

// A bill file is text: a header line of column names, one line per record
// with each field behind a back tick (`) so that spreadsheets keep long
// numbers, then a summary header line and one summary line in the same shape.
// Reader streams the records; it never holds more than one line.

// ErrMalformed is wrapped by every error about the shape of a bill file.
var ErrMalformed = errors.New("bill: malformed bill file")

// MaxLineBytes bounds one line of a bill file.
const MaxLineBytes = 64 << 10

// Reader reads a bill file's records, then its summary.
type Reader struct {
	br      *bufio.Reader
	header  []string
	index   map[string]int
	summary *Record
	line    int
	err     error
}

// NewReader reads a bill from r (uncompressed; Download gunzips).
func NewReader(r io.Reader) *Reader { return &Reader{br: bufio.NewReaderSize(r, 64<<10)} }

// Record is one line of a bill: its values by column.
type Record struct {
	index  map[string]int
	Values []string // in column order, back ticks removed
}

// Get returns the value of a column (as the header names it, e.g. 商户订单号),
// or "" for a column the bill does not have.
func (r Record) Get(column string) string {
	if i, ok := r.index[column]; ok && i < len(r.Values) {
		return r.Values[i]
	}
	return ""
}

// Header returns the record columns, reading the header line if needed.
func (r *Reader) Header() ([]string, error) {
	if r.header == nil && r.err == nil {
		line, err := r.readLine()
		switch {
		case err == io.EOF:
			r.err = fmt.Errorf("%w: empty file", ErrMalformed)
		case err != nil:
			r.err = err
		case strings.HasPrefix(line, "`"):
			r.err = fmt.Errorf("%w: line 1 is a record, not the header", ErrMalformed)
		default:
			r.header, r.index = columns(line)
		}
	}
	return r.header, r.err
}

// Next returns the next record, and io.EOF after the last one (the summary is
// then available).
func (r *Reader) Next() (Record, error) {
	if _, err := r.Header(); err != nil {
		return Record{}, err
	}
	if r.summary != nil {
		return Record{}, io.EOF
	}
	line, err := r.readLine()
	switch {
	case err == io.EOF:
		r.err = fmt.Errorf("%w: the file ends before its summary (truncated?)", ErrMalformed)
		return Record{}, r.err
	case err != nil:
		r.err = err
		return Record{}, err
	case !strings.HasPrefix(line, "`"):
		// The summary header, then the summary line; nothing after.
		_, idx := columns(line)
		values, err := r.recordLine()
		if err != nil {
			r.err = err
			return Record{}, err
		}
		if len(values) != len(idx) {
			r.err = fmt.Errorf("%w: line %d: %d summary values for %d columns", ErrMalformed, r.line, len(values), len(idx))
			return Record{}, r.err
		}
		if extra, err := r.readLine(); err != io.EOF {
			r.err = fmt.Errorf("%w: line %d: %.40q after the summary", ErrMalformed, r.line, extra)
			return Record{}, r.err
		}
		r.summary = &Record{index: idx, Values: values}
		return Record{}, io.EOF
	}
	values := fields(line)
	if len(values) != len(r.header) {
		r.err = fmt.Errorf("%w: line %d: %d values for %d columns", ErrMalformed, r.line, len(values), len(r.header))
		return Record{}, r.err
	}
	return Record{index: r.index, Values: values}, nil
}

// Records iterates over the records, stopping at the first error (yielded).
func (r *Reader) Records() iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		for {
			rec, err := r.Next()
			if err == io.EOF {
				return
			}
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
}

// Summary returns the summary (总交易单数, 应结订单总金额, …) once every record
// was read.
func (r *Reader) Summary() (Record, error) {
	if r.summary == nil {
		if r.err != nil {
			return Record{}, r.err
		}
		return Record{}, fmt.Errorf("bill: read every record before the summary")
	}
	return *r.summary, nil
}

func (r *Reader) recordLine() ([]string, error) {
	line, err := r.readLine()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: the file ends after the summary header", ErrMalformed)
	}
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "`") {
		return nil, fmt.Errorf("%w: line %d: the summary values have no back ticks", ErrMalformed, r.line)
	}
	return fields(line), nil
}

// readLine reads one line without its CRLF or LF, bounded by MaxLineBytes.
func (r *Reader) readLine() (string, error) {
	var buf []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxLineBytes {
			return "", fmt.Errorf("%w: line %d is longer than %d bytes", ErrMalformed, r.line+1, MaxLineBytes)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(buf) > 0 {
			break // a last line without a newline
		}
		if err != nil {
			return "", err
		}
		break
	}
	r.line++
	buf = bytes.TrimRight(buf, "\r\n")
	if r.line == 1 {
		buf = bytes.TrimPrefix(buf, []byte("\ufeff")) // a byte-order mark
	}
	if !utf8.Valid(buf) {
		return "", fmt.Errorf("%w: line %d is not UTF-8", ErrMalformed, r.line)
	}
	return string(buf), nil
}

func columns(line string) ([]string, map[string]int) {
	cols := strings.Split(line, ",")
	idx := make(map[string]int, len(cols))
	for i, c := range cols {
		idx[strings.TrimSpace(c)] = i
	}
	return cols, idx
}

// fields splits a record line: each field starts with a back tick.
func fields(line string) []string {
	parts := strings.Split(strings.TrimPrefix(line, "`"), ",`")
	return parts
}
