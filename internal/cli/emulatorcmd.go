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
