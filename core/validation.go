package core

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalidRequest is wrapped by errors found before anything is sent: a
// missing path parameter, a bad template or header, a failed client-side
// validation. Such an error is never retried.
var ErrInvalidRequest = errors.New("wxpay: invalid request")

// ValidationError lists what client-side validation found wrong in a typed
// request. Nothing was sent. It matches ErrInvalidRequest.
type ValidationError struct {
	Operation string
	Issues    []FieldIssue
}

// FieldIssue is one problem: the field as a JSON Pointer (/user_information/
// common_field_list/0/name) or a parameter name, where it is, and what is wrong.
type FieldIssue struct {
	Field    string
	Location string // body, query, call
	Issue    string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("wxpay: invalid request: ")
	b.WriteString(e.Operation)
	b.WriteString(": ")
	for i, is := range e.Issues {
		if i == 3 {
			fmt.Fprintf(&b, "; and %d more", len(e.Issues)-3)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(is.Location)
		b.WriteByte(' ')
		b.WriteString(is.Field)
		b.WriteString(": ")
		b.WriteString(is.Issue)
	}
	return b.String()
}

func (e *ValidationError) Unwrap() error { return ErrInvalidRequest }
