package wxpay

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"time"
)

// logAttempt writes the per-attempt line.
func (c *Client) logAttempt(ctx context.Context, cl *call, base *url.URL, attempt int, start time.Time, resp *Response, err error) {
	if c.logger == nil {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.String("method", cl.method),
		slog.String("path", cl.path),
		slog.String("host", base.Host),
		slog.Int("attempt", attempt),
		slog.Duration("duration", time.Since(start)),
	)
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("request_id", resp.RequestID))
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
		var ae *APIError
		if errors.As(err, &ae) {
			attrs = append(attrs, slog.String("code", ae.Code))
		}
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.logger.LogAttrs(ctx, level, "wxpay request", attrs...)
}
