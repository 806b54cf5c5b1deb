package wxpay

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Response is a verified answer from WeChat Pay: status, headers and the raw body
// exactly as received (the signature covers these bytes).
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	RequestID  string // Request-ID, quote it when asking WeChat Pay support
	Method     string // of the request
	Path       string // of the request, escaped, without the query
	Attempts   int    // attempts made, retries included
}

// ErrNoBody is returned by Decode when the response has no body (e.g. 204).
var ErrNoBody = errors.New("wxpay: response has no body")

// Decode unmarshals the JSON body into v. Unknown fields are ignored, as the
// protocol requires of clients.
func (r *Response) Decode(v any) error {
	if len(r.Body) == 0 {
		return ErrNoBody
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("wxpay: decoding %s %s response: %w", r.Method, r.Path, err)
	}
	return nil
}

// Future is the result of an asynchronous call. Wait blocks for it; Done can be
// used in a select. Cancelling the call's context makes the call, and so the
// future, finish with the context's error.
type Future[T any] struct {
	done chan struct{}
	val  T
	resp *Response
	err  error
}

func goFuture[T any](fn func() (T, *Response, error)) *Future[T] {
	f := &Future[T]{done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.val, f.resp, f.err = fn()
	}()
	return f
}

// Done is closed when the call has finished.
func (f *Future[T]) Done() <-chan struct{} { return f.done }

// Wait blocks until the call has finished and returns its result.
func (f *Future[T]) Wait() (T, error) {
	<-f.done
	return f.val, f.err
}

// Response returns the raw response once the call has finished (nil before, and
// nil when no HTTP answer was received).
func (f *Future[T]) Response() *Response {
	select {
	case <-f.done:
		return f.resp
	default:
		return nil
	}
}
