package wxpay

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/wxpaykit/wxpay/core"
	"github.com/wxpaykit/wxpay/internal/typed"
)

// invoker runs the operations of the generated API packages for a client
// (typed.Invoker): they describe the call, the client signs, sends and
// verifies it like any other.
type invoker struct{ c *Client }

// WithoutValidation skips the client-side validation of a typed request, for
// the rare case where the documentation is stricter than the live API.
func WithoutValidation() CallOption {
	return func(c *core.CallConfig) { c.SkipValidation = true }
}

func (inv invoker) Invoke(ctx context.Context, op *typed.Operation, params []string, req any, out any, opts []core.CallOption) (*Response, error) {
	c := inv.c
	cfg, err := core.Apply(opts)
	if err != nil {
		return nil, err
	}
	if cfg.Params != nil {
		return nil, fmt.Errorf("%w: %s: path parameters come from the call chain, not from PathParam", ErrInvalidRequest, op.ID)
	}
	path, err := typed.ExpandValues(op.Segs, params)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalidRequest, op.ID, err)
	}
	cl := &call{method: op.Method, path: path, query: cfg.Query, header: cfg.Header, needsSerial: op.Encrypts,
		idempotent: op.Idempotent || cfg.Idempotent}
	if req != nil {
		if v, ok := req.(interface{ Validate() error }); ok && !cfg.SkipValidation {
			if err := v.Validate(); err != nil {
				return nil, err
			}
		}
		q, sealed, err := typed.EncodeQuery(req, c.Encrypt)
		if err != nil {
			return nil, err
		}
		for k, vs := range cfg.Query {
			if q == nil {
				q = make(map[string][]string, len(cfg.Query))
			}
			q[k] = append(q[k], vs...)
		}
		cl.query = q
		cl.needsSerial = cl.needsSerial || sealed
		if op.HasBody {
			cl.body = req
		}
	} else if op.HasBody {
		return nil, typed.NilRequest(op.ID)
	}
	if op.Upload != nil {
		name, file, err := typed.UploadOf(req)
		if err != nil {
			return nil, err
		}
		ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(name)), ".")
		limit, ok := op.Upload[ext]
		if !ok { // without validation (WithoutValidation), the limits still hold
			return nil, &ValidationError{Operation: op.ID, Issues: []FieldIssue{{Field: "filename", Location: "body",
				Issue: "the file type must be one of " + typed.LimitsText(op.Upload)}}}
		}
		if cl.upload, err = newUploadBody(op.ID, name, file, limit, cfg.Meta); err != nil {
			return nil, err
		}
		cl.body, cl.query = nil, cfg.Query
	}
	if op.Stream {
		w, ok := out.(io.Writer)
		if !ok || w == nil {
			return nil, fmt.Errorf("%w: %s streams a file and needs an io.Writer", ErrInvalidRequest, op.ID)
		}
		cl.sink = w
		return c.do(ctx, cl)
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
