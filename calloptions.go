package wxpay

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/wxpaykit/wxpay/core"
	"github.com/wxpaykit/wxpay/internal/redact"
)

// PathParam fills the {name} segment of a Chain template. The value is escaped
// and keeps its case; an empty value is an error, never an empty segment.
func PathParam(name, value string) CallOption {
	return func(c *core.CallConfig) {
		if c.Params == nil {
			c.Params = make(map[string]string, 2)
		}
		if _, dup := c.Params[name]; dup {
			c.SetErr(fmt.Errorf("%w: path parameter %q given twice", ErrInvalidRequest, redact.Clip(name, 64)))
		}
		c.Params[name] = value
	}
}

// Query adds a query parameter. The query is percent-encoded (a '+' in a Base64
// value is sent as %2B) and signed exactly as sent.
func Query(key, value string) CallOption {
	return func(c *core.CallConfig) {
		if c.Query == nil {
			c.Query = url.Values{}
		}
		c.Query.Add(key, value)
	}
}

// QueryValues adds every value in q.
func QueryValues(q url.Values) CallOption {
	return func(c *core.CallConfig) {
		if c.Query == nil {
			c.Query = url.Values{}
		}
		for k, vs := range q {
			c.Query[k] = append(c.Query[k], vs...)
		}
	}
}

// Header adds a request header. Authorization cannot be set; Wechatpay-Serial is
// set automatically when a body holds Sensitive values.
func Header(key, value string) CallOption {
	return func(c *core.CallConfig) {
		if c.Header == nil {
			c.Header = http.Header{}
		}
		c.Header[key] = append(c.Header[key], value)
	}
}

// Idempotent marks a Chain call as safe to repeat after an unknown outcome (a
// 5xx, a dropped connection), typically because its body carries an idempotency
// key. Typed calls know this from the spec.
func Idempotent() CallOption {
	return func(c *core.CallConfig) { c.Idempotent = true }
}
