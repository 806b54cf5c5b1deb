package wxpay

import (
	"context"
	"fmt"
	"net/http"

	"github.com/wxpaykit/wxpay/core"
	"github.com/wxpaykit/wxpay/internal/typed"
)

// Endpoint is one APIv3 URL template, the Go form of the reference SDK's
// chain('v3/…'). Get one from Client.Chain; it is a small value, cheap to make.
type Endpoint struct {
	c    *Client
	tmpl string
	segs []typed.Segment
	err  error
}

// Chain returns the endpoint for a URL template such as
// "v3/marketing/membercard-open/cards/{card_id}/permission-tokens" (the leading
// slash is optional). {name} segments are filled per call with PathParam. A
// malformed template is reported by the first call.
func (c *Client) Chain(template string) *Endpoint {
	segs, err := typed.ParseTemplate(template)
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
	return core.Go(func() (*Response, *Response, error) {
		r, err := e.call(ctx, method, body, opts)
		return r, r, err
	})
}

func (e *Endpoint) call(ctx context.Context, method string, body any, opts []CallOption) (*Response, error) {
	cfg, path, err := e.resolve(opts)
	if err != nil {
		return nil, err
	}
	return e.c.do(ctx, &call{method: method, path: path, query: cfg.Query, body: body, header: cfg.Header,
		idempotent: cfg.Idempotent || method != http.MethodPost})
}

// resolve applies the call options and expands the path template with their
// path parameters.
func (e *Endpoint) resolve(opts []CallOption) (core.CallConfig, string, error) {
	if e.err != nil {
		return core.CallConfig{}, "", e.err
	}
	cfg, err := core.Apply(opts)
	if err != nil {
		return core.CallConfig{}, "", err
	}
	path, err := typed.Expand(e.segs, cfg.Params)
	if err != nil {
		return core.CallConfig{}, "", fmt.Errorf("%w: %s: %w", ErrInvalidRequest, e.tmpl, err)
	}
	return cfg, path, nil
}
