package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/cli"
	"github.com/wxpaykit/wxpay/internal/testkeys"
)

// sandbox serves an emulator on loopback and returns its wxpay.json.
func sandbox(t *testing.T) (*emulator.Sandbox, string) {
	t.Helper()
	dir := t.TempDir()
	sb, err := emulator.OpenSandbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	hs := httptest.NewServer(sb)
	t.Cleanup(hs.Close)
	cfg, err := sb.WriteConfig(hs.URL)
	if err != nil {
		t.Fatal(err)
	}
	return sb, cfg
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	err := cli.Run(context.Background(), args, cli.IO{
		Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		Getenv: func(k string) string { return env[k] },
	})
	code := cli.ExitCode(err, &errOut)
	return result{out.String(), errOut.String(), code}
}

func TestCall(t *testing.T) {
	t.Parallel()
	sb, cfg := sandbox(t)
	card := emulator.DemoCardID
	reqFile := filepath.Join(t.TempDir(), "payroll.json")
	if err := os.WriteFile(reqFile, []byte(`{"openid":"`+emulator.DemoOpenID+`","sub_mchid":"`+emulator.DemoSubMchID+
		`","sub_appid":"`+emulator.DemoSubAppID+`","user_name":"张三","id_card_number":"110101199003077777"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		out   []string // substrings of stdout
		err   []string // substrings of stderr
	}{
		{name: "GET with a path parameter, pretty JSON",
			args: []string{"call", "GET", "/v3/marketing/membercard-open/cards/{card_id}", "--path", "card_id=" + card, "--config", cfg},
			out:  []string{"{\n  \"", "\n}\n"}},
		{name: "POST literal JSON with -i",
			args: []string{"call", "-i", "POST", "/v3/marketing/membercard-open/cards/{card_id}/permission-tokens", "--path", "card_id=" + card,
				"--json", `{"activate_type":"AUTO_ACTIVATE"}`, "--config", cfg},
			out: []string{"HTTP 200 OK\n", "Wechatpay-Serial: " + sb.PublicKeyID, `"permission_token": "pt_`}},
		{name: "PATCH from stdin, then GET it back", stdin: `{"notify_url":"https://shop.example/notify"}`,
			args: []string{"call", "PATCH", "/v3/marketing/membercard-open/callback", "--json", "-", "--config", cfg},
			out:  []string{`"notify_url": "https://shop.example/notify"`}},
		{name: "encrypted fields from a file",
			args: []string{"call", "POST", "/v3/payroll-card/tokens", "--json", "@" + reqFile, "--encrypt", "/user_name", "--encrypt", "/id_card_number", "--config", cfg, "-v"},
			out:  []string{`"expires_in": 1800`}},
		{name: "query parameter and extra header",
			args: []string{"call", "GET", "/v3/brand/partner/card-member/cards", "--query", "brand_id=" + emulator.DemoBrandID, "--header", "X-Trace: t1", "--config", cfg},
			out:  []string{`"total_count": 1`}},
		{name: "an API error is shown readably, exit 3",
			args: []string{"call", "POST", "/v3/marketing/membercard-open/cards/{card_id}/users/import", "--path", "card_id=" + card,
				"--json", `{"openid":"oUnknown","out_request_no":"cli-1"}`, "--config", cfg},
			code: 3, err: []string{"wxpay: 400 PARAM_ERROR: OpenID有误", "field:    /openid", "request:  POST /v3/marketing/membercard-open/cards/" + card + "/users/import (Request-ID "}},
		{name: "plaintext where ciphertext is expected, exit 3",
			args: []string{"call", "POST", "/v3/payroll-card/tokens", "--json", "@" + reqFile, "--header", "Wechatpay-Serial:" + sb.PublicKeyID, "--config", cfg},
			code: 3, err: []string{"请确认待处理的消息是否为加密后的密文"}},
		{name: "DELETE, 204", args: []string{"call", "DELETE", "/v3/marketing/membercard-open/cards/{card_id}", "--path", "card_id=" + emulator.DemoRealTimeCardID, "--config", cfg}},
		{name: "one argument", args: []string{"call", "GET", "--config", cfg}, code: 2, err: []string{"call needs METHOD and PATH"}},
		{name: "bad method", args: []string{"call", "FETCH", "/v3/x", "--config", cfg}, code: 2},
		{name: "bad --path", args: []string{"call", "GET", "/v3/x", "--path", "card_id", "--config", cfg}, code: 2, err: []string{"want name=value"}},
		{name: "body on GET", args: []string{"call", "GET", "/v3/x", "--json", "{}", "--config", cfg}, code: 2},
		{name: "invalid JSON", args: []string{"call", "POST", "/v3/x", "--json", "{", "--config", cfg}, code: 2},
		{name: "--encrypt of a missing member", args: []string{"call", "POST", "/v3/x", "--json", "{}", "--encrypt", "/a", "--config", cfg}, code: 2, err: []string{`no member "a"`}},
		{name: "missing settings, exit 1", args: []string{"call", "GET", "/v3/x"}, code: 1, err: []string{"missing --mchid, --serial, --private-key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, nil, tt.stdin, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, s := range tt.out {
				if !strings.Contains(r.stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.stdout)
				}
			}
			for _, s := range tt.err {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
				}
			}
			for _, secret := range []string{"张三", "110101199003077777"} {
				if strings.Contains(r.stdout+r.stderr, secret) {
					t.Errorf("plaintext %q printed", secret)
				}
			}
		})
	}
}

func TestCallUnavailableExit4(t *testing.T) {
	t.Parallel()
	sb, cfg := sandbox(t)
	sb.SetFault("*", emulator.Fault{ErrorRate: 1})
	r := run(t, map[string]string{"WXPAY_CONFIG": cfg}, "", "call", "GET", "/v3/marketing/membercard-open/callback")
	if r.code != cli.ExitUnavailable || !strings.Contains(r.stderr, "SYSTEM_ERROR") || !strings.Contains(r.stderr, "3 attempts") {
		t.Errorf("%+v", r)
	}
	sb.SetFault("*", emulator.Fault{TamperRate: 1})
	if r := run(t, map[string]string{"WXPAY_CONFIG": cfg}, "", "call", "GET", "/v3/marketing/membercard-open/cards/{card_id}",
		"--path", "card_id="+emulator.DemoCardID); r.code != cli.ExitUnverified || !strings.Contains(r.stderr, "verification failed") {
		t.Errorf("tampered answer: %+v", r)
	}
}

func TestConfigPrecedence(t *testing.T) {
	t.Parallel()
	_, cfg := sandbox(t)
	args := []string{"call", "GET", "/v3/marketing/membercard-open/cards/{card_id}", "--path", "card_id=" + emulator.DemoCardID}
	// The file alone works (its relative key paths resolve against its directory).
	if r := run(t, map[string]string{"WXPAY_CONFIG": cfg}, "", args...); r.code != 0 {
		t.Fatalf("config file: %+v", r)
	}
	// The environment beats the file …
	env := map[string]string{"WXPAY_CONFIG": cfg, "WXPAY_BASE_URL": "http://127.0.0.1:1"}
	if r := run(t, env, "", args...); r.code != cli.ExitUnavailable {
		t.Fatalf("env base URL should win: %+v", r)
	}
	// … and a flag beats the environment.
	var file struct {
		BaseURL string `json:"base_url"`
	}
	b, _ := os.ReadFile(cfg)
	_ = json.Unmarshal(b, &file)
	if r := run(t, env, "", append(args, "--base-url", file.BaseURL)...); r.code != 0 {
		t.Fatalf("flag base URL should win: %+v", r)
	}
	// An unknown key in the config file is an error, not ignored.
	bad := filepath.Join(t.TempDir(), "bad.json")
	_ = os.WriteFile(bad, []byte(`{"apiv3key":"x"}`), 0o600)
	if r := run(t, nil, "", append(args, "--config", bad)...); r.code != 1 || !strings.Contains(r.stderr, "apiv3key") {
		t.Errorf("unknown config key: %+v", r)
	}
}

// certificateMerchant writes a config for an emulator in certificate mode.
func certificateMerchant(t *testing.T, certMode bool) string {
	t.Helper()
	k := testkeys.Shared()
	dir := t.TempDir()
	apiKey := "certModeAPIv3Key0123456789abcdef"
	key, _ := wxpay.ParseAPIv3Key(apiKey)
	opts := []emulator.Option{emulator.WithMerchant(testkeys.MchID, testkeys.MerchantSerial, &k.Merchant.PublicKey), emulator.WithAPIv3Key(key)}
	if certMode {
		opts = append(opts, emulator.WithCertificate(k.PlatformCert, k.Platform))
	} else {
		opts = append(opts, emulator.WithPublicKey(testkeys.PublicKeyID, k.Platform))
	}
	e, err := emulator.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	hs := httptest.NewServer(e)
	t.Cleanup(hs.Close)
	der, _ := x509.MarshalPKCS8PrivateKey(k.Merchant)
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("apiclient_key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})))
	write("apiv3.key", apiKey+"\n")
	write("wxpay.json", fmt.Sprintf(`{"base_url":%q,"mchid":%q,"serial":%q,"private_key_file":"apiclient_key.pem","apiv3_key_file":"apiv3.key"}`,
		hs.URL, testkeys.MchID, testkeys.MerchantSerial))
	return filepath.Join(dir, "wxpay.json")
}

func TestCertificatesDownload(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	r := run(t, nil, "", "certificates", "download", "--config", certificateMerchant(t, true), "--out", out)
	serial := testkeys.Shared().PlatformCertSerial
	if r.code != 0 || !strings.Contains(r.stdout, "SERIAL") || !strings.Contains(r.stdout, serial) {
		t.Fatalf("%+v", r)
	}
	cert, err := wxpay.LoadCertificateFile(filepath.Join(out, "wechatpay_"+serial+".pem"))
	if err != nil || !cert.Equal(testkeys.Shared().PlatformCert) {
		t.Errorf("written certificate: %v", err)
	}
	// The downloaded certificate then serves as the platform key.
	cfg := certificateMerchant(t, true)
	r = run(t, nil, "", "call", "GET", "/v3/certificates", "--config", cfg, "--certificate", filepath.Join(out, "wechatpay_"+serial+".pem"))
	if r.code != 0 || !strings.Contains(r.stdout, serial) {
		t.Errorf("call with the downloaded certificate: %+v", r)
	}
	r = run(t, nil, "", "certificates", "download", "--config", certificateMerchant(t, false), "--out", out)
	if r.code != cli.ExitRejected || !strings.Contains(r.stderr, "RESOURCE_NOT_EXISTS") {
		t.Errorf("public-key merchant: %+v", r)
	}
	r = run(t, map[string]string{"WXPAY_APIV3_KEY": "short"}, "", "certificates", "download", "--config", certificateMerchant(t, true))
	if r.code != 1 || !strings.Contains(r.stderr, "32 bytes") {
		t.Errorf("bad APIv3 key: %+v", r)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	r := run(t, nil, "", "demo")
	if r.code != 0 {
		t.Fatalf("%+v", r)
	}
	for _, want := range []string{"1. Brand join-membership", "2. Merchant permission token", "3. Payroll-card", "4. Import an existing member",
		"typed", "declarative", "async", "code PARAM_ERROR, message OpenID有误", "[REDACTED]", "verified by the client"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(r.stdout, "FAILED") || strings.Contains(r.stdout, "张三") {
		t.Errorf("demo output:\n%s", r.stdout)
	}
}

func TestEmulatorCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	users := filepath.Join(dir, "users.csv")
	_ = os.WriteFile(users, []byte("openid\noCLIUser1\noCLIUser2\n"), 0o600)
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(ctx, []string{"emulator", "--addr", "127.0.0.1:0", "--dir", filepath.Join(dir, "emu"), "--users", users},
			cli.IO{Stdout: pw, Stderr: io.Discard, Getenv: func(string) string { return "" }})
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var base string
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "registered 2 users") {
			continue
		}
		if u, ok := strings.CutPrefix(lines.Text(), "wxpay emulator listening on "); ok {
			base = u
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if base == "" {
		cancel()
		t.Fatalf("no listening line: %v", <-done)
	}
	cfg := filepath.Join(dir, "emu", "wxpay.json")
	r := run(t, nil, "", "call", "POST", "/v3/marketing/membercard-open/cards/{card_id}/users/import", "--path", "card_id="+emulator.DemoCardID,
		"--json", `{"openid":"oCLIUser2","out_request_no":"emu-cmd-1"}`, "--config", cfg)
	if r.code != 0 || !strings.Contains(r.stdout, `"code": "`) {
		t.Errorf("call against the emulator command: %+v", r)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("emulator stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the emulator did not stop on cancel")
	}
	for _, f := range []string{"apiclient_key.pem", "pub_key.pem", "apiv3.key", "merchant.json", "wxpay.json", "emulator_key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, "emu", f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestHelpOfEveryCommand(t *testing.T) {
	t.Parallel()
	paths := [][]string{{}, {"demo"}, {"emulator"}, {"call"}, {"certificates"}, {"certificates", "download"},
		{"membercard"}, {"membercard", "import"}, {"brand"}, {"brand", "import"}, {"version"}}
	for _, p := range paths {
		r := run(t, nil, "", append(append([]string(nil), p...), "--help")...)
		name := strings.Join(append([]string{"wxpay"}, p...), " ")
		if r.code != 0 || !strings.Contains(r.stdout, name+" — ") || !strings.Contains(r.stdout, "Usage:\n  "+name) {
			t.Errorf("%s --help: %+v", name, r)
		}
		leaf := len(p) > 0 && p[0] != "certificates" && p[0] != "membercard" && p[0] != "brand" || len(p) == 2
		if leaf && !strings.Contains(r.stdout, "Flags:") && p[0] != "version" && p[0] != "demo" {
			t.Errorf("%s --help lists no flags", name)
		}
	}
	if r := run(t, nil, "", "call", "--help"); !strings.Contains(r.stdout, "--encrypt") && !strings.Contains(r.stdout, "-encrypt") {
		t.Errorf("call --help: %s", r.stdout)
	}
	if r := run(t, nil, "", "frobnicate"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: %+v", r)
	}
	if r := run(t, nil, "", "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "wxpay ") {
		t.Errorf("version: %+v", r)
	}
	if r := run(t, nil, "", "membercard", "import", "--file", "x.csv"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, "--card-id and --file are required") {
		t.Errorf("import usage: %+v", r)
	}
}

func TestImportCommand(t *testing.T) {
	t.Parallel()
	sb, cfg := sandbox(t)
	var users []emulator.User
	var csv strings.Builder
	csv.WriteString("openid,code\n")
	for i := range 40 {
		id := fmt.Sprintf("oImport%03d", i)
		if i%10 == 3 {
			id = fmt.Sprintf("oUnknown%03d", i)
		} else {
			users = append(users, emulator.User{OpenID: id})
		}
		csv.WriteString(id + "\n")
	}
	sb.AddUser(users...)
	file := filepath.Join(t.TempDir(), "members.csv")
	_ = os.WriteFile(file, []byte(csv.String()), 0o600)
	args := []string{"membercard", "import", "--config", cfg, "--card-id", emulator.DemoCardID, "--file", file, "--concurrency", "4"}
	r := run(t, nil, "", args...)
	if r.code != 0 || !strings.Contains(r.stdout, "rows 40: imported 36, already done 0, rejected 4, failed 0") || !strings.Contains(r.stderr, "import: 40/40 rows") {
		t.Fatalf("%+v", r)
	}
	rej, _ := os.ReadFile(file + ".rejects.csv")
	if n := strings.Count(string(rej), ",PARAM_ERROR,"); n != 4 {
		t.Errorf("rejects file:\n%s", rej)
	}
	if got := len(sb.Memberships(emulator.DemoCardID)); got != 36 {
		t.Errorf("%d memberships", got)
	}
	r = run(t, nil, "", args...)
	if r.code != 0 || !strings.Contains(r.stdout, "imported 0, already done 40, rejected 4") {
		t.Errorf("second run: %+v", r)
	}
}
