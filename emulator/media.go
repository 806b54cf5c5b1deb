package emulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/wxpaykit/wxpay/internal/apispec"
)

// Media uploads (protocol §10): multipart/form-data with the meta part
// ({"filename","sha256"}, which the signature covers) before the file part.
// The emulator checks the parts, the file's type and size against the
// endpoint's limits, and its SHA-256 against meta; it keeps what it received
// and serves marketing images back at the media_url it returned
// (/_emulator/media/…), the only image URLs the card templates accept.

// mediaPrefix is where stored media are served, unauthenticated, like a CDN.
const mediaPrefix = controlPrefix + "media/"

// maxStoredMedia bounds the bytes the emulator keeps; the oldest go first.
const maxStoredMedia = 256 << 20

// upload is the parsed body of an upload request.
type upload struct {
	meta     []byte // the meta part, exactly as received: the signed bytes
	file     []byte
	hasFile  bool
	fileType string // the file part's Content-Type
	metaLast bool   // the meta part came after the file part
}

// mediaItem is a stored upload.
type mediaItem struct {
	name        string // its path under mediaPrefix, or its media_id
	mchID       string
	contentType string
	data        []byte
	marketing   bool // an image for marketing APIs (card logos and backgrounds)
}

type mediaKey struct{ mchID, opID, sha string }

type mediaStore struct {
	items map[string]*mediaItem
	order []string
	dedup map[mediaKey]string
	bytes int64
}

func (m *mediaStore) add(it *mediaItem, k mediaKey) {
	if m.items == nil {
		m.items, m.dedup = map[string]*mediaItem{}, map[mediaKey]string{}
	}
	m.items[it.name] = it
	m.order = append(m.order, it.name)
	m.dedup[k] = it.name
	m.bytes += int64(len(it.data))
	for m.bytes > maxStoredMedia && len(m.order) > 1 {
		old := m.items[m.order[0]]
		m.order = m.order[1:]
		if old != nil {
			delete(m.items, old.name)
			m.bytes -= int64(len(old.data))
		}
	}
}

// uploadBodyLimit is the largest body an upload operation takes: its largest
// file and room for the meta part and the framing.
func uploadBodyLimit(op *apispec.Operation) int64 {
	var largest int64
	for _, n := range op.Upload {
		largest = max(largest, n)
	}
	return largest + 64<<10
}

// missingPart is the observed answer to an upload without its file part.
func missingPart(part, label string) answer {
	return apiError(http.StatusBadRequest, "PARAM_ERROR", "输入源“/body/"+part+"”映射到字段“"+label+"”必填性规则校验失败，此字段为必填项",
		map[string]any{"field": part, "location": "body", "issue": "is required"})
}

// parseUpload splits a multipart body into its parts, bounded by the body
// (already read within the operation's limit) and by a handful of parts.
func parseUpload(r *http.Request, raw []byte) (*upload, *answer) {
	fail := func(a answer) (*upload, *answer) { return nil, &a }
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return fail(invalidRequest("Content-Type必须为multipart/form-data"))
	}
	mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	up := &upload{}
	var haveMeta bool
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil || i >= 8 {
			return fail(paramError("body", "multipart", "", "the body is not well-formed multipart/form-data"))
		}
		content, err := io.ReadAll(p)
		if err != nil {
			return fail(paramError("body", "multipart", "", "a part does not read"))
		}
		switch p.FormName() {
		case "meta":
			if haveMeta {
				return fail(paramError("body", "meta", "", "meta is given twice"))
			}
			haveMeta, up.meta = true, content
			up.metaLast = up.hasFile
		case "file":
			if up.hasFile {
				return fail(paramError("body", "file", "", "file is given twice"))
			}
			up.hasFile, up.file, up.fileType = true, content, p.Header.Get("Content-Type")
		}
	}
	if !haveMeta {
		return fail(missingPart("meta", "媒体文件元信息"))
	}
	return up, nil
}

// uploadMedia answers the four upload operations.
func (e *Emulator) uploadMedia(r *request) answer {
	up := r.upload
	if up == nil { // not multipart: authenticated over the raw body, refused here
		return invalidRequest("Content-Type必须为multipart/form-data")
	}
	var meta struct {
		Filename *string `json:"filename"`
		SHA256   *string `json:"sha256"`
	}
	dec := json.NewDecoder(bytes.NewReader(up.meta))
	if err := dec.Decode(&meta); err != nil {
		return paramError("body", "/meta", clip(string(up.meta), 64), "meta must be a JSON object {\"filename\", \"sha256\"}")
	}
	switch {
	case meta.Filename == nil || *meta.Filename == "":
		return paramError("body", "/meta/filename", "", "is required")
	case len([]rune(*meta.Filename)) > 128:
		return paramError("body", "/meta/filename", clip(*meta.Filename, 64), "is longer than 128 characters")
	case meta.SHA256 == nil || len(*meta.SHA256) != 64 || !isHex(*meta.SHA256):
		return paramError("body", "/meta/sha256", "", "must be the 64 hex digits of the file's SHA-256")
	case !up.hasFile:
		return missingPart("file", "图片文件")
	case up.metaLast:
		return paramError("body", "meta", "", "the meta part must come before the file part")
	}
	ext := strings.TrimPrefix(strings.ToLower(path.Ext(*meta.Filename)), ".")
	limit, known := r.op.Upload[ext]
	sum := sha256.Sum256(up.file)
	switch {
	case !known:
		return fieldError("文件格式不支持", "body", "/meta/filename", clip(*meta.Filename, 64), "the file type must be one of "+limitsText(r.op.Upload))
	case len(up.file) == 0:
		return fieldError("文件不能为空", "body", "file", "", "is empty")
	case int64(len(up.file)) > limit:
		return fieldError("文件大小超过限制", "body", "file", fmt.Sprint(len(up.file)), fmt.Sprintf("is larger than %d bytes, the limit of .%s files", limit, ext))
	case !strings.EqualFold(hex.EncodeToString(sum[:]), *meta.SHA256):
		return fieldError("文件摘要sha256与文件内容不一致", "body", "/meta/sha256", *meta.SHA256, "does not match the SHA-256 of the file part")
	}
	k := mediaKey{r.mchID, r.op.ID, hex.EncodeToString(sum[:])}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	name := s.media.dedup[k]
	if s.media.items[name] == nil {
		switch r.op.ID {
		case "UploadMediaMarketingImage", "UploadMediaServiceImage":
			name = strings.ToUpper(e.randString(32, "0123456789abcdef")) + "." + ext
		default:
			name = e.randString(107, alnum+"-_")
		}
		ct := mime.TypeByExtension("." + ext)
		if strings.HasPrefix(up.fileType, "image/") || strings.HasPrefix(up.fileType, "video/") || ct == "" {
			ct = up.fileType
		}
		s.media.add(&mediaItem{name: name, mchID: r.mchID, contentType: ct, data: up.file, marketing: r.op.ID == "UploadMediaMarketingImage"}, k)
	}
	if r.op.ID == "UploadMediaMarketingImage" {
		return ok(map[string]any{"media_url": mediaURL(r.r, name)})
	}
	return ok(map[string]any{"media_id": name})
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

func limitsText(limits map[string]int64) string {
	var exts []string
	for e := range limits {
		exts = append(exts, e)
	}
	sort.Strings(exts)
	return strings.Join(exts, ", ")
}

// mediaURL is the absolute URL of a stored medium as the client reaching r
// sees the emulator.
func mediaURL(r *http.Request, name string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + mediaPrefix + name
}

// serveMedia answers GET /_emulator/media/<name> with a stored medium.
func (e *Emulator) serveMedia(w http.ResponseWriter, r *http.Request) int {
	name := strings.TrimPrefix(r.URL.Path, mediaPrefix)
	e.state.mu.Lock()
	it := e.state.media.items[name]
	e.state.mu.Unlock()
	if r.Method != http.MethodGet || it == nil {
		http.NotFound(w, r)
		return http.StatusNotFound
	}
	w.Header().Set("Content-Type", it.contentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(it.data)
	return http.StatusOK
}

// issuedImage reports whether u is the URL of a marketing image the emulator
// issued (any host: clients may reach the emulator by several names). The
// caller holds the lock.
func (s *state) issuedImage(u string) bool {
	p, err := url.Parse(u)
	if err != nil || !strings.HasPrefix(p.Path, mediaPrefix) {
		return false
	}
	it := s.media.items[strings.TrimPrefix(p.Path, mediaPrefix)]
	return it != nil && it.marketing
}

// imageFields are the card-template fields that take an uploaded image.
var imageFields = []string{"logo_url", "background_picture_url", "card_picture_url"}

// checkImages refuses a card template whose image fields are not images
// uploaded through the marketing image upload, as the service does. The caller
// holds the lock.
func (s *state) checkImages(body map[string]any) *answer {
	for _, f := range imageFields {
		v, present := body[f]
		if !present {
			continue
		}
		if u, _ := v.(string); !s.issuedImage(u) {
			a := fieldError("图片链接无效，请使用图片上传（营销专用）接口返回的media_url", "body", "/"+f, clip(fmt.Sprint(v), 64),
				"must be a media_url answered by POST /v3/marketing/favor/media/image-upload")
			return &a
		}
	}
	return nil
}

// withMediaHost rewrites the emulator's media URLs in a rendered template to
// the host the client reached, so that every image URL it is given loads.
func withMediaHost(r *http.Request, v map[string]any) map[string]any {
	out := copyMap(v)
	for _, f := range imageFields {
		if u, ok := out[f].(string); ok {
			if p, err := url.Parse(u); err == nil && strings.HasPrefix(p.Path, mediaPrefix) {
				out[f] = mediaURL(r, strings.TrimPrefix(p.Path, mediaPrefix))
			}
		}
	}
	return out
}

// Demo images: a logo and a card background the seeded templates use.
const (
	DemoLogoURL       = "https://wxpay-emulator.invalid" + mediaPrefix + "DEM0LOGO0000000000000000000000.png"
	DemoBackgroundURL = "https://wxpay-emulator.invalid" + mediaPrefix + "DEM0BACKGR0UND000000000000000.png"
)

// seedImages stores the demo images; the caller holds the lock.
func (s *state) seedImages(mchID string) {
	for _, img := range demoImages() {
		s.media.add(&mediaItem{name: img.name, mchID: mchID, contentType: "image/png", data: img.png, marketing: true},
			mediaKey{mchID, "seed", img.name})
	}
}

type demoImage struct {
	name string
	png  []byte
}

// demoImages encodes the seeded logo and background once per process: every
// SeedDemo shares the bytes (stored items are never modified).
var demoImages = sync.OnceValue(func() []demoImage {
	var out []demoImage
	for _, d := range []struct {
		url  string
		w, h int
		c    color.RGBA
	}{
		{DemoLogoURL, 120, 120, color.RGBA{0x07, 0xc1, 0x60, 0xff}},
		{DemoBackgroundURL, 1000, 600, color.RGBA{0xff, 0xcc, 0x00, 0xff}},
	} {
		img := image.NewRGBA(image.Rect(0, 0, d.w, d.h))
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = d.c.R, d.c.G, d.c.B, d.c.A
		}
		var buf bytes.Buffer
		_ = png.Encode(&buf, img)
		out = append(out, demoImage{name: d.url[strings.LastIndex(d.url, "/")+1:], png: buf.Bytes()})
	}
	return out
})
