package cli

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wxpaykit/wxpay/emulator"
)

func emulatorCommand() *command {
	return &command{
		name: "emulator", short: "run the local WeChat Pay emulator and write a key set any SDK can use",
		long: `Starts the emulator on --addr and writes into --dir (created if needed, reused on the next run):
  apiclient_key.pem   merchant API private key       merchant.json  mchid, serial, public key ID
  pub_key.pem         WeChat Pay public key          apiv3.key      APIv3 key
  wxpay.json          config for this CLI            emulator_key.pem  the emulator's own key
Point any SDK at the printed base URL with those files. Fixtures: brand 1004, card templates,
users and a sub-merchant (see the emulator package's Demo constants); --users adds openids from
a file (one per line, or the first CSV column). Stops on Ctrl-C.

Control endpoints under /_emulator/ (no signature; POST JSON; errors {"code","message"}) play
the payer, the bank and the card member. The member's actions deliver the documented
notification, signed and encrypted, redelivered until answered 2xx: MEMBERCARD.* to the URL
set with PATCH /v3/marketing/membercard-open/callback, BRAND_MEMBER_CARD_SP.* to the brand
card template's notify_url (409 CANNOT_NOTIFY without one):
  POST /_emulator/membercard/claim      {"card_id","openid","outer_str","activate_type","code"}
       → code, state NOT_ACTIVATE, notification_id; MEMBERCARD.ACCEPT_CARD
  POST /_emulator/membercard/activate   {"card_id","code"} → AUTO_ACTIVATE: EFFECTIVE;
       JUMP_ACTIVATE: activate_ticket for GET .../activate-informations/{ticket}, then the
       merchant activates; MEMBERCARD.ACTIVATE_CARD
  POST /_emulator/membercard/delete     {"card_id","code"} → MEMBERCARD.USERCARD_MANAGE
  POST /_emulator/brand/claim           {"brand_id","card_id","openid"} → user_card_code,
       awaiting .../user-cards/{code}/confirm; BRAND_MEMBER_CARD_SP.USER_CARD.CREATE
  POST /_emulator/brand/delete          {"brand_id","card_id","user_card_code"} → USER_CARD.DELETE
  POST /_emulator/brand/exchange-points {"brand_id","card_id","user_card_code","deduct_points",
       "stock_id","exchange_coupon_template_id"} → record_id, settled by
       .../user-points/exchange-coupon/confirm; BRAND_MEMBER_CARD_SP.POINT_EXCHANGE_COUPON
The payer, the bank and the business day (merchant.json names an AppID and a payer OpenID
to order with):
  POST /_emulator/pay            {"out_trade_no","mchid" or "sub_mchid","result"} → the order as
       a query answers it; result SUCCESS (default; TRANSACTION.SUCCESS to its notify_url),
       PAYERROR or USERPAYING
  POST /_emulator/payer-codes    {"auth_code","result"} → what scanning that payment code does:
       SUCCESS (default for any valid code), USERPAYING (then /_emulator/pay) or PAYERROR
  POST /_emulator/refunds/settle {"out_refund_no","mchid" or "sub_mchid","result"} → the refund;
       a PROCESSING refund ends SUCCESS (default), ABNORMAL or CLOSED, with its REFUND.* event
  POST /_emulator/day-end        {"date":"YYYY-MM-DD"} (default today) → its bills can be applied for
  GET  /_emulator/orders?mchid=…  /memberships?card_id=…  /deliveries  /media/<name> (a media_url)

Limits, as a real front end sets them, so a slow or silent client cannot hold a connection:
request line and headers within 5 s and 32 KiB (else the connection is closed), the body
within 5 s more and 1 MiB (else 408 or 400 INVALID_REQUEST, and a late body's connection is
closed), an idle kept-alive connection closed after 60 s.`,
		setup: func(fs *flag.FlagSet) func(context.Context, IO, []string) error {
			addr := fs.String("addr", "127.0.0.1:8080", "listen `address`")
			dir := fs.String("dir", "./wxpay-emulator", "key `directory`")
			users := fs.String("users", "", "`file` of openids to register as users")
			return func(ctx context.Context, io IO, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				sb, err := emulator.OpenSandbox(*dir)
				if err != nil {
					return err
				}
				defer sb.Close()
				if *users != "" {
					n, err := addUsers(sb.Emulator, *users)
					if err != nil {
						return err
					}
					fmt.Fprintf(io.Stdout, "registered %d users from %s\n", n, *users)
				}
				ln, err := net.Listen("tcp", *addr)
				if err != nil {
					return err
				}
				base := "http://" + ln.Addr().String()
				cfgPath, err := sb.WriteConfig(base)
				if err != nil {
					ln.Close()
					return err
				}
				abs, _ := filepath.Abs(sb.Dir)
				fmt.Fprintf(io.Stdout, `wxpay emulator listening on %s
  mchid          %s
  serial         %s
  public key ID  %s
  files          %s
try:
  go run ./cmd/wxpay call GET /v3/marketing/membercard-open/cards/{card_id} --path card_id=%s --config %s
`, base, sb.MchID, sb.MerchantSerial, sb.PublicKeyID, abs, emulator.DemoCardID, cfgPath)
				srv := sb.HTTPServer()
				errc := make(chan error, 1)
				go func() { errc <- srv.Serve(ln) }()
				select {
				case err := <-errc:
					return err
				case <-ctx.Done():
					shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					if err := srv.Shutdown(shut); err != nil {
						return err
					}
					if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
						return err
					}
					fmt.Fprintln(io.Stdout, "emulator stopped")
					return nil
				}
			}
		},
	}
}

// addUsers registers the openids of a file: one per line or the first CSV column.
func addUsers(e *emulator.Emulator, path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReaderSize(f, 256<<10))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	batch := make([]emulator.User, 0, 1024)
	n := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("%s: %w", path, err)
		}
		id := strings.TrimSpace(rec[0])
		if id == "" || strings.EqualFold(id, "openid") {
			continue
		}
		batch = append(batch, emulator.User{OpenID: id, AppID: emulator.DemoAppID})
		if len(batch) == cap(batch) {
			e.AddUser(batch...)
			n += len(batch)
			batch = batch[:0]
		}
	}
	e.AddUser(batch...)
	return n + len(batch), nil
}
