package memberimport

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrBadInput is wrapped by Run's error when the input file cannot be imported
// as it is (a header naming unknown columns or lacking a required one, a
// UTF-16 file). Run returns it before anything is sent.
var ErrBadInput = errors.New("memberimport: unusable input file")

// Limits of a row. An openid is at most 128 characters (the API's limit) of the
// alphabet WeChat issues them in; a membercard code at most 32 (the API's
// limit); the brand API documents no limit for user_card_code, 128 keeps a
// stray cell from being sent.
const (
	maxOpenID          = 128
	maxMembercardCode  = 32
	maxBrandCode       = 128
	maxInputLine       = 4096    // bytes; a longer line is an invalid row, read without being held
	inputBufferSize    = 8 << 10 // at least maxInputLine+1
	maxShownValue      = 128     // characters of a rejected value kept in the journal
	invalidRowCode     = "INVALID_ROW"
	headerOpenIDColumn = "openid"
	headerCodeColumn   = "code"
)

// layout says where the columns are.
type layout struct {
	header       bool
	openID, code int // cell indexes; code is -1 when the header has no code column
}

var positional = layout{openID: 0, code: 1}

// item is a data row as read, with the reason it is invalid ("" when valid).
type item struct {
	Row
	invalid string
}

// inputReader reads the data rows of an import file: a leading UTF-8 byte order
// mark is dropped, the header (if any) is recognised, blank rows are skipped,
// and every row is validated. Memory is bounded by inputBufferSize whatever the
// file holds.
type inputReader struct {
	br      *bufio.Reader
	kind    Kind
	name    string // the file, for messages
	lay     layout
	started bool
	line    int64 // physical lines read
	n       int64 // data rows read
	cells   []string
}

func newInputReader(r io.Reader, kind Kind, name string) *inputReader {
	return &inputReader{br: bufio.NewReaderSize(r, inputBufferSize), kind: kind, name: name, lay: positional}
}

// readLine returns the next line without its line ending; a line longer than
// maxInputLine is consumed and reported as overlong, its content dropped.
func (in *inputReader) readLine() (line []byte, overlong bool, err error) {
	line, err = in.br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		overlong = true
		_, err = in.br.ReadSlice('\n')
	}
	if err == io.EOF && (len(line) > 0 || overlong) {
		err = nil // a last line without a newline
	}
	if err != nil {
		return nil, false, err
	}
	in.line++
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) > maxInputLine {
		overlong = true
	}
	if overlong {
		return nil, true, nil
	}
	return line, false, nil
}

// next returns the next data row, io.EOF at the end, or an error wrapping
// ErrBadInput when the header makes the file unusable.
func (in *inputReader) next() (item, error) {
	for {
		line, overlong, err := in.readLine()
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("reading %s: %w", in.name, err)
			}
			return item{}, err
		}
		if !in.started && in.line == 1 && !overlong {
			if bytes.HasPrefix(line, []byte{0xFF, 0xFE}) || bytes.HasPrefix(line, []byte{0xFE, 0xFF}) {
				return item{}, fmt.Errorf("%w: %s is UTF-16 text; save it as \"CSV UTF-8\"", ErrBadInput, in.name)
			}
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
		}
		if overlong {
			in.started = true
			in.n++
			return item{Row: Row{Number: in.n}, invalid: fmt.Sprintf("line longer than %d bytes", maxInputLine)}, nil
		}
		cells, problem := splitCells(line, in.cells[:0])
		in.cells = cells
		if blank(cells) && problem == "" {
			continue
		}
		if !in.started {
			in.started = true
			lay, isHeader, err := in.detectHeader(cells, problem)
			if err != nil {
				return item{}, err
			}
			if isHeader {
				in.lay = lay
				continue
			}
		}
		in.n++
		it := item{Row: Row{Number: in.n}}
		it.OpenID, it.Code, it.invalid = in.validate(cells, problem)
		return it, nil
	}
}

// detectHeader decides whether the first row is a header. It is one when a cell
// names a column (openid or code; case, spaces, _ and - do not matter), or when
// its first cell could not be an openid (a Chinese column name, "user id", a
// file separated by semicolons). A header must name openid, and code for brand
// imports, each once, and no other column; cells left empty are allowed and
// must stay empty in the data rows.
func (in *inputReader) detectHeader(cells []string, problem string) (layout, bool, error) {
	lay := layout{header: true, openID: -1, code: -1}
	named := false
	for i, c := range cells {
		switch columnName(c) {
		case headerOpenIDColumn:
			named = true
			if lay.openID >= 0 {
				return lay, true, in.badHeader("names the openid column twice")
			}
			lay.openID = i
		case headerCodeColumn:
			named = true
			if lay.code >= 0 {
				return lay, true, in.badHeader("names the code column twice")
			}
			lay.code = i
		}
	}
	if !named {
		first := ""
		if len(cells) > 0 {
			first = cells[0]
		}
		if problem != "" || first == "" || openIDProblem(first) == "" {
			return positional, false, nil // a data row
		}
		why := "its first cell cannot be an openid"
		switch {
		case !utf8.ValidString(first):
			why += " (it is not UTF-8: save the file as \"CSV UTF-8\")"
		case strings.ContainsAny(first, ";\t|"):
			why += " (columns must be separated by commas)"
		}
		return lay, true, in.badHeader("names no openid column: " + why)
	}
	for i, c := range cells {
		if i != lay.openID && i != lay.code && c != "" {
			return lay, true, in.badHeader(fmt.Sprintf("names column %d %s, which is not openid or code", i+1, shownName(c)))
		}
	}
	switch {
	case problem != "":
		return lay, true, in.badHeader("has " + problem)
	case lay.openID < 0:
		return lay, true, in.badHeader("has no openid column")
	case in.kind == Brand && lay.code < 0:
		return lay, true, in.badHeader("has no code column, which brand imports need (the user_card_code of each member)")
	}
	return lay, true, nil
}

func (in *inputReader) badHeader(what string) error {
	return fmt.Errorf("%w: %s: the header row %s; name the columns openid and code (in any order), or leave the header out for openid[,code] rows",
		ErrBadInput, in.name, what)
}

// columnName normalises a header cell: lower case, without white space, _ and -.
func columnName(c string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, c)
}

// shownName quotes a column name for a message, shortened.
func shownName(c string) string {
	return fmt.Sprintf("%q", clip(c, 32))
}

// validate checks a data row and returns its openid, its code and why it is
// invalid ("" when it is valid).
func (in *inputReader) validate(cells []string, problem string) (openID, code, invalid string) {
	if in.lay.openID < len(cells) {
		openID = cells[in.lay.openID]
	}
	if in.lay.code >= 0 && in.lay.code < len(cells) {
		code = cells[in.lay.code]
	}
	if problem != "" {
		return openID, code, problem
	}
	for i, c := range cells {
		if i != in.lay.openID && i != in.lay.code && c != "" {
			if in.lay.header {
				return openID, code, fmt.Sprintf("a value in column %d, which the header does not name", i+1)
			}
			return openID, code, "more than two columns (openid,code) in a file without a header row"
		}
	}
	if p := openIDProblem(openID); p != "" {
		return openID, code, p
	}
	limit := maxMembercardCode
	if in.kind == Brand {
		limit = maxBrandCode
	}
	switch {
	case !utf8.ValidString(code):
		return openID, code, "code is not valid UTF-8"
	case strings.IndexFunc(code, unprintable) >= 0:
		return openID, code, "code contains a control or invisible character"
	case utf8.RuneCountInString(code) > limit:
		return openID, code, fmt.Sprintf("code longer than %d characters", limit)
	case in.kind == Brand && code == "":
		return openID, code, "brand imports need a code (user_card_code)"
	}
	return openID, code, ""
}

// openIDProblem says why s cannot be an openid, or returns "".
func openIDProblem(s string) string {
	switch {
	case s == "":
		return "empty openid"
	case !utf8.ValidString(s):
		return "openid is not valid UTF-8"
	case strings.IndexFunc(s, unprintable) >= 0:
		return "openid contains a control or invisible character"
	case utf8.RuneCountInString(s) > maxOpenID:
		return fmt.Sprintf("openid longer than %d characters", maxOpenID)
	case strings.IndexFunc(s, notOpenIDRune) >= 0:
		return "openid contains a character other than A-Z, a-z, 0-9, _ and -"
	}
	return ""
}

func notOpenIDRune(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '-')
}

// unprintable matches control characters and invisible ones (zero-width space,
// byte order mark) that copy and paste leaves in cells.
func unprintable(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError
}

func blank(cells []string) bool {
	for _, c := range cells {
		if c != "" {
			return false
		}
	}
	return true
}

// splitCells splits a line at commas. A cell may be quoted ("a,b", "say ""hi""");
// white space around cells (a no-break space too) is dropped. A quoted cell cannot span lines: openids and
// codes have no line breaks. problem is set for unbalanced quotes.
func splitCells(line []byte, cells []string) (_ []string, problem string) {
	for {
		line = bytes.TrimLeftFunc(line, unicode.IsSpace)
		var cell []byte
		if len(line) > 0 && line[0] == '"' {
			var unquoted []byte
			i := 1
			closed := false
			for i < len(line) {
				if line[i] == '"' {
					if i+1 < len(line) && line[i+1] == '"' {
						unquoted = append(unquoted, '"')
						i += 2
						continue
					}
					closed = true
					i++
					break
				}
				unquoted = append(unquoted, line[i])
				i++
			}
			line = bytes.TrimLeftFunc(line[i:], unicode.IsSpace)
			if !closed || len(line) > 0 && line[0] != ',' {
				problem = "unbalanced quotes"
				comma := bytes.IndexByte(line, ',')
				if comma < 0 {
					comma = len(line)
				}
				line = line[comma:]
			}
			cell = unquoted
		} else {
			comma := bytes.IndexByte(line, ',')
			if comma < 0 {
				comma = len(line)
			}
			cell = bytes.TrimRightFunc(line[:comma], unicode.IsSpace)
			line = line[comma:]
		}
		cells = append(cells, string(cell))
		if len(line) == 0 {
			return cells, problem
		}
		line = line[1:] // the comma
	}
}

// shown is how a value of a rejected row is kept in the journal and the rejects
// file: as it is when it is printable text, otherwise Go-quoted (so that
// invalid UTF-8 and control characters are visible and fit on one line); long
// values are shortened.
func shown(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, unprintable) < 0 && !strings.ContainsAny(s, "\t\n\r") {
		return clip(s, maxShownValue)
	}
	if len(s) > maxShownValue {
		return fmt.Sprintf("%q…", s[:maxShownValue])
	}
	return fmt.Sprintf("%q", s)
}
