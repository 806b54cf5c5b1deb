package emulator

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// Default read limits (see the package doc, Limits).
const (
	// DefaultReadTimeout bounds the request line and headers, and again the body.
	DefaultReadTimeout = 5 * time.Second
	// DefaultIdleTimeout bounds how long a kept-alive connection may wait for
	// its next request.
	DefaultIdleTimeout = 60 * time.Second
	// MaxHeaderBytes bounds the request line and headers, about what a front
	// end's header buffers hold (nginx: 4 × 8 KiB). A signed request's
	// headers are well under 1 KiB.
	MaxHeaderBytes = 32 << 10
)

// HTTPServer returns an *http.Server serving e with every read bounded: the
// request line and headers within the read timeout (ReadHeaderTimeout) and
// MaxHeaderBytes, the body within the read timeout again (ServeHTTP's own
// deadline), and a kept-alive connection closed after the idle timeout
// (IdleTimeout). Serve it on any listener; `wxpay emulator`, the CLI demo and
// wxpaytest all do.
func (e *Emulator) HTTPServer() *http.Server {
	return &http.Server{
		Handler:           e,
		ReadHeaderTimeout: e.readTimeout,
		IdleTimeout:       e.idleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
		// ReadTimeout stays zero: ServeHTTP bounds the body itself, so that it
		// can answer a slow body and lift the deadline once the body is in.
	}
}

// boundReads sets the read deadline of the request's connection, before
// anything is read: it bounds the body, and also what net/http drains of an
// unread body after an early answer. Deadlines are wall-clock I/O, hence
// time.Now and not the emulator's clock. A ResponseWriter without deadlines
// (a ResponseRecorder) has nothing to bound.
func (e *Emulator) boundReads(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(e.readTimeout))
}

// readBody reads the whole body under the deadline of boundReads, then lifts
// the deadline. A request without a body has net/http reading in the
// background already, to notice the client leaving; that read must not time
// out, which would cancel this request and every later one on the connection
// (cutting a Latency fault short). With a body, net/http lifts the deadline
// itself as the body ends.
func (e *Emulator) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, *answer) {
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	raw, err := io.ReadAll(r.Body)
	if err == nil {
		_ = http.NewResponseController(w).SetReadDeadline(time.Time{})
		return raw, nil
	}
	var mbe *http.MaxBytesError
	var a answer
	switch {
	case errors.As(err, &mbe):
		a = invalidRequest(fmt.Sprintf("请求体过大，不能超过%d字节", limit))
	case errors.Is(err, os.ErrDeadlineExceeded):
		// 408 with Connection: close is RFC 9110's answer for a request not
		// complete in time, and what HAProxy, Envoy and Apache send; nginx,
		// the real service's front end, closes without a word (408 in its log
		// only). A clear answer helps whoever debugs the client; either way the
		// connection closes, since the unread rest must not be taken for a
		// request.
		w.Header().Set("Connection", "close")
		a = apiError(http.StatusRequestTimeout, "INVALID_REQUEST", fmt.Sprintf("请求体读取超时，须在%v内发送完毕", e.readTimeout), nil)
	default:
		a = invalidRequest("请求体读取失败")
	}
	return nil, &a
}
