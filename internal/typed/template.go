package typed

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/wxpaykit/wxpay/core"
	"github.com/wxpaykit/wxpay/internal/redact"
)

// Segment is one segment of a URL template.
type Segment struct {
	Lit   string // literal segment, already valid in a path
	Param string // name of a {param}; Lit is empty then
}

// clip keeps template text short in errors.
func clip(s string) string { return redact.Clip(s, 64) }

// ParseTemplate splits "v3/a/{b}/c" (the leading slash is optional) into
// segments, rejecting anything that would make the signed target ambiguous.
func ParseTemplate(t string) ([]Segment, error) {
	p := strings.TrimPrefix(t, "/")
	if p == "" {
		return nil, fmt.Errorf("%w: empty URL template", core.ErrInvalidRequest)
	}
	if strings.ContainsAny(p, "?#") {
		return nil, fmt.Errorf("%w: URL template %q contains a query or fragment; pass query parameters with wxpay.Query", core.ErrInvalidRequest, clip(t))
	}
	parts := strings.Split(p, "/")
	segs := make([]Segment, 0, len(parts))
	seen := map[string]bool{}
	for _, part := range parts {
		switch {
		case part == "":
			return nil, fmt.Errorf("%w: URL template %q has an empty segment", core.ErrInvalidRequest, clip(t))
		case part == "." || part == "..":
			return nil, fmt.Errorf("%w: URL template %q has a dot segment", core.ErrInvalidRequest, clip(t))
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
			name := part[1 : len(part)-1]
			if !validParamName(name) {
				return nil, fmt.Errorf("%w: URL template %q: bad parameter name %q", core.ErrInvalidRequest, clip(t), clip(name))
			}
			if seen[name] {
				return nil, fmt.Errorf("%w: URL template %q repeats {%s}", core.ErrInvalidRequest, clip(t), name)
			}
			seen[name] = true
			segs = append(segs, Segment{Param: name})
		case strings.ContainsAny(part, "{}"):
			return nil, fmt.Errorf("%w: URL template %q: a {parameter} must fill a whole segment", core.ErrInvalidRequest, clip(t))
		default:
			if url.PathEscape(part) != part {
				return nil, fmt.Errorf("%w: URL template %q: segment %q needs escaping; pass such values as path parameters", core.ErrInvalidRequest, clip(t), clip(part))
			}
			segs = append(segs, Segment{Lit: part})
		}
	}
	return segs, nil
}

func validParamName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// Expand builds the escaped path from named values. Every template parameter
// must be given, and every given parameter must be in the template (a typo is
// not silently dropped).
func Expand(segs []Segment, params map[string]string) (string, error) {
	used := 0
	path, err := build(segs, func(name string) (string, error) {
		v, ok := params[name]
		if !ok {
			return "", fmt.Errorf("missing path parameter {%s}", name)
		}
		used++
		return v, nil
	})
	if err != nil {
		return "", err
	}
	if used != len(params) {
		for name := range params {
			if !has(segs, name) {
				return "", fmt.Errorf("path parameter %q is not in the template", clip(name))
			}
		}
	}
	return path, nil
}

// ExpandValues fills the template's parameters, in order, with values.
func ExpandValues(segs []Segment, values []string) (string, error) {
	n := 0
	return build(segs, func(name string) (string, error) {
		if n >= len(values) {
			return "", fmt.Errorf("missing path parameter {%s}", name)
		}
		n++
		return values[n-1], nil
	})
}

func build(segs []Segment, value func(name string) (string, error)) (string, error) {
	size := 0
	for _, s := range segs {
		size += 1 + len(s.Lit)
	}
	var b strings.Builder
	b.Grow(size + 32)
	for _, s := range segs {
		b.WriteByte('/')
		if s.Param == "" {
			b.WriteString(s.Lit)
			continue
		}
		v, err := value(s.Param)
		if err != nil {
			return "", err
		}
		ev, err := escapeSegment(s.Param, v)
		if err != nil {
			return "", err
		}
		b.WriteString(ev)
	}
	return b.String(), nil
}

// escapeSegment escapes one path parameter value. Empty and dot values are
// refused: they would change which resource the path names. So are control
// characters, which no identifier of the API contains.
func escapeSegment(name, v string) (string, error) {
	switch v {
	case "":
		return "", fmt.Errorf("path parameter {%s} is empty", name)
	case ".", "..":
		return "", fmt.Errorf("path parameter {%s} is %q", name, v)
	}
	if i := strings.IndexFunc(v, isControl); i >= 0 {
		return "", fmt.Errorf("path parameter {%s} contains the control character %U", name, []rune(v[i:])[0])
	}
	return url.PathEscape(v), nil
}

func has(segs []Segment, name string) bool {
	for _, s := range segs {
		if s.Param == name {
			return true
		}
	}
	return false
}

// isControl reports C0 and C1 control characters and DEL: CR, LF and NUL among
// them. No value of the API contains one, and in a header or a URL they are how
// requests get split or smuggled.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f || 0x80 <= r && r < 0xa0 }

// CheckText reports an error when s holds a control character; what names the
// value in the message (e.g. "query parameter \"openid\"").
func CheckText(what, s string) error {
	if i := strings.IndexFunc(s, isControl); i >= 0 {
		return fmt.Errorf("%w: %s contains the control character %U", core.ErrInvalidRequest, what, []rune(s[i:])[0])
	}
	return nil
}
