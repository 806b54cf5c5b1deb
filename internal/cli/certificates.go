package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/wxpaykit/wxpay"
)

func certificatesCommand() *command {
	download := &command{
		name: "download", globals: true,
		short: "fetch, decrypt and verify the platform certificates, and write them as PEM files",
		long: `Fetches GET /v3/certificates, decrypts every certificate with the APIv3 key, verifies the
answer with the certificate that signed it, and writes wechatpay_<serial>.pem files into --out.
Needs the merchant settings and the APIv3 key, but no WeChat Pay key: this is how the first
certificate is obtained. Merchants in public-key mode get 404 RESOURCE_NOT_EXISTS.`,
		setup: func(fs *flag.FlagSet) func(context.Context, IO, []string) error {
			var conn connFlags
			conn.register(fs)
			out := fs.String("out", ".", "`directory` to write the PEM files into")
			return func(ctx context.Context, io IO, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				s, err := conn.resolve(io)
				if err != nil {
					return err
				}
				opts, err := conn.options(io, s, false) // names missing merchant settings first
				if err != nil {
					return err
				}
				key, err := s.apiV3Key()
				if err != nil {
					return err
				}
				certs, err := wxpay.DownloadCertificates(ctx, key, opts...)
				if err != nil {
					return err
				}
				if err := os.MkdirAll(*out, 0o755); err != nil {
					return err
				}
				tw := tabwriter.NewWriter(io.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SERIAL\tEFFECTIVE\tEXPIRES\tFILE")
				for _, c := range certs {
					path := filepath.Join(*out, "wechatpay_"+c.Serial+".pem")
					if err := os.WriteFile(path, c.PEM, 0o644); err != nil {
						return err
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Serial, c.EffectiveTime.Format(time.RFC3339), c.ExpireTime.Format(time.RFC3339), path)
				}
				return tw.Flush()
			}
		},
	}
	return &command{name: "certificates", short: "platform certificates (certificate-mode merchants)", subs: []*command{download}}
}
