package main

import (
	"bytes"
	"image/png"
	"strconv"
	"testing"
)

// An upload example's content is rendered as a Go literal of the same bytes,
// and the PNG sent for a .png filename decodes.
func TestExampleFileContent(t *testing.T) {
	for _, content := range []string{samplePNG(), "\x00\x00\x00\x18ftypmp42", `quote " and \ back`, "中文\r\n"} {
		lit := bytesLiteral(content)
		got, err := strconv.Unquote(lit)
		if err != nil || got != content {
			t.Errorf("bytesLiteral(%q) = %s: unquotes to %q, %v", content, lit, got, err)
		}
	}
	img, err := png.Decode(bytes.NewReader([]byte(samplePNG())))
	if err != nil || img.Bounds().Dx() != 16 {
		t.Fatalf("sample PNG: %v, %v", img, err)
	}
}
