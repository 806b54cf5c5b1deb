package wxpay

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/wxpaykit/wxpay/internal/redact"
)

// Download fetches a file WeChat Pay handed out as a download_url (a bill's,
// for example) and copies it into w. The request is signed like any other;
// the answer is unsigned by design, so it is not verified — check the file
// against the hash that came with the URL (package apiv3/bill does). The file
// streams through bounded memory and is capped by WithMaxDownloadBytes. The
// URL must point at the client's own domain; a failure after the first byte
// reached w is not retried, and w then holds a part to discard.
func (c *Client) Download(ctx context.Context, downloadURL string, w io.Writer) (*Response, error) {
	if w == nil {
		return nil, fmt.Errorf("%w: Download needs an io.Writer", ErrInvalidRequest)
	}
	u, err := url.Parse(downloadURL)
	if err != nil {
		return nil, fmt.Errorf("%w: download URL %q: %v", ErrInvalidRequest, redact.Clip(downloadURL, 128), err)
	}
	path, ok := c.domains.relative(u)
	if !ok || !strings.HasPrefix(path, "/v3/") {
		return nil, fmt.Errorf("%w: download URL %q is not an APIv3 URL of %s", ErrInvalidRequest, redact.Clip(downloadURL, 128), c.domains.primary)
	}
	return c.do(ctx, &call{method: http.MethodGet, path: path, rawQuery: u.RawQuery, idempotent: true, sink: w})
}
