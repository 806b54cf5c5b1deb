package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/bill"
	"github.com/wxpaykit/wxpay/apiv3/media"
)

func billCommand() *command {
	download := &command{
		name: "download", globals: true,
		short: "apply for a day's bill, download it, check its hash and write it",
		long: `Applies for the trade bill (GET /v3/bill/tradebill) or, with --kind fundflow, the fund-flow
bill (GET /v3/bill/fundflowbill) of --date, downloads the file it points to (gzipped on the
wire), and checks the SHA-1 of the file against the hash the application gave. The file is
written to --out only once the hash matched (through FILE.part, renamed); without --out it is
printed on stdout, also only once checked. Progress goes to stderr.

Bills of a day can be applied for from 09:00 the next day (China time), for the last three
months. A bill of a day without trades answers 400 NO_STATEMENT_EXIST, one still being made
400 STATEMENT_CREATING (exit status 3). A file whose hash does not match is not written
(exit status 5).`,
		setup: func(fs *flag.FlagSet) func(context.Context, IO, []string) error {
			var conn connFlags
			conn.register(fs)
			date := fs.String("date", "", "bill `date`, YYYY-MM-DD (required)")
			kind := fs.String("kind", "trade", "`trade` or fundflow")
			billType := fs.String("type", "ALL", "trade bill type: `ALL`, SUCCESS or REFUND")
			account := fs.String("account", "BASIC", "fund-flow account: `BASIC`, OPERATION or FEES")
			subMchID := fs.String("sub-mchid", "", "sub-merchant `ID`, for a service provider's trade bill of one sub-merchant")
			out := fs.String("out", "", "`file` to write (default: stdout)")
			return func(ctx context.Context, io IO, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if _, err := time.Parse(time.DateOnly, *date); err != nil {
					return usagef("--date %q: want YYYY-MM-DD", *date)
				}
				client, _, err := conn.client(io)
				if err != nil {
					return err
				}
				var file *bill.File
				switch *kind {
				case "trade":
					bt := bill.BillType(strings.ToUpper(*billType))
					if bt != bill.BillTypeAll && bt != bill.BillTypeSuccess && bt != bill.BillTypeRefund {
						return usagef("--type %q: want ALL, SUCCESS or REFUND", *billType)
					}
					file, _, err = client.V3.Bill.TradeBill.Get(ctx, &bill.GetTradeBillRequest{
						BillDate: *date, SubMchID: *subMchID, BillType: bt, TarType: bill.TarTypeGZIP})
				case "fundflow":
					acct := bill.AccountType(strings.ToUpper(*account))
					if !acct.Valid() {
						return usagef("--account %q: want BASIC, OPERATION or FEES", *account)
					}
					file, _, err = client.V3.Bill.FundFlowBill.Get(ctx, &bill.GetFundFlowBillRequest{
						BillDate: *date, AccountType: acct, TarType: bill.TarTypeGZIP})
				default:
					return usagef("--kind %q: want trade or fundflow", *kind)
				}
				if err != nil {
					return err
				}
				pw := &progressWriter{w: io.Stderr, tty: io.StderrIsTerminal}
				n, err := writeBill(ctx, client, file, *out, io.Stdout, pw)
				pw.done(n)
				if errors.Is(err, bill.ErrHashMismatch) {
					return &ExitError{Code: ExitUnverified, Err: fmt.Errorf("wxpay: %w; nothing was written", err)}
				}
				if err != nil {
					return err
				}
				if *out != "" {
					fmt.Fprintf(io.Stdout, "%s: %d bytes, SHA-1 %s checked\n", *out, n, file.HashValue)
				}
				return nil
			}
		},
	}
	return &command{name: "bill", short: "bills (账单): download and check", subs: []*command{download}}
}

// writeBill downloads into path (through a .part file renamed once the hash
// matched), or, without a path, into a temporary file copied to stdout once
// checked: nothing unchecked is ever written where the user looks.
func writeBill(ctx context.Context, c *wxpay.Client, f *bill.File, path string, stdout io.Writer, progress *progressWriter) (int64, error) {
	d := progressDownloader{c: c, p: progress}
	if path != "" {
		return bill.WriteFile(ctx, d, f, path)
	}
	tmp, err := os.CreateTemp("", "wxpay-bill-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := bill.Download(ctx, d, f, tmp)
	if err != nil {
		return n, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return n, err
	}
	_, err = io.Copy(stdout, tmp)
	return n, err
}

// progressDownloader counts the bytes that arrive.
type progressDownloader struct {
	c *wxpay.Client
	p *progressWriter
}

func (d progressDownloader) Download(ctx context.Context, url string, w io.Writer) (*wxpay.Response, error) {
	return d.c.Download(ctx, url, io.MultiWriter(w, d.p))
}

// progressWriter reports bytes received on stderr: redrawn on a terminal, one
// line at the end otherwise.
type progressWriter struct {
	w    io.Writer
	tty  bool
	n    int64
	last time.Time
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.tty && time.Since(p.last) > 100*time.Millisecond {
		p.last = time.Now()
		fmt.Fprintf(p.w, "\rdownloading: %s", byteCount(p.n))
	}
	return len(b), nil
}

func (p *progressWriter) done(uncompressed int64) {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	fmt.Fprintf(p.w, "downloaded %s on the wire, %s of bill\n", byteCount(p.n), byteCount(uncompressed))
}

func byteCount(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

func uploadCommand() *command {
	return &command{
		name: "upload", args: "FILE", globals: true,
		short: "upload an image or a video and print its media_id (or media_url)",
		long: `Uploads FILE as multipart/form-data, signed over its meta part, to one of:
  --kind image             POST /v3/merchant/media/upload           JPG, BMP, PNG (5 MB), PDF (7.5 MB) → media_id
  --kind video             POST /v3/merchant/media/video_upload     AVI, WMV, MPEG, MP4, MOV, MKV, FLV, F4V, M4V, RMVB (5 MB) → media_id
  --kind marketing         POST /v3/marketing/favor/media/image-upload  JPG, BMP, PNG (2 MB) → media_url (card logos, backgrounds)
  --kind merchant-service  POST /v3/merchant-service/images/upload  JPG, PNG, BMP (2 MB) → media_id
The file's type and size are checked before anything is sent. Prints the media_id or media_url.`,
		setup: func(fs *flag.FlagSet) func(context.Context, IO, []string) error {
			var conn connFlags
			conn.register(fs)
			kind := fs.String("kind", "image", "`image`, video, marketing or merchant-service")
			return func(ctx context.Context, io IO, args []string) error {
				if len(args) != 1 {
					return usagef("upload needs one FILE, got %d arguments", len(args))
				}
				f, err := os.Open(args[0])
				if err != nil {
					return usagef("%v", err)
				}
				defer f.Close()
				client, _, err := conn.client(io)
				if err != nil {
					return err
				}
				name := filepath.Base(args[0])
				m := client.V3.Merchant.Media
				var result string
				switch *kind {
				case "image":
					out, _, err := m.Upload.Post(ctx, &media.UploadImageRequest{Filename: name, File: f})
					if err != nil {
						return err
					}
					result = out.MediaID
				case "video":
					out, _, err := m.VideoUpload.Post(ctx, &media.UploadVideoRequest{Filename: name, File: f})
					if err != nil {
						return err
					}
					result = out.MediaID
				case "marketing":
					out, _, err := client.V3.Marketing.Favor.Media.ImageUpload.Post(ctx, &media.UploadMarketingImageRequest{Filename: name, File: f})
					if err != nil {
						return err
					}
					result = out.MediaURL
				case "merchant-service":
					out, _, err := client.V3.MerchantService.Images.Upload.Post(ctx, &media.UploadServiceImageRequest{Filename: name, File: f})
					if err != nil {
						return err
					}
					result = out.MediaID
				default:
					return usagef("--kind %q: want image, video, marketing or merchant-service", *kind)
				}
				fmt.Fprintln(io.Stdout, result)
				return nil
			}
		},
	}
}
