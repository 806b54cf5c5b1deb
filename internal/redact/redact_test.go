package redact

import (
	"testing"
	"unicode/utf8"
)

func TestClipKeepsUTF8(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"张三李四", 4, "张…"}, // 3-byte runes: cut back to a boundary
		{"张三李四", 2, "…"},
		{"", 0, ""},
		{"abc", -1, "…"},
	} {
		if got := Clip(tc.in, tc.n); got != tc.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestSnippet(t *testing.T) {
	got := Snippet([]byte("<html>\x00\x1b[31mbad\xff\n\tpage\x7f"), 100)
	if want := "<html>[31mbad\n\tpage"; got != want {
		t.Errorf("Snippet = %q, want %q", got, want)
	}
	if got := Snippet([]byte("张三李四"), 4); got != "张" {
		t.Errorf("Snippet cut = %q", got)
	}
}

func FuzzClip(f *testing.F) {
	f.Add("张三李四", 4)
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= 64
		got := Clip(s, n)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Clip(%q, %d) = %q is not valid UTF-8", s, n, got)
		}
		if len(s) > n && len(got) > max(n, 0)+len("…") {
			t.Fatalf("Clip(%q, %d) = %q is too long", s, n, got)
		}
	})
}
