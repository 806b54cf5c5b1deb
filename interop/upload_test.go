package interop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/verifiers"
	"github.com/wechatpay-apiv3/wechatpay-go/services/fileuploader"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/media"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/internal/wire"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 32, 32))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wechatpay-go's four uploaders complete against the emulator unchanged but for
// the host: the emulator checks their signature over meta, the sha256 and the
// type, and serves the marketing image back at the media_url it returned.
func TestOfficialUploadersAgainstEmulator(t *testing.T) {
	t.Parallel()
	srv := wxpaytest.NewServer(wxpaytest.WithRealClock()) // the official SDK checks skew with time.Now
	t.Cleanup(srv.Close)
	ctx := context.Background()
	client := officialClient(t, srv)
	img := pngBytes(t)
	video := append([]byte("\x00\x00\x00\x18ftypmp42"), bytes.Repeat([]byte{7}, 4096)...)

	id, _, err := (&fileuploader.ImageUploader{Client: client}).Upload(ctx, bytes.NewReader(img), "logo.png", "image/png")
	if err != nil || id.MediaId == nil || *id.MediaId == "" {
		t.Fatalf("ImageUploader: %v %+v", err, id)
	}
	vid, _, err := (&fileuploader.VideoUploader{Client: client}).Upload(ctx, bytes.NewReader(video), "intro.mp4", "video/mp4")
	if err != nil || vid.MediaId == nil || *vid.MediaId == "" {
		t.Fatalf("VideoUploader: %v %+v", err, vid)
	}
	biz, _, err := (&fileuploader.MchBizUploader{Client: client}).Upload(ctx, bytes.NewReader(img), "shop.png", "image/png")
	if err != nil || biz.MediaId == nil || *biz.MediaId == "" {
		t.Fatalf("MchBizUploader: %v %+v", err, biz)
	}
	mk, _, err := (&fileuploader.MarketingImageUploader{Client: client}).Upload(ctx, bytes.NewReader(img), "card.png", "image/png")
	if err != nil || mk.MediaUrl == nil {
		t.Fatalf("MarketingImageUploader: %v %+v", err, mk)
	}
	resp, err := srv.HTTPClient().Get(*mk.MediaUrl)
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(served, img) {
		t.Errorf("media_url %s served %d, %d bytes; want the %d uploaded", *mk.MediaUrl, resp.StatusCode, len(served), len(img))
	}

	// The emulator's checks apply to the official client as to ours: an
	// extension outside the endpoint's list is refused.
	_, _, err = (&fileuploader.ImageUploader{Client: client}).Upload(ctx, bytes.NewReader(img), "logo.gif", "image/gif")
	if apiErr, ok := err.(*core.APIError); !ok || apiErr.StatusCode != 400 {
		t.Errorf("a .gif through ImageUploader: %v", err)
	}
}

// upload is what a server sees of one multipart upload.
type upload struct {
	target, auth         string
	meta                 []byte
	parts                []string // form names in order
	filename, partType   string
	file                 []byte
	metaName, metaSHA256 string
}

// uploadServer parses each upload as WeChat Pay would and answers a signed
// media_id.
func uploadServer(t *testing.T) (*httptest.Server, func() upload) {
	t.Helper()
	var mu sync.Mutex
	var last upload
	sign := officialSign(t, testkeys.PublicKeyID)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u := upload{target: r.URL.RequestURI(), auth: r.Header.Get("Authorization")}
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil {
			t.Errorf("Content-Type %q: %v", r.Header.Get("Content-Type"), err)
		}
		mr := multipart.NewReader(io.LimitReader(r.Body, 8<<20), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(p)
			u.parts = append(u.parts, p.FormName())
			switch p.FormName() {
			case "meta":
				u.meta = b
				var m struct{ Filename, SHA256 string }
				_ = json.Unmarshal(b, &m)
				u.metaName, u.metaSHA256 = m.Filename, m.SHA256
			case "file":
				u.file, u.filename, u.partType = b, p.FileName(), p.Header.Get("Content-Type")
			}
		}
		mu.Lock()
		last = u
		mu.Unlock()
		body := `{"media_id":"interop-media-id"}`
		sign(w.Header(), []byte(body))
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, func() upload { mu.Lock(); defer mu.Unlock(); return last }
}

// A server check built on wechatpay-go's verifier accepts wxpay's uploads, typed
// and generic: the signature over the meta JSON, the sha256 of the bytes sent,
// meta before file, the file part's name and type.
func TestOfficialVerifierAcceptsOurUploads(t *testing.T) {
	t.Parallel()
	k := testkeys.Shared()
	srv, last := uploadServer(t)
	c := newClient(t, srv.URL)
	verifier := verifiers.NewSHA256WithRSAPubkeyVerifier(testkeys.MerchantSerial, k.Merchant.PublicKey)
	ctx := context.Background()
	img := pngBytes(t)

	cases := []struct {
		name, path, filename, partType string
		call                           func() error
	}{
		{"typed image", "/v3/merchant/media/upload", "logo.png", "image/png", func() error {
			_, _, err := c.V3.Merchant.Media.Upload.Post(ctx, &media.UploadImageRequest{Filename: "logo.png", File: bytes.NewReader(img)})
			return err
		}},
		{"typed video, async", "/v3/merchant/media/video_upload", "intro.mp4", "video/mp4", func() error {
			_, err := c.V3.Merchant.Media.VideoUpload.PostAsync(ctx, &media.UploadVideoRequest{Filename: "intro.mp4", File: bytes.NewReader(img)}).Wait()
			return err
		}},
		{"typed merchant-service image, a reader that is not a Seeker", "/v3/merchant-service/images/upload", "门店.jpg", "image/jpeg", func() error {
			_, _, err := c.V3.MerchantService.Images.Upload.Post(ctx, &media.UploadServiceImageRequest{Filename: "门店.jpg", File: io.MultiReader(bytes.NewReader(img))})
			return err
		}},
		{"generic chain", "/v3/marketing/favor/media/image-upload", "card.bmp", "image/bmp", func() error {
			_, err := c.Chain("v3/marketing/favor/media/image-upload").Upload(ctx, "card.bmp", bytes.NewReader(img))
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatal(err)
			}
			got := last()
			if got.target != tc.path {
				t.Fatalf("sent to %s, want %s", got.target, tc.path)
			}
			a, err := wire.ParseAuthorization(got.auth)
			if err != nil {
				t.Fatal(err)
			}
			msg := "POST\n" + got.target + "\n" + a.Timestamp + "\n" + a.NonceStr + "\n" + string(got.meta) + "\n"
			if err := verifier.Verify(ctx, a.SerialNo, msg, a.Signature); err != nil {
				t.Errorf("official verifier rejects the signature over meta: %v", err)
			}
			sum := sha256.Sum256(got.file)
			if got.metaSHA256 != hex.EncodeToString(sum[:]) || !bytes.Equal(got.file, img) {
				t.Errorf("meta sha256 %s; file part %d bytes hashing to %x", got.metaSHA256, len(got.file), sum)
			}
			if strings.Join(got.parts, ",") != "meta,file" || got.metaName != tc.filename || got.filename != tc.filename || got.partType != tc.partType {
				t.Errorf("parts %v, meta filename %q, file part %q %q; want meta,file, %q, %q", got.parts, got.metaName, got.filename, got.partType, tc.filename, tc.partType)
			}
		})
	}
	var ve *wxpay.ValidationError
	if _, _, err := c.V3.Merchant.Media.Upload.Post(ctx, &media.UploadImageRequest{Filename: "logo.gif", File: bytes.NewReader(img)}); !errors.As(err, &ve) {
		t.Errorf("a .gif to the image upload: %v, want a ValidationError before sending", err)
	}
}
