package wxpay

import (
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseAPIError: any error body yields an *APIError with the status, a valid
// UTF-8 message, and a bounded snippet; it never panics.
func FuzzParseAPIError(f *testing.F) {
	f.Add(400, []byte(`{"code":"PARAM_ERROR","message":"参数错误","detail":{"field":"/a","value":1,"issue":"x","location":"body"}}`))
	f.Add(401, []byte(`{"code":"SIGN_ERROR","message":"x","detail":{"detail":{"issue":"sign not match"}}}`))
	f.Add(502, []byte("<html>bad gateway</html>"))
	f.Add(500, []byte(`{"code":`))
	f.Add(404, []byte(`{"code":"X","detail":null}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseAPIError(status, http.Header{"Request-Id": {"r"}}, body)
		if e.StatusCode != status || e.RequestID != "r" {
			t.Fatalf("%+v", e)
		}
		if len(e.Body) > maxErrorSnippet || !utf8.ValidString(e.Body) {
			t.Fatalf("snippet %q", e.Body)
		}
		msg := e.Error()
		if !strings.HasPrefix(msg, "wxpay: ") {
			t.Fatalf("Error() = %q", msg)
		}
	})
}
