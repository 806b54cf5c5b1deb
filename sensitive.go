package wxpay

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
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

// sealedPrefix marks a Sensitive whose value has been replaced by its ciphertext
// inside the client's private copy of a request body. NUL cannot appear in the
// JSON strings WeChat Pay accepts, so it cannot collide with user data.
const sealedPrefix = "\x00wxpay-sealed\x00"

// ErrSensitiveUnsealed is returned when a Sensitive value is JSON-encoded outside
// a request made by a Client (e.g. when logging a request as JSON): the plaintext
// is withheld rather than written out.
var ErrSensitiveUnsealed = errors.New("wxpay: a Sensitive value is only JSON-encoded (encrypted) by a wxpay.Client; plaintext withheld")

// String returns [REDACTED] (or "" for an empty value), never the plaintext.
func (s Sensitive) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Format implements fmt.Formatter: every verb prints the String form.
func (s Sensitive) Format(f fmt.State, verb rune) { formatRedacted(f, verb, "Sensitive", s.String()) }

// formatRedacted prints a redacted value, as wxpay.T("…") for %#v.
func formatRedacted(f fmt.State, verb rune, typeName, shown string) {
	if verb == 'v' && f.Flag('#') {
		_, _ = io.WriteString(f, "wxpay."+typeName+`("`+shown+`")`)
		return
	}
	_, _ = io.WriteString(f, shown)
}

// LogValue implements slog.LogValuer.
func (s Sensitive) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON emits the ciphertext inside a client request and fails elsewhere.
// An empty value is sent as "" without encryption, as the official SDK does.
func (s Sensitive) MarshalJSON() ([]byte, error) {
	if s == "" {
		return []byte(`""`), nil
	}
	ct, ok := strings.CutPrefix(string(s), sealedPrefix)
	if !ok {
		return nil, ErrSensitiveUnsealed
	}
	// Base64 needs no JSON escaping.
	b := make([]byte, 0, len(ct)+2)
	b = append(b, '"')
	b = append(b, ct...)
	return append(b, '"'), nil
}

// Encrypted is a Base64 RSAES-OAEP ciphertext that WeChat Pay produced with the
// merchant API certificate's public key (e.g. phone_number in user-card responses
// and notifications). Decrypt it with Client.Decrypt.
type Encrypted string

var sensitiveType = reflect.TypeOf(Sensitive(""))

// maxSealDepth bounds the walk so a cyclic value cannot hang a request.
const maxSealDepth = 64

// sealer replaces every non-empty Sensitive in a value by its sealed ciphertext,
// copying (never mutating) the containers on the way.
type sealer struct {
	encrypt func(plaintext string) (string, error)
	types   *sync.Map // reflect.Type → bool: can the type hold a Sensitive?
	sealed  int
}

// seal returns v unchanged when it holds no Sensitive value.
func (s *sealer) seal(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	rv := reflect.ValueOf(v)
	if !s.mayHold(rv.Type()) {
		return v, nil
	}
	out, changed, err := s.walk(rv, 0)
	if err != nil || !changed {
		return v, err
	}
	return out.Interface(), nil
}

func (s *sealer) walk(v reflect.Value, depth int) (reflect.Value, bool, error) {
	if depth > maxSealDepth {
		return v, false, fmt.Errorf("%w: request body nests deeper than %d levels (cyclic value?)", ErrInvalidRequest, maxSealDepth)
	}
	if v.Type() == sensitiveType {
		plain := v.String()
		if plain == "" {
			return v, false, nil
		}
		if strings.HasPrefix(plain, sealedPrefix) {
			return v, false, fmt.Errorf("%w: Sensitive value contains a NUL byte", ErrInvalidRequest)
		}
		ct, err := s.encrypt(plain)
		if err != nil {
			return v, false, err
		}
		s.sealed++
		return reflect.ValueOf(Sensitive(sealedPrefix + ct)).Convert(v.Type()), true, nil
	}
	if !s.mayHold(v.Type()) {
		return v, false, nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v, false, nil
		}
		elem, changed, err := s.walk(v.Elem(), depth+1)
		if err != nil || !changed {
			return v, false, err
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(elem)
		return p, true, nil
	case reflect.Interface:
		if v.IsNil() {
			return v, false, nil
		}
		elem, changed, err := s.walk(v.Elem(), depth+1)
		if err != nil || !changed {
			return v, false, err
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(elem)
		return out, true, nil
	case reflect.Struct:
		var out reflect.Value
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous || f.Tag.Get("json") == "-" {
				continue
			}
			nv, changed, err := s.walk(v.Field(i), depth+1)
			if err != nil {
				return v, false, err
			}
			if !changed {
				continue
			}
			if !out.IsValid() {
				out = reflect.New(t).Elem()
				out.Set(v)
			}
			if !out.Field(i).CanSet() {
				return v, false, fmt.Errorf("%w: cannot encrypt a Sensitive value inside unexported embedded field %s.%s", ErrInvalidRequest, t, f.Name)
			}
			out.Field(i).Set(nv)
		}
		if out.IsValid() {
			return out, true, nil
		}
		return v, false, nil
	case reflect.Map:
		if v.IsNil() {
			return v, false, nil
		}
		var out reflect.Value
		it := v.MapRange()
		for it.Next() {
			nv, changed, err := s.walk(it.Value(), depth+1)
			if err != nil {
				return v, false, err
			}
			if !changed {
				continue
			}
			if !out.IsValid() {
				out = reflect.MakeMapWithSize(v.Type(), v.Len())
				cp := v.MapRange()
				for cp.Next() {
					out.SetMapIndex(cp.Key(), cp.Value())
				}
			}
			out.SetMapIndex(it.Key(), nv)
		}
		if out.IsValid() {
			return out, true, nil
		}
		return v, false, nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return v, false, nil
		}
		var out reflect.Value
		for i := 0; i < v.Len(); i++ {
			nv, changed, err := s.walk(v.Index(i), depth+1)
			if err != nil {
				return v, false, err
			}
			if !changed {
				continue
			}
			if !out.IsValid() {
				if v.Kind() == reflect.Slice {
					out = reflect.MakeSlice(v.Type(), v.Len(), v.Len())
				} else {
					out = reflect.New(v.Type()).Elem()
				}
				reflect.Copy(out, v)
			}
			out.Index(i).Set(nv)
		}
		if out.IsValid() {
			return out, true, nil
		}
		return v, false, nil
	}
	return v, false, nil
}

// mayHold reports whether a value of type t can contain a Sensitive. Interfaces
// can hold anything; the answer is cached per type.
func (s *sealer) mayHold(t reflect.Type) bool {
	if r, ok := s.types.Load(t); ok {
		return r.(bool)
	}
	r := typeMayHold(t, map[reflect.Type]bool{})
	s.types.Store(t, r)
	return r
}

func typeMayHold(t reflect.Type, visiting map[reflect.Type]bool) bool {
	if t == sensitiveType {
		return true
	}
	if visiting[t] {
		return false // recursion: the type's other fields decide
	}
	visiting[t] = true
	defer delete(visiting, t)
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		return typeMayHold(t.Elem(), visiting)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if (f.IsExported() || f.Anonymous) && typeMayHold(f.Type, visiting) {
				return true
			}
		}
	}
	return false
}
