package typed

import (
	"fmt"
	"regexp"
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
