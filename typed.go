package wxpay

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file is the runtime of the generated typed API (zz_tree.go, zz_models.go).

// operation describes one typed operation; the generator writes one per spec entry.
type operation struct {
	id     string
	method string
	segs   []segment
	// hasBody: the request has a JSON body (otherwise only query parameters).
	hasBody bool
	// encrypts: the operation has encrypted fields, so Wechatpay-Serial is
	// required even when every encrypted field happens to be empty.
	encrypts bool
	// idempotent: safe to retry after an unknown outcome (see RetryPolicy).
	idempotent bool
}

// request is implemented by every generated XxxRequest.
type request interface {
	Validate() error
	encodeQuery(c *Client) (url.Values, bool, error)
}

// WithoutValidation skips the client-side validation of a typed request, for
// the rare case where the documentation is stricter than the live API.
func WithoutValidation() CallOption {
	return func(c *callConfig) { c.skipValidation = true }
}

// invoke runs a typed operation. params are the path parameter values in
// template order; out is nil for operations without a JSON answer.
func (c *Client) invoke(ctx context.Context, op *operation, params []string, req request, out any, opts []CallOption) (*Response, error) {
	cfg, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	if cfg.params != nil {
		return nil, fmt.Errorf("%w: %s: path parameters come from the call chain, not from PathParam", ErrInvalidRequest, op.id)
	}
	path, err := expandValues(op.segs, params)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidRequest, op.id, err)
	}
	cl := &call{method: op.method, path: path, query: cfg.query, header: cfg.header, needsSerial: op.encrypts,
		idempotent: op.idempotent || cfg.idempotent}
	if req != nil {
		if !cfg.skipValidation {
			if err := req.Validate(); err != nil {
				return nil, err
			}
		}
		q, sealed, err := req.encodeQuery(c)
		if err != nil {
			return nil, err
		}
		if q == nil {
			q = url.Values{}
		}
		for k, vs := range cfg.query {
			q[k] = append(q[k], vs...)
		}
		cl.query = q
		cl.needsSerial = cl.needsSerial || sealed
		if op.hasBody {
			cl.body = req
		}
	} else if op.hasBody {
		return nil, fmt.Errorf("%w: %s: nil request", ErrInvalidRequest, op.id)
	}
	resp, err := c.do(ctx, cl)
	if err != nil {
		return resp, err
	}
	if out != nil {
		if err := resp.Decode(out); err != nil {
			return resp, err
		}
	}
	return resp, nil
}

// expandValues fills the template's parameters, in order, with escaped values.
func expandValues(segs []segment, values []string) (string, error) {
	n := 0
	size := 0
	for _, s := range segs {
		size += 1 + len(s.lit)
	}
	var b strings.Builder
	b.Grow(size + 32)
	for _, s := range segs {
		b.WriteByte('/')
		if s.param == "" {
			b.WriteString(s.lit)
			continue
		}
		if n >= len(values) {
			return "", fmt.Errorf("missing path parameter {%s}", s.param)
		}
		ev, err := escapeSegment(s.param, values[n])
		if err != nil {
			return "", err
		}
		n++
		b.WriteString(ev)
	}
	return b.String(), nil
}

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
	Location string // body, query
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

// validator collects issues while generated code walks a request. It allocates
// only when an issue is found.
type validator struct {
	op     string
	path   []string
	issues []FieldIssue
}

func (v *validator) enter(seg string) { v.path = append(v.path, seg) }
func (v *validator) enterIndex(seg string, i int) {
	v.path = append(v.path, seg, strconv.Itoa(i))
}
func (v *validator) leave(n int) { v.path = v.path[:len(v.path)-n] }

func (v *validator) add(location, name, issue string) {
	f := name
	if location == "body" {
		f = "/" + strings.Join(append(append([]string(nil), v.path...), name), "/")
	}
	v.issues = append(v.issues, FieldIssue{Field: f, Location: location, Issue: issue})
}

func (v *validator) required(location, name string, present bool) {
	if !present {
		v.add(location, name, "is required")
	}
}

func (v *validator) maxLen(location, name, s string, max int) {
	if n := utf8.RuneCountInString(s); n > max {
		v.add(location, name, fmt.Sprintf("is %d characters long, at most %d allowed", n, max))
	}
}

func (v *validator) enum(location, name, value string, valid bool) {
	if value != "" && !valid {
		v.add(location, name, fmt.Sprintf("%q is not one of the documented values", clipHeader(value)))
	}
}

func (v *validator) pattern(location, name, value string, re *regexp.Regexp) {
	if value != "" && !re.MatchString(value) {
		v.add(location, name, fmt.Sprintf("%q does not match %s", clipHeader(value), re))
	}
}

func (v *validator) err() error {
	if len(v.issues) == 0 {
		return nil
	}
	return &ValidationError{Operation: v.op, Issues: v.issues}
}

// Personal is plaintext personal data that the API carries in clear (for
// example what a user typed into a sign-up form). It marshals as an ordinary
// string but never prints: fmt and slog show [REDACTED].
type Personal string

// String returns [REDACTED] (or "" for an empty value).
func (p Personal) String() string { return Sensitive(p).String() }

// Format implements fmt.Formatter.
func (p Personal) Format(f fmt.State, verb rune) { formatRedacted(f, verb, "Personal", p.String()) }

// LogValue implements slog.LogValuer.
func (p Personal) LogValue() slog.Value { return slog.StringValue(p.String()) }

// String returns [ENCRYPTED]: the ciphertext is not secret, but it is personal
// data in waiting and has no place in logs.
func (e Encrypted) String() string {
	if e == "" {
		return ""
	}
	return "[ENCRYPTED]"
}

// Format implements fmt.Formatter.
func (e Encrypted) Format(f fmt.State, verb rune) { _, _ = io.WriteString(f, e.String()) }

// LogValue implements slog.LogValuer.
func (e Encrypted) LogValue() slog.Value { return slog.StringValue(e.String()) }

// Decrypter opens Encrypted response fields; *Client is one.
type Decrypter interface {
	Decrypt(Encrypted) (Sensitive, error)
}

func decryptAll(d Decrypter, in []Encrypted) ([]Sensitive, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]Sensitive, len(in))
	for i, e := range in {
		s, err := d.Decrypt(e)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = s
	}
	return out, nil
}

func errNilRequest(op string) error {
	return &ValidationError{Operation: op, Issues: []FieldIssue{{Field: "request", Location: "call", Issue: "is nil"}}}
}
