package wxpay

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Endpoint is one APIv3 URL template, the Go form of the reference SDK's
// chain('v3/…'). Get one from Client.Chain; it is a small value, cheap to make.
type Endpoint struct {
	c    *Client
	tmpl string
	segs []segment
	err  error
}

type segment struct {
	lit   string // literal segment, already valid in a path
	param string // name of a {param}; lit is empty then
}

// Chain returns the endpoint for a URL template such as
// "v3/marketing/membercard-open/cards/{card_id}/permission-tokens" (the leading
// slash is optional). {name} segments are filled per call with PathParam. A
// malformed template is reported by the first call.
func (c *Client) Chain(template string) *Endpoint {
	segs, err := parseTemplate(template)
	return &Endpoint{c: c, tmpl: template, segs: segs, err: err}
}

// Get sends a GET (no body).
func (e *Endpoint) Get(ctx context.Context, opts ...CallOption) (*Response, error) {
	return e.call(ctx, http.MethodGet, nil, opts)
}

// Delete sends a DELETE (no body).
func (e *Endpoint) Delete(ctx context.Context, opts ...CallOption) (*Response, error) {
	return e.call(ctx, http.MethodDelete, nil, opts)
}

// Post sends a POST with body encoded as JSON (a struct, a map, or raw JSON as
// json.RawMessage). Sensitive values anywhere in body are encrypted.
func (e *Endpoint) Post(ctx context.Context, body any, opts ...CallOption) (*Response, error) {
	return e.call(ctx, http.MethodPost, body, opts)
}

// Put sends a PUT with a JSON body.
func (e *Endpoint) Put(ctx context.Context, body any, opts ...CallOption) (*Response, error) {
	return e.call(ctx, http.MethodPut, body, opts)
}

// Patch sends a PATCH with a JSON body.
func (e *Endpoint) Patch(ctx context.Context, body any, opts ...CallOption) (*Response, error) {
	return e.call(ctx, http.MethodPatch, body, opts)
}

// GetAsync is Get in the background.
func (e *Endpoint) GetAsync(ctx context.Context, opts ...CallOption) *Future[*Response] {
	return e.async(ctx, http.MethodGet, nil, opts)
}

// DeleteAsync is Delete in the background.
func (e *Endpoint) DeleteAsync(ctx context.Context, opts ...CallOption) *Future[*Response] {
	return e.async(ctx, http.MethodDelete, nil, opts)
}

// PostAsync is Post in the background.
func (e *Endpoint) PostAsync(ctx context.Context, body any, opts ...CallOption) *Future[*Response] {
	return e.async(ctx, http.MethodPost, body, opts)
}

// PutAsync is Put in the background.
func (e *Endpoint) PutAsync(ctx context.Context, body any, opts ...CallOption) *Future[*Response] {
	return e.async(ctx, http.MethodPut, body, opts)
}

// PatchAsync is Patch in the background.
func (e *Endpoint) PatchAsync(ctx context.Context, body any, opts ...CallOption) *Future[*Response] {
	return e.async(ctx, http.MethodPatch, body, opts)
}

func (e *Endpoint) async(ctx context.Context, method string, body any, opts []CallOption) *Future[*Response] {
	return goFuture(func() (*Response, *Response, error) {
		r, err := e.call(ctx, method, body, opts)
		return r, r, err
	})
}

func (e *Endpoint) call(ctx context.Context, method string, body any, opts []CallOption) (*Response, error) {
	if e.err != nil {
		return nil, e.err
	}
	cfg, err := applyOptions(opts)
	if err != nil {
		return nil, err
	}
	path, err := expand(e.segs, cfg.params)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidRequest, e.tmpl, err)
	}
	return e.c.do(ctx, &call{method: method, path: path, query: cfg.query, body: body, header: cfg.header,
		idempotent: cfg.idempotent || method != http.MethodPost})
}

// CallOption sets a per-call detail: a path parameter, a query parameter, a header.
type CallOption func(*callConfig)

type callConfig struct {
	params         map[string]string
	query          url.Values
	header         http.Header
	skipValidation bool
	idempotent     bool
	err            error
}

// PathParam fills the {name} segment of the template. The value is escaped and
// keeps its case; an empty value is an error, never an empty segment.
func PathParam(name, value string) CallOption {
	return func(c *callConfig) {
		if c.params == nil {
			c.params = make(map[string]string, 2)
		}
		if _, dup := c.params[name]; dup {
			c.setErr(fmt.Errorf("%w: path parameter %q given twice", ErrInvalidRequest, name))
		}
		c.params[name] = value
	}
}

// Query adds a query parameter. The query is percent-encoded (a '+' in a Base64
// value is sent as %2B) and signed exactly as sent.
func Query(key, value string) CallOption {
	return func(c *callConfig) {
		if c.query == nil {
			c.query = url.Values{}
		}
		c.query.Add(key, value)
	}
}

// QueryValues adds every value in q.
func QueryValues(q url.Values) CallOption {
	return func(c *callConfig) {
		if c.query == nil {
			c.query = url.Values{}
		}
		for k, vs := range q {
			c.query[k] = append(c.query[k], vs...)
		}
	}
}

// Header adds a request header. Authorization cannot be set; Wechatpay-Serial is
// set automatically when a body holds Sensitive values.
func Header(key, value string) CallOption {
	return func(c *callConfig) {
		if c.header == nil {
			c.header = http.Header{}
		}
		c.header.Add(key, value)
	}
}

// applyOptions runs the call options; the first option error wins.
func applyOptions(opts []CallOption) (callConfig, error) {
	var cfg callConfig
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return cfg, cfg.err
}

func (c *callConfig) setErr(err error) {
	if c.err == nil {
		c.err = err
	}
}

// parseTemplate splits "v3/a/{b}/c" into segments, rejecting anything that would
// make the signed target ambiguous.
func parseTemplate(t string) ([]segment, error) {
	p := strings.TrimPrefix(t, "/")
	if p == "" {
		return nil, fmt.Errorf("%w: empty URL template", ErrInvalidRequest)
	}
	if strings.ContainsAny(p, "?#") {
		return nil, fmt.Errorf("%w: URL template %q contains a query or fragment; pass query parameters with wxpay.Query", ErrInvalidRequest, clipHeader(t))
	}
	parts := strings.Split(p, "/")
	segs := make([]segment, 0, len(parts))
	seen := map[string]bool{}
	for _, part := range parts {
		switch {
		case part == "":
			return nil, fmt.Errorf("%w: URL template %q has an empty segment", ErrInvalidRequest, clipHeader(t))
		case part == "." || part == "..":
			return nil, fmt.Errorf("%w: URL template %q has a dot segment", ErrInvalidRequest, clipHeader(t))
		case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
			name := part[1 : len(part)-1]
			if !validParamName(name) {
				return nil, fmt.Errorf("%w: URL template %q: bad parameter name %q", ErrInvalidRequest, clipHeader(t), clipHeader(name))
			}
			if seen[name] {
				return nil, fmt.Errorf("%w: URL template %q repeats {%s}", ErrInvalidRequest, clipHeader(t), name)
			}
			seen[name] = true
			segs = append(segs, segment{param: name})
		case strings.ContainsAny(part, "{}"):
			return nil, fmt.Errorf("%w: URL template %q: a {parameter} must fill a whole segment", ErrInvalidRequest, clipHeader(t))
		default:
			if url.PathEscape(part) != part {
				return nil, fmt.Errorf("%w: URL template %q: segment %q needs escaping; pass such values as path parameters", ErrInvalidRequest, clipHeader(t), clipHeader(part))
			}
			segs = append(segs, segment{lit: part})
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

// expand builds the escaped path. Every template parameter must be given, and
// every given parameter must be in the template (a typo is not silently dropped).
func expand(segs []segment, params map[string]string) (string, error) {
	var b strings.Builder
	used := 0
	for _, s := range segs {
		b.WriteByte('/')
		if s.param == "" {
			b.WriteString(s.lit)
			continue
		}
		v, ok := params[s.param]
		if !ok {
			return "", fmt.Errorf("missing path parameter {%s}", s.param)
		}
		used++
		ev, err := escapeSegment(s.param, v)
		if err != nil {
			return "", err
		}
		b.WriteString(ev)
	}
	if used != len(params) {
		for name := range params {
			if !templateHas(segs, name) {
				return "", fmt.Errorf("path parameter %q is not in the template", clipHeader(name))
			}
		}
	}
	return b.String(), nil
}

// escapeSegment escapes one path parameter value. Empty and dot values are refused:
// they would change which resource the path names.
func escapeSegment(name, v string) (string, error) {
	switch v {
	case "":
		return "", fmt.Errorf("path parameter {%s} is empty", name)
	case ".", "..":
		return "", fmt.Errorf("path parameter {%s} is %q", name, v)
	}
	return url.PathEscape(v), nil
}

func templateHas(segs []segment, name string) bool {
	for _, s := range segs {
		if s.param == name {
			return true
		}
	}
	return false
}
