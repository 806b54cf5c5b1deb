// Package typed is the runtime of the generated API packages (apiv3/…): the
// operation descriptors they declare, the Invoker that runs them (the client),
// request validation, query encoding and paging. It is the one seam between the
// client and the generated code: generated packages import it and package core,
// never package wxpay, so the client can hold the whole typed tree as
// client.V3 without an import cycle.
package typed

import (
	"context"
	"iter"

	"github.com/wxpaykit/wxpay/core"
)

// Operation describes one typed operation; the generator writes one per spec
// entry.
type Operation struct {
	ID     string
	Method string
	Segs   []Segment // the path template, /v3 included
	// HasBody: the request has a JSON body (otherwise only query parameters).
	HasBody bool
	// Encrypts: the operation has encrypted fields, so Wechatpay-Serial is
	// required even when every encrypted field happens to be empty.
	Encrypts bool
	// Idempotent: safe to retry after an unknown outcome.
	Idempotent bool
	// Stream: the answer is a file, unsigned by design, that the invoker
	// copies into the io.Writer passed as out.
	Stream bool
	// Upload: the request is a media upload (multipart/form-data, signed over
	// its meta part); the map gives each accepted extension's largest size.
	Upload map[string]int64
}

// Invoker runs typed operations; the client implements it. params are the path
// parameter values in template order; req is the request (nil for operations
// without one); out receives the decoded answer (nil for operations without a
// JSON answer).
type Invoker interface {
	Invoke(ctx context.Context, op *Operation, params []string, req any, out any, opts []core.CallOption) (*core.Response, error)
}

// Call runs an operation that answers with a JSON body decoded into a new T.
func Call[T any](ctx context.Context, inv Invoker, op *Operation, params []string, req any, opts []core.CallOption) (*T, *core.Response, error) {
	out := new(T)
	resp, err := inv.Invoke(ctx, op, params, req, out, opts)
	if err != nil {
		return nil, resp, err
	}
	return out, resp, nil
}

// NilRequest is the error of a typed call given a nil request.
func NilRequest(op string) error {
	return &core.ValidationError{Operation: op, Issues: []core.FieldIssue{{Field: "request", Location: "call", Issue: "is nil"}}}
}

// Pages iterates over the items of a paged list. fetch returns the items at an
// offset and the total count; the offset counts items, or pages when byPage.
// Iteration stops after the last item of the total, at an empty page, when the
// consumer stops, or at the first error — which is yielded once, with a nil
// item, ctx's error included.
func Pages[T any](ctx context.Context, byPage bool, fetch func(ctx context.Context, offset int64) ([]T, int64, error)) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		var offset, seen int64
		for {
			if err := ctx.Err(); err != nil {
				yield(nil, err)
				return
			}
			items, total, err := fetch(ctx, offset)
			if err != nil {
				yield(nil, err)
				return
			}
			for i := range items {
				if !yield(&items[i], nil) {
					return
				}
			}
			seen += int64(len(items))
			if byPage {
				offset++
			} else {
				offset = seen
			}
			if len(items) == 0 || seen >= total {
				return
			}
		}
	}
}
