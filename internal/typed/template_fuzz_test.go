package typed

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/wxpaykit/wxpay/core"
)

// FuzzExpand checks the path-template expander: it never panics, and whatever it
// accepts is an absolute path whose parameter segments unescape to exactly the
// values given, so a value can never add, remove or rename a segment.
func FuzzExpand(f *testing.F) {
	f.Add("v3/marketing/membercard-open/cards/{card_id}/permission-tokens", "pbLatjvWOibDc5-TBnbUk1pD12o0")
	f.Add("/v3/cards/{card_id}/codes/{code}", "a/b?c#d%e")
	f.Add("v3/{x}", "..")
	f.Add("v3//{x}", "")
	f.Add("v3/{x}/{x}", "张三")
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		segs, err := ParseTemplate(tmpl)
		if err != nil {
			if !errors.Is(err, core.ErrInvalidRequest) {
				t.Fatalf("untyped template error: %v", err)
			}
			return
		}
		params := map[string]string{}
		for _, s := range segs {
			if s.Param != "" {
				params[s.Param] = value
			}
		}
		path, err := Expand(segs, params)
		if err != nil {
			if len(params) == 0 || !(value == "" || value == "." || value == ".." || strings.IndexFunc(value, isControl) >= 0) {
				t.Fatalf("expand(%q, %q) failed: %v", tmpl, value, err)
			}
			return
		}
		parts := strings.Split(path, "/")
		if parts[0] != "" || len(parts)-1 != len(segs) {
			t.Fatalf("expand(%q, %q) = %q: %d segments, want %d", tmpl, value, path, len(parts)-1, len(segs))
		}
		for i, s := range segs {
			got, err := url.PathUnescape(parts[i+1])
			if err != nil {
				t.Fatalf("segment %q does not unescape: %v", parts[i+1], err)
			}
			want := s.Lit
			if s.Param != "" {
				want = value
			}
			if got != want {
				t.Fatalf("segment %d = %q, want %q", i, got, want)
			}
		}
		if _, err := url.ParseRequestURI(path); err != nil {
			t.Fatalf("%q is not a valid request URI: %v", path, err)
		}
	})
}
