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
		long: `Applies for the trade bill (GET /v3/bill/tradebill), with --kind fundflow the fund-flow
bill (GET /v3/bill/fundflowbill), or with --kind subfundflow the fund-flow bill of the
sub-merchant --sub-mchid (GET /v3/bill/sub-merchant-fundflowbill) of --date, downloads the
file it points to (gzipped on the wire), and checks the SHA-1 of the file against the hash the
application gave. A sub-merchant's fund-flow bill comes encrypted: each of its files is opened
with the key the application carries, decrypted with the merchant's private key (AES-256-GCM),
and the files are joined in order. The bill is written to --out only once every hash matched
(through FILE.part, renamed); without --out it is printed on stdout, also only once checked.
Progress goes to stderr.

Bills of a day can be applied for from 09:00 the next day (China time), for the last three
months. A bill of a day without trades answers 400 NO_STATEMENT_EXIST, one still being made
400 STATEMENT_CREATING, a sub-merchant the service provider does not serve 403 NO_AUTH (exit
status 3). A file whose hash does not match, or that does not decrypt, is not written (exit
status 5).`,
		setup: func(fs *flag.FlagSet) func(context.Context, IO, []string) error {
			var conn connFlags
			conn.register(fs)
			date := fs.String("date", "", "bill `date`, YYYY-MM-DD (required)")
			kind := fs.String("kind", "trade", "`trade`, fundflow or subfundflow")
			billType := fs.String("type", "ALL", "trade bill type: `ALL`, SUCCESS or REFUND")
			account := fs.String("account", "BASIC", "fund-flow account: `BASIC`, OPERATION or FEES (subfundflow: also DEPOSIT)")
			subMchID := fs.String("sub-mchid", "", "sub-merchant `ID`: a service provider's trade bill of one sub-merchant, or the sub-merchant of subfundflow (required there)")
			out := fs.String("out", "", "`file` to write (default: stdout)")
			return func(ctx context.Context, io IO, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if _, err := time.Parse(time.DateOnly, *date); err != nil {
					return usagef("--date %q: want YYYY-MM-DD", *date)
				}
				var req func(c *wxpay.Client) (billFetch, error)
				switch *kind {
				case "trade":
					bt := bill.BillType(strings.ToUpper(*billType))
					if bt != bill.BillTypeAll && bt != bill.BillTypeSuccess && bt != bill.BillTypeRefund {
						return usagef("--type %q: want ALL, SUCCESS or REFUND", *billType)
					}
					req = func(c *wxpay.Client) (billFetch, error) {
						f, _, err := c.V3.Bill.TradeBill.Get(ctx, &bill.GetTradeBillRequest{
							BillDate: *date, SubMchID: *subMchID, BillType: bt, TarType: bill.TarTypeGZIP})
						return plainFetch(f), err
					}
				case "fundflow":
					acct := bill.AccountType(strings.ToUpper(*account))
					if !acct.Valid() {
						return usagef("--account %q: want BASIC, OPERATION or FEES", *account)
					}
					req = func(c *wxpay.Client) (billFetch, error) {
						f, _, err := c.V3.Bill.FundFlowBill.Get(ctx, &bill.GetFundFlowBillRequest{
							BillDate: *date, AccountType: acct, TarType: bill.TarTypeGZIP})
						return plainFetch(f), err
					}
				case "subfundflow":
					acct := bill.SubMerchantAccountType(strings.ToUpper(*account))
					if !acct.Valid() {
						return usagef("--account %q: want BASIC, OPERATION, FEES or DEPOSIT", *account)
					}
					if *subMchID == "" {
						return usagef("--kind subfundflow needs --sub-mchid")
					}
					req = func(c *wxpay.Client) (billFetch, error) {
						l, _, err := c.V3.Bill.SubMerchantFundFlowBill.Get(ctx, &bill.GetSubMerchantFundFlowBillRequest{SubMchID: *subMchID,
							BillDate: *date, AccountType: acct, Algorithm: bill.EncryptAlgorithmAeadAes256Gcm, TarType: bill.TarTypeGZIP})
						return encryptedFetch(l), err
					}
				default:
					return usagef("--kind %q: want trade, fundflow or subfundflow", *kind)
				}
				client, _, err := conn.client(io)
				if err != nil {
					return err
				}
				fetch, err := req(client)
				if err != nil {
					return err
				}
				pw := &progressWriter{w: io.Stderr, tty: io.StderrIsTerminal}
				n, err := writeBill(ctx, progressDownloader{c: client, p: pw}, fetch, *out, io.Stdout)
				pw.done(n)
				if errors.Is(err, bill.ErrHashMismatch) || errors.Is(err, bill.ErrDecrypt) {
					return &ExitError{Code: ExitUnverified, Err: fmt.Errorf("wxpay: %w; nothing was written", err)}
				}
				if err != nil {
					return err
				}
				if *out != "" {
					fmt.Fprintf(io.Stdout, "%s: %d bytes, %s checked\n", *out, n, fetch.checked)
				}
				return nil
			}
		},
	}
	return &command{name: "bill", short: "bills (账单): download and check", subs: []*command{download}}
}

// billFetch downloads one applied-for bill, checked, into a writer or a path;
// checked says what was checked, for the summary line.
type billFetch struct {
	download func(ctx context.Context, d progressDownloader, w io.Writer) (int64, error)
	write    func(ctx context.Context, d progressDownloader, path string) (int64, error)
	checked  string
}

// plainFetch fetches a bill file (trade, fund flow).
func plainFetch(f *bill.File) billFetch {
	if f == nil {
		return billFetch{}
	}
	return billFetch{
		download: func(ctx context.Context, d progressDownloader, w io.Writer) (int64, error) {
			return bill.Download(ctx, d, f, w)
		},
		write: func(ctx context.Context, d progressDownloader, path string) (int64, error) {
			return bill.WriteFile(ctx, d, f, path)
		},
		checked: "SHA-1 " + f.HashValue,
	}
}

// encryptedFetch fetches the encrypted files of a sub-merchant's fund-flow
// bill, decrypted and joined.
func encryptedFetch(l *bill.EncryptedFileList) billFetch {
	if l == nil {
		return billFetch{}
	}
	return billFetch{
		download: func(ctx context.Context, d progressDownloader, w io.Writer) (int64, error) {
			return bill.DownloadEncryptedList(ctx, d, l, w)
		},
		write: func(ctx context.Context, d progressDownloader, path string) (int64, error) {
			return bill.WriteEncryptedList(ctx, d, l, path)
		},
		checked: fmt.Sprintf("%d file(s) decrypted, SHA-1", len(l.DownloadBillList)),
	}
}

// writeBill downloads into path (through a .part file renamed once the hash
// matched), or, without a path, into a temporary file copied to stdout once
// checked: nothing unchecked is ever written where the user looks.
func writeBill(ctx context.Context, d progressDownloader, f billFetch, path string, stdout io.Writer) (int64, error) {
	if path != "" {
		return f.write(ctx, d, path)
	}
	tmp, err := os.CreateTemp("", "wxpay-bill-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := f.download(ctx, d, tmp)
	if err != nil {
		return n, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return n, err
	}
	_, err = io.Copy(stdout, tmp)
	return n, err
}

// progressDownloader counts the bytes that arrive; it opens encrypted bills'
// keys with the client.
type progressDownloader struct {
	c *wxpay.Client
	p *progressWriter
}

func (d progressDownloader) Download(ctx context.Context, url string, w io.Writer) (*wxpay.Response, error) {
	return d.c.Download(ctx, url, io.MultiWriter(w, d.p))
}

func (d progressDownloader) Decrypt(e wxpay.Encrypted) (wxpay.Sensitive, error) {
	return d.c.Decrypt(e)
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
