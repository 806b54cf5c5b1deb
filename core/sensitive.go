package core

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/wxpaykit/wxpay/internal/redact"
)

// Sensitive is plaintext personal data that WeChat Pay requires encrypted on the
// wire (a name, an ID-card number, a phone number). Put it anywhere in a request
// body — a typed request field, a struct or map passed to Chain — and the client
// encrypts it with the configured WeChat Pay key (RSAES-OAEP) and sets
// Wechatpay-Serial. It never prints: fmt, slog and json show no plaintext.
//
//	client.Chain("v3/payroll-card/tokens").Post(ctx, map[string]any{
//		"user_name": wxpay.Sensitive("张三"),
//		…
//	})
type Sensitive string

// ErrSensitiveUnsealed is returned when a Sensitive value is JSON-encoded outside
// a request made by a Client (e.g. when logging a request as JSON): the plaintext
// is withheld rather than written out.
var ErrSensitiveUnsealed = errors.New("wxpay: a Sensitive value is only JSON-encoded (encrypted) by a wxpay.Client; plaintext withheld")

// String returns [REDACTED] (or "" for an empty value), never the plaintext.
func (s Sensitive) String() string {
	if s == "" {
		return ""
	}
	return redact.Placeholder
}

// Format implements fmt.Formatter: every verb prints the String form.
func (s Sensitive) Format(f fmt.State, verb rune) { formatRedacted(f, verb, "Sensitive", s.String()) }

// LogValue implements slog.LogValuer.
func (s Sensitive) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON emits the ciphertext inside a client request and fails elsewhere.
// An empty value is sent as "" without encryption, as the official SDK does.
func (s Sensitive) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte(`""`), nil
	}
	ct, ok := strings.CutPrefix(string(s), redact.SealedPrefix)
	if !ok {
		return nil, ErrSensitiveUnsealed
	}
	// Base64 needs no JSON escaping.
	b := make([]byte, 0, len(ct)+2)
	b = append(b, '"')
	b = append(b, ct...)
	return append(b, '"'), nil
}

// Personal is plaintext personal data that the API carries in clear (for
// example what a user typed into a sign-up form). It marshals as an ordinary
// string but never prints: fmt and slog show [REDACTED].
type Personal string

// String returns [REDACTED] (or "" for an empty value).
func (p Personal) String() string { return Sensitive(p).String() }

// Format implements fmt.Formatter.
func (p Personal) Format(f fmt.State, verb rune) { formatRedacted(f, verb, "Personal", p.String()) }

// LogValue implements slog.LogValuer.
func (p Personal) LogValue() slog.Value { return slog.StringValue(p.String()) }

// Encrypted is a Base64 RSAES-OAEP ciphertext that WeChat Pay produced with the
// merchant API certificate's public key (e.g. phone_number in user-card responses
// and notifications). Open it with a Decrypter such as *wxpay.Client.
type Encrypted string

// String returns [ENCRYPTED]: the ciphertext is not secret, but it is personal
// data in waiting and has no place in logs.
func (e Encrypted) String() string {
	if e == "" {
		return ""
	}
	return "[ENCRYPTED]"
}

// Format implements fmt.Formatter.
func (e Encrypted) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, e.String()) }

// LogValue implements slog.LogValuer.
func (e Encrypted) LogValue() slog.Value { return slog.StringValue(e.String()) }

// Decrypter opens Encrypted response fields; *wxpay.Client is one.
type Decrypter interface {
	Decrypt(Encrypted) (Sensitive, error)
}

// DecryptAll opens every value of a list with d, for the generated Decrypt…
// helpers of list fields.
func DecryptAll(d Decrypter, in []Encrypted) ([]Sensitive, error) {
	if in == nil {
		return nil, nil
	}
	out := make([]Sensitive, len(in))
	for i, e := range in {
		s, err := d.Decrypt(e)
		if err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		out[i] = s
	}
	return out, nil
}

// formatRedacted prints a redacted value, as wxpay.T("…") for %#v.
func formatRedacted(f fmt.State, verb rune, typeName, shown string) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, "wxpay."+typeName+`("`+shown+`")`)
		return
	}
	_, _ = io.WriteString(f, shown)
}
