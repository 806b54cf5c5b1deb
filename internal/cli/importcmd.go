package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/wxpaykit/wxpay/memberimport"
)

// importCommand is `wxpay membercard import` or `wxpay brand import`.
func importCommand(family string) *command {
	kind, short, api := memberimport.Membercard, "membership cards (会员卡, membercard-open)", "POST /v3/marketing/membercard-open/cards/{card_id}/users/import"
	if family == "brand" {
		kind, short, api = memberimport.Brand, "brand card-member cards (商家名片会员)", "POST /v3/brand/partner/card-member/user-cards/import-by-openid"
	}
	imp := &command{
		name: "import", globals: true,
		short: "import existing members from a CSV file, resumably",
		long: fmt.Sprintf(`Imports every row of --file with one call each to
  %s

The file is CSV (UTF-8; a byte order mark, as Excel writes it, is ignored). Its first row is a
header when one of its cells names a column, openid or code (any order; case, spaces, _ and -
do not matter), or when its first cell cannot be an openid (a Chinese column name, "user id").
A header naming another column or lacking openid (or code, for brand imports) stops the import
before anything is sent, with exit status 2. Without a header, rows are openid[,code]. Blank
rows are skipped. A row that cannot be sent (empty or malformed openid, invalid UTF-8, control
characters, a value too long, a brand row without a code) is rejected as INVALID_ROW.

Each row's out_request_no is derived from the card and the openid, and finished rows are
recorded in an fsync'd journal (--journal): a run that is interrupted or killed is resumed by
running the same command again, and no member is lost or imported twice. Rows rejected for
good go to --rejects with their error code; rows that failed temporarily are retried by the
next run. Exit status: 0 every row imported, 6 incomplete (run the same command again),
7 finished with rejected rows (listed in --rejects), 2 unusable file.`, api),
		setup: func(fs *flag.FlagSet) func(context.Context, IO, []string) error {
			var conn connFlags
			conn.register(fs)
			cfg := memberimport.Config{Kind: kind}
			fs.StringVar(&cfg.CardID, "card-id", "", "card template ID (required)")
			if kind == memberimport.Brand {
				fs.StringVar(&cfg.BrandID, "brand-id", "", "brand ID (required)")
			}
			fs.StringVar(&cfg.InputPath, "file", "", "CSV `file` of members: openid[,code] rows, or columns named by a header (required)")
			fs.StringVar(&cfg.JournalPath, "journal", "", "journal `file` (default FILE.journal)")
			fs.StringVar(&cfg.RejectsPath, "rejects", "", "rejects `file` (default FILE.rejects.csv)")
			fs.IntVar(&cfg.Concurrency, "concurrency", 16, "calls in flight")
			fs.Float64Var(&cfg.QPS, "qps", 0, "calls started per second, 0 for no limit (brand APIs allow 5/s per service provider)")
			return func(ctx context.Context, io IO, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if cfg.CardID == "" || cfg.InputPath == "" || kind == memberimport.Brand && cfg.BrandID == "" {
					return usagef("--card-id and --file are required (and --brand-id for brand imports)")
				}
				client, _, err := conn.client(io)
				if err != nil {
					return err
				}
				cfg.Client = client
				cfg.Progress = io.Stderr
				cfg.Terminal = io.StderrIsTerminal
				sum, err := memberimport.Run(ctx, cfg)
				if sum != nil {
					for _, n := range sum.Notices {
						fmt.Fprintln(io.Stderr, "wxpay:", n)
					}
					fmt.Fprintf(io.Stdout, "rows %d: imported %d, already done %d, rejected %d, failed %d (%s)\n",
						sum.Rows, sum.Imported, sum.Skipped, sum.Rejected, sum.Failed, sum.Duration.Round(1e6))
					fmt.Fprintf(io.Stdout, "journal %s\nrejects %s\n", sum.Journal, sum.Rejects)
				}
				switch {
				case errors.Is(err, memberimport.ErrBadInput) && sum == nil:
					return &ExitError{Code: ExitUsage, Err: err}
				case err != nil && sum == nil:
					return err
				case err != nil:
					return &ExitError{Code: ExitIncomplete, Err: err}
				case !sum.Complete():
					return &ExitError{Code: ExitIncomplete, Err: fmt.Errorf("wxpay: %d rows failed temporarily; run the same command again to retry them", sum.Failed)}
				case sum.Rejected > 0:
					return &ExitError{Code: ExitRowsRejected, Err: fmt.Errorf("wxpay: import finished; %d rows were rejected, listed in %s", sum.Rejected, sum.Rejects)}
				}
				return nil
			}
		},
	}
	return &command{name: family, short: short, subs: []*command{imp}}
}
