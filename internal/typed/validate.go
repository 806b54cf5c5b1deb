package typed

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wxpaykit/wxpay/core"
	"github.com/wxpaykit/wxpay/internal/redact"
)

// Validator collects issues while a generated Validate method walks a request.
// It allocates only when an issue is found.
type Validator struct {
	Op     string // the operation ID, named in the error
	path   []string
	issues []core.FieldIssue
}

// Enter descends into the body member seg.
func (v *Validator) Enter(seg string) { v.path = append(v.path, seg) }

// EnterIndex descends into element i of the body array seg.
func (v *Validator) EnterIndex(seg string, i int) { v.path = append(v.path, seg, strconv.Itoa(i)) }

// Leave climbs n levels back up.
func (v *Validator) Leave(n int) { v.path = v.path[:len(v.path)-n] }

func (v *Validator) add(location, name, issue string) {
	f := name
	if location == "body" {
		f = "/" + strings.Join(append(append([]string(nil), v.path...), name), "/")
	}
	v.issues = append(v.issues, core.FieldIssue{Field: f, Location: location, Issue: issue})
}

// Required records a missing required value.
func (v *Validator) Required(location, name string, present bool) {
	if !present {
		v.add(location, name, "is required")
	}
}

// MaxLen checks a length limit, in characters as the documentation counts them.
func (v *Validator) MaxLen(location, name, s string, max int) {
	if n := utf8.RuneCountInString(s); n > max {
		v.add(location, name, fmt.Sprintf("is %d characters long, at most %d allowed", n, max))
	}
}

// Enum checks that a non-empty value is one of the documented ones.
func (v *Validator) Enum(location, name, value string, valid bool) {
	if value != "" && !valid {
		v.add(location, name, fmt.Sprintf("%q is not one of the documented values", redact.Clip(value, 64)))
	}
}

// Pattern checks a non-empty value against a documented pattern.
func (v *Validator) Pattern(location, name, value string, re *regexp.Regexp) {
	if value != "" && !re.MatchString(value) {
		v.add(location, name, fmt.Sprintf("%q does not match %s", redact.Clip(value, 64), re))
	}
}

// Extension checks that a file name ends in one of the accepted extensions
// (any case), naming them and their size limits when it does not.
func (v *Validator) Extension(location, name, filename string, limits map[string]int64) {
	if filename == "" {
		return
	}
	ext := strings.ToLower(filepath.Ext(filename))
	if _, ok := limits[strings.TrimPrefix(ext, ".")]; ok && ext != "" {
		return
	}
	v.add(location, name, fmt.Sprintf("%q: the file type must be one of %s", redact.Clip(filename, 64), LimitsText(limits)))
}

// LimitsText lists accepted extensions with their size limits: "bmp (5 MB),
// jpg (5 MB), pdf (7.5 MB)".
func LimitsText(limits map[string]int64) string {
	exts := make([]string, 0, len(limits))
	for e := range limits {
		exts = append(exts, e)
	}
	sort.Strings(exts)
	for i, e := range exts {
		exts[i] = fmt.Sprintf("%s (%s MB)", e, strconv.FormatFloat(float64(limits[e])/(1<<20), 'f', -1, 64))
	}
	return strings.Join(exts, ", ")
}

// Range checks an integer against documented bounds.
func (v *Validator) Range(location, name string, n, min, max int64) {
	if n < min || n > max {
		v.add(location, name, fmt.Sprintf("is %d, must be between %d and %d", n, min, max))
	}
}

// Err returns the issues as a *core.ValidationError, or nil.
func (v *Validator) Err() error {
	if len(v.issues) == 0 {
		return nil
	}
	return &core.ValidationError{Operation: v.Op, Issues: v.issues}
}
