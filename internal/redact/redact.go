// Package redact keeps secrets and untrusted values out of what the SDK prints:
// the placeholder shown instead of a secret, the marker of a sealed (encrypted)
// Sensitive value, and the one helper that shortens untrusted text for an
// error message without breaking UTF-8.
package redact

import (
	"strings"
	"unicode/utf8"
)

// Placeholder is printed instead of a secret or personal value.
const Placeholder = "[REDACTED]"

// SealedPrefix marks a Sensitive value whose plaintext has been replaced by its
// ciphertext inside the client's private copy of a request body. NUL cannot
// appear in the JSON strings WeChat Pay accepts, so it cannot collide with user
// data.
const SealedPrefix = "\x00wxpay-sealed\x00"

// Clip shortens s to at most n bytes, cut at a character boundary, and marks a
// cut with "…". Values echoed in errors and answers stay valid UTF-8 and short.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Cut(s, n) + "…"
}

// Cut keeps at most n bytes of s, cut at a character boundary.
func Cut[T ~string | ~[]byte](s T, n int) T {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Snippet keeps the start of an unexpected body (an HTML error page, say) for a
// diagnosis: at most n bytes, valid UTF-8, control characters other than
// newline and tab removed.
func Snippet(b []byte, n int) string {
	s := strings.ToValidUTF8(string(Cut(b, n)), "")
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
