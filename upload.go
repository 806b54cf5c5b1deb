package wxpay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path/filepath"
	"strings"

	"github.com/wxpaykit/wxpay/core"
	"github.com/wxpaykit/wxpay/internal/redact"
	"github.com/wxpaykit/wxpay/internal/typed"
)

// Media uploads (protocol §10) are multipart/form-data with two parts in this
// order: meta, the JSON {"filename", "sha256"}, and file, the bytes. The
// request is signed over the meta JSON, not the multipart body. The file is
// checked (type, size, not empty) and hashed before anything is sent; it is
// held in memory at most once: a reader that can seek (an *os.File) is read
// twice instead — to hash, then to send, from the same start on every attempt.

// DefaultMaxUploadBytes bounds a file sent through Endpoint.Upload, whose
// endpoint's own limit the client does not know.
const DefaultMaxUploadBytes = 32 << 20

// UploadMeta adds a member to the meta JSON of an upload, for the APIs whose
// meta carries more than filename and sha256 (e.g. bank_type).
func UploadMeta(key string, value any) CallOption {
	return func(c *core.CallConfig) {
		if key == "filename" || key == "sha256" {
			c.SetErr(fmt.Errorf("%w: UploadMeta(%q): the client sets filename and sha256", ErrInvalidRequest, key))
			return
		}
		if c.Meta == nil {
			c.Meta = map[string]any{}
		}
		c.Meta[key] = value
	}
}

// Upload sends a file to an upload endpoint of the template (e.g.
// "v3/merchant/media/upload"), the Go form of the reference SDK's media
// helper. The file's extension names its content type; it is refused before
// sending when empty or larger than DefaultMaxUploadBytes. The typed API
// (client.V3.Merchant.Media.Upload.Post, …) also checks each endpoint's own
// types and sizes.
func (e *Endpoint) Upload(ctx context.Context, filename string, file io.Reader, opts ...CallOption) (*Response, error) {
	cfg, path, err := e.resolve(opts)
	if err != nil {
		return nil, err
	}
	if filename == "" || file == nil {
		return nil, fmt.Errorf("%w: Upload needs a file name and a reader", ErrInvalidRequest)
	}
	ub, err := newUploadBody("Upload", filename, file, DefaultMaxUploadBytes, cfg.Meta)
	if err != nil {
		return nil, err
	}
	return e.c.do(ctx, &call{method: http.MethodPost, path: path, query: cfg.Query, header: cfg.Header,
		idempotent: true, upload: ub})
}

// uploadBody is a prepared upload.
type uploadBody struct {
	meta        []byte // the signed meta JSON
	contentType string // multipart/form-data; boundary=…
	length      int64
	head, tail  []byte
	// file returns a reader of the file's bytes from their start, for an
	// attempt; readErr records a failure of the caller's reader while sending.
	file    func() (io.Reader, error)
	readErr error
}

// open returns the whole multipart body for one attempt.
func (u *uploadBody) open() (io.ReadCloser, error) {
	f, err := u.file()
	if err != nil {
		return nil, err
	}
	return io.NopCloser(io.MultiReader(bytes.NewReader(u.head), &recordingReader{r: f, u: u}, bytes.NewReader(u.tail))), nil
}

// recordingReader notes a failure of the caller's reader, so that it is
// reported as the caller's (ErrInvalidRequest), not as a network failure.
type recordingReader struct {
	r io.Reader
	u *uploadBody
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.u.readErr == nil {
		r.u.readErr = err
	}
	return n, err
}

// uploadTypes names the content type of the file part by extension; others
// are application/octet-stream.
var uploadTypes = map[string]string{
	"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "bmp": "image/bmp", "gif": "image/gif",
	"pdf": "application/pdf",
	"avi": "video/x-msvideo", "wmv": "video/x-ms-wmv", "mpeg": "video/mpeg", "mp4": "video/mp4", "mov": "video/quicktime",
	"mkv": "video/x-matroska", "flv": "video/x-flv", "f4v": "video/x-f4v", "m4v": "video/x-m4v", "rmvb": "application/vnd.rn-realmedia-vbr",
}

// newUploadBody checks, hashes and frames a file of at most limit bytes.
func newUploadBody(op, filename string, file io.Reader, limit int64, extra map[string]any) (*uploadBody, error) {
	issue := func(text string) error {
		return &ValidationError{Operation: op, Issues: []FieldIssue{{Field: "file", Location: "body", Issue: text}}}
	}
	if filename == "" || file == nil {
		return nil, issue("needs a file name and a reader")
	}
	if err := typed.CheckText("the file name", filename); err != nil {
		return nil, err
	}
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(filename)), ".")
	readFail := func(err error) error {
		return fmt.Errorf("%w: %s: reading %s: %w", ErrInvalidRequest, op, redact.Clip(filename, 64), err)
	}
	h := sha256.New()
	u := &uploadBody{}
	var size int64
	if rs, ok := file.(io.ReadSeeker); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return nil, readFail(err)
		}
		if size, err = io.Copy(h, io.LimitReader(rs, limit+1)); err != nil {
			return nil, readFail(err)
		}
		u.file = func() (io.Reader, error) {
			if _, err := rs.Seek(start, io.SeekStart); err != nil {
				return nil, readFail(err)
			}
			return io.LimitReader(rs, size), nil
		}
	} else {
		data, err := io.ReadAll(io.LimitReader(file, limit+1))
		if err != nil {
			return nil, readFail(err)
		}
		size = int64(len(data))
		h.Write(data)
		u.file = func() (io.Reader, error) { return bytes.NewReader(data), nil }
	}
	switch {
	case size > limit:
		return nil, issue(fmt.Sprintf("%q is larger than %s, the limit of .%s files here", redact.Clip(filename, 64), sizeText(limit), ext))
	case size == 0:
		return nil, issue(fmt.Sprintf("%q is empty", redact.Clip(filename, 64)))
	}
	meta := map[string]any{"filename": filename, "sha256": hex.EncodeToString(h.Sum(nil))}
	for k, v := range extra {
		meta[k] = v
	}
	var mb bytes.Buffer
	enc := json.NewEncoder(&mb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(meta); err != nil { // keys sorted: filename before sha256, as the SDKs send them
		return nil, fmt.Errorf("%w: %s: meta: %w", ErrInvalidRequest, op, err)
	}
	u.meta = bytes.TrimSuffix(mb.Bytes(), []byte("\n"))

	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	mh := textproto.MIMEHeader{}
	mh.Set("Content-Disposition", `form-data; name="meta"`)
	mh.Set("Content-Type", "application/json")
	part, err := w.CreatePart(mh)
	if err != nil {
		return nil, err
	}
	part.Write(u.meta)
	fh := textproto.MIMEHeader{}
	fh.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`, quoteEscaper.Replace(filename)))
	ct := uploadTypes[ext]
	if ct == "" {
		ct = "application/octet-stream"
	}
	fh.Set("Content-Type", ct)
	if _, err := w.CreatePart(fh); err != nil {
		return nil, err
	}
	u.head = bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := w.Close(); err != nil {
		return nil, err
	}
	u.tail = bytes.Clone(buf.Bytes())
	u.contentType = w.FormDataContentType()
	u.length = int64(len(u.head)) + size + int64(len(u.tail))
	return u, nil
}

var quoteEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

// uploadFailure turns a failed attempt whose cause was the caller's own reader
// into an ErrInvalidRequest, which is not retried.
func uploadFailure(u *uploadBody, err error) error {
	if u == nil || u.readErr == nil || err == nil {
		return err
	}
	var te *TransportError
	if errors.As(err, &te) {
		return fmt.Errorf("%w: reading the file while sending: %w", ErrInvalidRequest, u.readErr)
	}
	return err
}

// sizeText writes a size as the documentation does: 2 MB, 7.5 MB, 512 KB.
func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		s := fmt.Sprintf("%.1f", float64(n)/(1<<20))
		return strings.TrimSuffix(s, ".0") + " MB"
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
