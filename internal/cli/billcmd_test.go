package cli_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/apiv3/refunddomestic"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/cli"
)

// TestBillDownload pays and refunds an order on a sandbox, ends the day and
// downloads its trade bill through the CLI: to a file and to stdout, the hash
// checked; a day without trades is the documented error.
func TestBillDownload(t *testing.T) {
	t.Parallel()
	sb, cfg := sandbox(t)
	env := map[string]string{"WXPAY_CONFIG": cfg}
	c := sandboxClient(t, sb, cfg)
	ctx := context.Background()
	const no = "CLI202601010001"
	if _, _, err := c.V3.Pay.Transactions.Native.Post(ctx, &pay.PrepayNativeRequest{AppID: emulator.DemoAppID, MchID: sb.MchID,
		Description: "cli", OutTradeNo: no, NotifyURL: "https://shop.example/notify", Amount: pay.Amount{Total: 2500}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Pay(sb.MchID, no, "SUCCESS"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.V3.Refund.Domestic.Refunds.Post(ctx, &refunddomestic.CreateRefundRequest{OutTradeNo: no, OutRefundNo: no + "R",
		Amount: refunddomestic.RefundRequestAmount{Refund: 500, Total: 2500, Currency: "CNY"}}); err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	if r := run(t, env, "", "bill", "download", "--date", day); r.code != cli.ExitRejected || !strings.Contains(r.stderr, "STATEMENT_CREATING") {
		t.Fatalf("before the day ends: %+v", r)
	}
	if err := sb.EndDay(day); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "bill.csv")
	r := run(t, env, "", "bill", "download", "--date", day, "--out", out)
	if r.code != 0 || !strings.Contains(r.stdout, "checked") || !strings.Contains(r.stderr, "downloaded") {
		t.Fatalf("download: %+v", r)
	}
	file, err := os.ReadFile(out)
	if err != nil || !bytes.Contains(file, []byte("`"+no)) || !bytes.HasPrefix(file, []byte("交易时间,")) {
		t.Fatalf("the bill: %v %.200q", err, file)
	}
	if r := run(t, env, "", "bill", "download", "--date", day, "--type", "REFUND"); r.code != 0 || !strings.Contains(r.stdout, "`"+no+"R") || strings.Contains(r.stdout, "`SUCCESS,`OTHERS") {
		t.Fatalf("refund bill on stdout: %+v", r)
	}
	if r := run(t, env, "", "bill", "download", "--date", day, "--kind", "fundflow"); r.code != 0 || !strings.Contains(r.stdout, "扣除交易手续费") {
		t.Fatalf("fund-flow bill: %+v", r)
	}
	dayBefore := time.Now().In(time.FixedZone("CST", 8*3600)).AddDate(0, 0, -2).Format(time.DateOnly)
	if r := run(t, env, "", "bill", "download", "--date", dayBefore); r.code != cli.ExitRejected || !strings.Contains(r.stderr, "NO_STATEMENT_EXIST") {
		t.Errorf("a day without trades: %+v", r)
	}
	for _, args := range [][]string{{"--date", "01/01/2026"}, {"--date", day, "--type", "ODD"}, {"--date", day, "--kind", "x"}, {}} {
		if r := run(t, env, "", append([]string{"bill", "download"}, args...)...); r.code != cli.ExitUsage {
			t.Errorf("%v: %+v", args, r)
		}
	}
}

// TestBillDownloadSubMerchant downloads a sub-merchant's encrypted fund-flow
// bill through the CLI: decrypted, checked, to a file and to stdout; the
// sub-merchant is required, and one not served is the documented error.
func TestBillDownloadSubMerchant(t *testing.T) {
	t.Parallel()
	sb, cfg := sandbox(t)
	env := map[string]string{"WXPAY_CONFIG": cfg}
	c := sandboxClient(t, sb, cfg)
	const no = "CLISUB202601010001"
	if _, _, err := c.V3.Pay.Partner.Transactions.Native.Post(context.Background(), &pay.PartnerPrepayNativeRequest{
		SPAppID: emulator.DemoAppID, SPMchID: sb.MchID, SubMchID: emulator.DemoSubMchID, Description: "cli-sub", OutTradeNo: no,
		NotifyURL: "https://shop.example/notify", Amount: pay.Amount{Total: 1800}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Pay(emulator.DemoSubMchID, no, "SUCCESS"); err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	args := []string{"bill", "download", "--date", day, "--kind", "subfundflow", "--sub-mchid", emulator.DemoSubMchID}
	if r := run(t, env, "", args...); r.code != cli.ExitRejected || !strings.Contains(r.stderr, "STATEMENT_CREATING") {
		t.Fatalf("before the day ends: %+v", r)
	}
	if err := sb.EndDay(day); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sub.csv")
	r := run(t, env, "", append(args, "--out", out)...)
	if r.code != 0 || !strings.Contains(r.stdout, "1 file(s) decrypted, SHA-1 checked") || !strings.Contains(r.stderr, "downloaded") {
		t.Fatalf("download: %+v", r)
	}
	file, err := os.ReadFile(out)
	if err != nil || !bytes.HasPrefix(file, []byte("记账时间,")) || !bytes.Contains(file, []byte("`18.00,")) || !bytes.Contains(file, []byte("`"+no)) {
		t.Fatalf("the bill: %v %.300q", err, file)
	}
	if r := run(t, env, "", append(args, "--account", "deposit")...); r.code != cli.ExitRejected || !strings.Contains(r.stderr, "NO_STATEMENT_EXIST") {
		t.Errorf("the deposit account: %+v", r)
	}
	if r := run(t, env, "", args...); r.code != 0 || r.stdout != string(file) {
		t.Errorf("on stdout: %+v", r)
	}
	if r := run(t, env, "", "bill", "download", "--date", day, "--kind", "subfundflow", "--sub-mchid", "1900000999"); r.code != cli.ExitRejected || !strings.Contains(r.stderr, "NO_AUTH") {
		t.Errorf("a sub-merchant not served: %+v", r)
	}
	for _, bad := range [][]string{{"--kind", "subfundflow"}, {"--kind", "subfundflow", "--sub-mchid", "1", "--account", "ALL"}, {"--kind", "fundflow", "--account", "DEPOSIT"}} {
		if r := run(t, env, "", append([]string{"bill", "download", "--date", day}, bad...)...); r.code != cli.ExitUsage {
			t.Errorf("%v: %+v", bad, r)
		}
	}
}

// TestUploadCommand uploads through `wxpay upload` and `wxpay call --file`.
func TestUploadCommand(t *testing.T) {
	t.Parallel()
	_, cfg := sandbox(t)
	env := map[string]string{"WXPAY_CONFIG": cfg}
	dir := t.TempDir()
	logo := filepath.Join(dir, "logo.png")
	var b bytes.Buffer
	_ = png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	if err := os.WriteFile(logo, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, env, "", "upload", logo); r.code != 0 || len(strings.TrimSpace(r.stdout)) < 32 {
		t.Errorf("image: %+v", r)
	}
	if r := run(t, env, "", "upload", logo, "--kind", "marketing"); r.code != 0 || !strings.Contains(r.stdout, "/_emulator/media/") {
		t.Errorf("marketing: %+v", r)
	}
	if r := run(t, env, "", "call", "POST", "/v3/merchant-service/images/upload", "--file", logo); r.code != 0 || !strings.Contains(r.stdout, `"media_id"`) {
		t.Errorf("call --file: %+v", r)
	}
	txt := filepath.Join(dir, "notes.txt")
	_ = os.WriteFile(txt, []byte("x"), 0o600)
	for name, args := range map[string][]string{
		"wrong type":  {"upload", txt},
		"no file":     {"upload", filepath.Join(dir, "missing.png")},
		"bad kind":    {"upload", logo, "--kind", "avatar"},
		"file + json": {"call", "POST", "/v3/merchant/media/upload", "--file", logo, "--json", "{}"},
	} {
		if r := run(t, env, "", args...); r.code != cli.ExitUsage {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

// TestCallRefusesControlCharacters: a header, path or query value with a
// control character is the user's mistake (exit 2), not an outage (exit 4).
func TestCallRefusesControlCharacters(t *testing.T) {
	t.Parallel()
	_, cfg := sandbox(t)
	env := map[string]string{"WXPAY_CONFIG": cfg}
	for _, args := range [][]string{
		{"--header", "X-Trace:a\rb"},
		{"--path", "card_id=pbLat\nx"},
		{"--query", "state=a\x00b"},
	} {
		r := run(t, env, "", append([]string{"call", "GET", "/v3/marketing/membercard-open/cards/{card_id}", "--path", "card_id=" + emulator.DemoCardID}, args...)...)
		if args[0] == "--path" {
			r = run(t, env, "", "call", "GET", "/v3/marketing/membercard-open/cards/{card_id}", args[0], args[1])
		}
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "invalid request") {
			t.Errorf("%v: %+v", args, r)
		}
	}
}

func sandboxClient(t *testing.T, sb *emulator.Sandbox, cfg string) *wxpay.Client {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := string(b)
	base = base[strings.Index(base, "http://"):]
	base = base[:strings.Index(base, `"`)]
	c, err := wxpay.NewClient(wxpay.WithMerchant(sb.MchID, sb.MerchantSerial, sb.MerchantKey),
		wxpay.WithPlatformPublicKey(sb.PublicKeyID, sb.PlatformPublicKey), wxpay.WithBaseURL(base))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
