package core

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
