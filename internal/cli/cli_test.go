package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/internal/cli"
	"github.com/wxpaykit/wxpay/internal/testkeys"
	"github.com/wxpaykit/wxpay/memberimport"
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
	reqBody := []byte(`{"openid":"` + emulator.DemoOpenID + `","sub_mchid":"` + emulator.DemoSubMchID +
		`","sub_appid":"` + emulator.DemoSubAppID + `","user_name":"张三","id_card_number":"110101199003077777"}`)
	if err := os.WriteFile(reqFile, reqBody, 0o600); err != nil {
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
		{name: "encrypted fields from a file",
			args: []string{"call", "POST", "/v3/payroll-card/tokens", "--json", "@" + reqFile, "--encrypt", "/user_name", "--encrypt", "/id_card_number", "--config", cfg, "-v"},
			out:  []string{`"expires_in": 1800`}},
		{name: "encrypted fields from stdin", stdin: string(reqBody),
			args: []string{"call", "POST", "/v3/payroll-card/tokens", "--json", "-", "--encrypt", "/user_name", "--encrypt", "/id_card_number", "--config", cfg},
			out:  []string{`"expires_in": 1800`}},
		{name: "query parameter",
			args: []string{"call", "GET", "/v3/brand/partner/card-member/cards", "--query", "brand_id=" + emulator.DemoBrandID, "--config", cfg},
			out:  []string{`"total_count": 1`}},
		{name: "query parameter naming another brand",
			args: []string{"call", "GET", "/v3/brand/partner/card-member/cards", "--query", "brand_id=1999", "--config", cfg},
			out:  []string{`"total_count": 0`}},
		{name: "extra header is sent (a Wechatpay-Serial the service does not know)",
			args: []string{"call", "POST", "/v3/payroll-card/tokens", "--json", "@" + reqFile,
				"--header", "Wechatpay-Serial: PUB_KEY_ID_0000000000000000000000000099", "--config", cfg},
			code: 3, err: []string{"wxpay: 400 PARAM_ERROR: Wechatpay-Serial无效", "value:    PUB_KEY_ID_0000000000000000000000000099", "location: header"}},
		{name: "a hand-set Wechatpay-Serial that contradicts --encrypt is refused locally as invalid input, exit 2",
			args: []string{"call", "POST", "/v3/payroll-card/tokens", "--json", "@" + reqFile, "--encrypt", "/user_name", "--encrypt", "/id_card_number",
				"--header", "Wechatpay-Serial: PUB_KEY_ID_0000000000000000000000000099", "--config", cfg},
			code: 2, err: []string{"was set by hand"}},
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

// TestCallOutput pins the exact output: indented JSON on stdout, and with -i the
// status line and the sorted headers before it.
func TestCallOutput(t *testing.T) {
	t.Parallel()
	sb, cfg := sandbox(t)
	body := "{\n  \"mchid\": \"" + sb.MchID + "\",\n  \"notify_url\": \"https://shop.example/notify\"\n}\n"

	r := run(t, nil, `{"notify_url":"https://shop.example/notify"}`, "call", "PATCH", "/v3/marketing/membercard-open/callback", "--json", "-", "--config", cfg)
	if r.code != 0 || r.stdout != body || r.stderr != "" {
		t.Fatalf("PATCH: exit %d\nstdout %q\nwant   %q\nstderr %q", r.code, r.stdout, body, r.stderr)
	}
	r = run(t, nil, "", "call", "get", "/v3/marketing/membercard-open/callback", "--config", cfg)
	if r.code != 0 || r.stdout != body {
		t.Fatalf("GET: exit %d\nstdout %q\nwant   %q", r.code, r.stdout, body)
	}

	r = run(t, nil, "", "call", "-i", "GET", "/v3/marketing/membercard-open/callback", "--config", cfg)
	head, gotBody, ok := strings.Cut(r.stdout, "\n\n")
	if r.code != 0 || !ok || gotBody != body {
		t.Fatalf("-i: exit %d, stdout %q", r.code, r.stdout)
	}
	lines := strings.Split(head, "\n")
	if lines[0] != "HTTP 200 OK" {
		t.Errorf("status line %q", lines[0])
	}
	var names []string
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ": ")
		if !ok || value == "" {
			t.Errorf("header line %q", l)
		}
		names = append(names, name)
	}
	if !slices.IsSorted(names) {
		t.Errorf("headers not sorted: %q", names)
	}
	for _, h := range []string{"Request-Id", "Wechatpay-Nonce", "Wechatpay-Serial", "Wechatpay-Signature", "Wechatpay-Timestamp"} {
		if !slices.Contains(names, h) {
			t.Errorf("-i lacks %s: %q", h, names)
		}
	}

	// 204: no body, so nothing on stdout; with -i only the status and headers.
	r = run(t, nil, "", "call", "DELETE", "/v3/marketing/membercard-open/cards/{card_id}", "--path", "card_id="+emulator.DemoRealTimeCardID, "--config", cfg)
	if r.code != 0 || r.stdout != "" {
		t.Errorf("DELETE: %+v", r)
	}
	r = run(t, nil, "", "call", "-i", "DELETE", "/v3/marketing/membercard-open/cards/{card_id}", "--path", "card_id="+emulator.DemoCardID, "--config", cfg)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "HTTP 204 No Content\n") || !strings.HasSuffix(r.stdout, "\n\n") || strings.Contains(r.stdout, "{") {
		t.Errorf("DELETE -i: %+v", r)
	}
	// The card is gone: the API error names the request.
	r = run(t, nil, "", "call", "GET", "/v3/marketing/membercard-open/cards/{card_id}", "--path", "card_id="+emulator.DemoCardID, "--config", cfg)
	if r.code != cli.ExitRejected || r.stdout != "" || !strings.HasPrefix(r.stderr, "wxpay: 400 INVALID_REQUEST: ") ||
		!strings.Contains(r.stderr, "request:  GET /v3/marketing/membercard-open/cards/"+emulator.DemoCardID+" (Request-ID ") {
		t.Errorf("GET deleted card: %+v", r)
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
	// The same order for the merchant ID: a wrong one in the environment beats the
	// file (the emulator refuses the signature), the right one as a flag beats that.
	env = map[string]string{"WXPAY_CONFIG": cfg, "WXPAY_MCHID": "1900009999"}
	if r := run(t, env, "", args...); r.code != cli.ExitRejected {
		t.Fatalf("env mchid should win: %+v", r)
	}
	if r := run(t, env, "", append(args, "--mchid", emulator.DemoMchID)...); r.code != 0 {
		t.Fatalf("flag mchid should win: %+v", r)
	}
	// --config beats WXPAY_CONFIG.
	if r := run(t, map[string]string{"WXPAY_CONFIG": filepath.Join(t.TempDir(), "absent.json")}, "", append(args, "--config", cfg)...); r.code != 0 {
		t.Fatalf("--config should win over WXPAY_CONFIG: %+v", r)
	}
	// The key paths in the file are relative, and resolve against the file's
	// directory, not the working directory (the test runs in the package's).
	var paths struct {
		PrivateKey string `json:"private_key_file"`
		PublicKey  string `json:"public_key_file"`
	}
	_ = json.Unmarshal(b, &paths)
	if filepath.IsAbs(paths.PrivateKey) || filepath.IsAbs(paths.PublicKey) || paths.PrivateKey == "" {
		t.Fatalf("the sandbox config should use relative key paths: %+v", paths)
	}
	if _, err := os.Stat(paths.PrivateKey); err == nil {
		t.Fatalf("%s exists in the working directory: the test proves nothing", paths.PrivateKey)
	}
	// A relative path given as a flag is relative to the working directory.
	if r := run(t, nil, "", append(args, "--config", cfg, "--private-key", paths.PrivateKey)...); r.code != 1 || !strings.Contains(r.stderr, paths.PrivateKey) {
		t.Fatalf("--private-key relative to the working directory: %+v", r)
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

func TestCertificatesDownloadNeedsTheAPIv3Key(t *testing.T) {
	t.Parallel()
	cfg := certificateMerchant(t, true)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "apiv3_key_file")
	b, _ = json.Marshal(m)
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "", "certificates", "download", "--config", cfg, "--out", t.TempDir())
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "no APIv3 key: set --apiv3-key-file, WXPAY_APIV3_KEY_FILE or WXPAY_APIV3_KEY") {
		t.Errorf("%+v", r)
	}
}

func TestCertificatesDownload(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	r := run(t, nil, "", "certificates", "download", "--config", certificateMerchant(t, true), "--out", out)
	serial := testkeys.Shared().PlatformCertSerial
	want := testkeys.Shared().PlatformCert
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || len(lines) != 2 || !slices.Equal(strings.Fields(lines[0]), []string{"SERIAL", "EFFECTIVE", "EXPIRES", "FILE"}) {
		t.Fatalf("%+v", r)
	}
	// One row: serial, validity, file.
	row := strings.Fields(lines[1])
	if len(row) != 4 || row[0] != serial || row[3] != filepath.Join(out, "wechatpay_"+serial+".pem") {
		t.Fatalf("row %q", row)
	}
	for i, want := range []time.Time{want.NotBefore, want.NotAfter} {
		if got, err := time.Parse(time.RFC3339, row[1+i]); err != nil || !got.Equal(want) {
			t.Errorf("validity column %d: %q, want %s", 1+i, row[1+i], want)
		}
	}
	cert, err := wxpay.LoadCertificateFile(row[3])
	if err != nil || !cert.Equal(want) {
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

// startEmulatorCommand runs `wxpay emulator` in-process until the returned stop
// is called; stop returns the rest of the command's output and its error.
func startEmulatorCommand(t *testing.T, args ...string) (header []string, base string, stop func() (string, error)) {
	t.Helper()
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- cli.Run(ctx, append([]string{"emulator", "--addr", "127.0.0.1:0"}, args...),
			cli.IO{Stdout: pw, Stderr: pw, Getenv: func(string) string { return "" }})
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	for lines.Scan() {
		header = append(header, lines.Text())
		if u, ok := strings.CutPrefix(lines.Text(), "wxpay emulator listening on "); ok {
			base = u
			break
		}
	}
	rest := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(pr)
		rest <- string(b)
	}()
	stop = func() (string, error) {
		cancel()
		// The command shuts its server down within 5 s; this bounds a hang.
		select {
		case err := <-done:
			return <-rest, err
		case <-time.After(30 * time.Second):
			t.Fatal("the emulator command did not stop on cancel")
			return "", nil
		}
	}
	if base == "" {
		out, err := stop()
		t.Fatalf("no listening line: %v\n%s%s", err, strings.Join(header, "\n"), out)
	}
	return header, base, stop
}

func TestEmulatorCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	emuDir := filepath.Join(dir, "emu")
	users := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(users, []byte("openid\noCLIUser1\noCLIUser2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	header, base, stop := startEmulatorCommand(t, "--dir", emuDir, "--users", users)
	if header[0] != "registered 2 users from "+users {
		t.Errorf("first line %q", header[0])
	}
	cfg := filepath.Join(emuDir, "wxpay.json")
	var file struct {
		BaseURL string `json:"base_url"`
	}
	if b, err := os.ReadFile(cfg); err != nil || json.Unmarshal(b, &file) != nil || file.BaseURL != base {
		t.Errorf("wxpay.json points at %q, the emulator listens on %q (%v)", file.BaseURL, base, err)
	}
	importUser := func(openid string) result {
		return run(t, nil, "", "call", "POST", "/v3/marketing/membercard-open/cards/{card_id}/users/import", "--path", "card_id="+emulator.DemoCardID,
			"--json", `{"openid":"`+openid+`","out_request_no":"emu-cmd-`+openid+`"}`, "--config", cfg)
	}
	if r := importUser("oCLIUser2"); r.code != 0 || !strings.Contains(r.stdout, `"code": "`) {
		t.Errorf("a user from --users: %+v", r)
	}
	if r := importUser("oCLIUser3"); r.code != cli.ExitRejected || !strings.Contains(r.stderr, "PARAM_ERROR") {
		t.Errorf("a user not in --users: %+v", r)
	}
	// The admin endpoint of the running emulator sees the membership.
	resp, err := http.Get(base + "/_emulator/memberships?card_id=" + emulator.DemoCardID)
	if err != nil {
		t.Fatal(err)
	}
	var state struct{ Count int }
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil || state.Count != 1 {
		t.Errorf("memberships: %+v %v", state, err)
	}
	resp.Body.Close()
	if out, err := stop(); err != nil || out != "emulator stopped\n" {
		t.Errorf("emulator stopped with %v, output %q", err, out)
	}
	keys := map[string][]byte{}
	for _, f := range []string{"apiclient_key.pem", "pub_key.pem", "apiv3.key", "merchant.json", "wxpay.json", "emulator_key.pem"} {
		b, err := os.ReadFile(filepath.Join(emuDir, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v", f, err)
		}
		keys[f] = b
	}

	// A second run reuses the key set: the same keys, a config for the new address.
	_, base2, stop2 := startEmulatorCommand(t, "--dir", emuDir)
	for f, b := range keys {
		if now, _ := os.ReadFile(filepath.Join(emuDir, f)); f != "wxpay.json" && !bytes.Equal(now, b) {
			t.Errorf("%s changed on the second run", f)
		}
	}
	if r := run(t, nil, "", "call", "GET", "/v3/marketing/membercard-open/cards/{card_id}", "--path", "card_id="+emulator.DemoCardID,
		"--config", cfg); r.code != 0 {
		t.Errorf("call against the second run at %s: %+v", base2, r)
	}
	if _, err := stop2(); err != nil {
		t.Errorf("second run: %v", err)
	}
	// An address in use is an error, exit 1.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if r := run(t, nil, "", "emulator", "--addr", ln.Addr().String(), "--dir", emuDir); r.code != cli.ExitFailure || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("address in use: %+v", r)
	}
}

// TestHelpOfEveryCommand walks the command tree through the help output itself
// (the Commands: section of each group), so that a command added later is
// covered without touching the test.
func TestHelpOfEveryCommand(t *testing.T) {
	t.Parallel()
	var visited []string
	var walk func(path []string)
	walk = func(path []string) {
		name := strings.Join(append([]string{"wxpay"}, path...), " ")
		visited = append(visited, name)
		r := run(t, nil, "", append(slices.Clone(path), "--help")...)
		if r.code != 0 || r.stderr != "" {
			t.Errorf("%s --help: exit %d, stderr %q", name, r.code, r.stderr)
		}
		first, _, _ := strings.Cut(r.stdout, "\n")
		if short, ok := strings.CutPrefix(first, name+" — "); !ok || len(short) < 10 {
			t.Errorf("%s --help: first line %q, want the command and its description", name, first)
		}
		if !strings.Contains(r.stdout, "\nUsage:\n  "+name) {
			t.Errorf("%s --help: no usage:\n%s", name, r.stdout)
		}
		// -h says the same.
		if h := run(t, nil, "", append(slices.Clone(path), "-h")...); h.code != 0 || h.stdout != r.stdout {
			t.Errorf("%s -h differs from --help:\n%s", name, h.stdout)
		}
		if _, cmds, ok := strings.Cut(r.stdout, "\nCommands:\n"); ok {
			// A group: the bare group prints the same help, and every command listed is walked.
			if bare := run(t, nil, "", path...); bare.code != 0 || bare.stdout != r.stdout {
				t.Errorf("%s without a command: %+v", name, bare)
			}
			cmds, _, _ = strings.Cut(cmds, "\n\n")
			for _, line := range strings.Split(cmds, "\n") {
				f := strings.Fields(line)
				if len(f) < 2 {
					t.Errorf("%s --help: command line %q has no description", name, line)
					continue
				}
				walk(append(slices.Clone(path), f[0]))
			}
			return
		}
		// A command: its flags, each described; no empty Flags: heading.
		_, flags, hasFlags := strings.Cut(r.stdout, "\nFlags:\n")
		var names []string
		for _, line := range strings.Split(flags, "\n") {
			if f, ok := strings.CutPrefix(line, "  -"); ok {
				names = append(names, strings.Fields(f)[0])
			}
		}
		if hasFlags && len(names) == 0 || strings.HasSuffix(r.stdout, "Flags:\n") {
			t.Errorf("%s --help: a Flags: heading with no flags:\n%s", name, r.stdout)
		}
		if slices.Contains(names, "mchid") != strings.Contains(r.stdout, "Connection settings") {
			t.Errorf("%s --help: connection flags and their explanation go together:\n%s", name, r.stdout)
		}
	}
	walk(nil)
	want := []string{"wxpay", "wxpay demo", "wxpay emulator", "wxpay call", "wxpay certificates", "wxpay certificates download",
		"wxpay membercard", "wxpay membercard import", "wxpay brand", "wxpay brand import", "wxpay version"}
	for _, w := range want {
		if !slices.Contains(visited, w) {
			t.Errorf("the walk did not reach %q (visited %q)", w, visited)
		}
	}
	// The root help ends with the exit codes; a command's help shows what it needs.
	if r := run(t, nil, "", "--help"); !strings.Contains(r.stdout, "Exit status: 0 ok, 1 error, 2 usage, 3 request rejected") ||
		!strings.Contains(r.stdout, "6 import incomplete (run again),\n7 import finished with rejected rows") {
		t.Errorf("wxpay --help lacks the exit codes:\n%s", r.stdout)
	}
	for cmd, wants := range map[string][]string{
		"call":                  {"-encrypt", "-json", "-path", "-query", "-header", "JSON Pointer", "Examples:"},
		"certificates download": {"-out", "wechatpay_<serial>.pem", "RESOURCE_NOT_EXISTS"},
		"membercard import":     {"-card-id", "-file", "-journal", "-rejects", "-concurrency", "-qps", "users/import", "byte order mark", "6 incomplete", "7 finished with rejected rows", "2 unusable file"},
		"brand import":          {"-brand-id", "import-by-openid", "or code, for brand imports"},
		"emulator":              {"-addr", "-dir", "-users", "wxpay.json"},
	} {
		r := run(t, nil, "", append(strings.Fields(cmd), "--help")...)
		for _, w := range wants {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("wxpay %s --help lacks %q", cmd, w)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	in, apiKey := filepath.Join(t.TempDir(), "members.csv"), filepath.Join(t.TempDir(), "apiv3.key")
	if err := os.WriteFile(in, []byte("openid\no1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(apiKey, []byte("usageErrorsAPIv3Key0123456789abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"frobnicate"}, cli.ExitUsage, `wxpay: unknown command "frobnicate"`},
		{[]string{"membercard", "export"}, cli.ExitUsage, `wxpay: unknown command "export"`},
		{[]string{"call", "--nope", "GET", "/v3/x"}, cli.ExitUsage, "flag provided but not defined: -nope"},
		{[]string{"call", "GET", "/v3/x", "--timeout", "soon"}, cli.ExitUsage, `invalid value "soon" for flag -timeout`},
		{[]string{"version", "extra"}, cli.ExitOK, ""},
		{[]string{"emulator", "extra"}, cli.ExitUsage, `unexpected arguments ["extra"]`},
		{[]string{"certificates", "download", "extra"}, cli.ExitUsage, `unexpected arguments ["extra"]`},
		// Missing merchant settings are named first, then a missing APIv3 key.
		{[]string{"certificates", "download"}, cli.ExitFailure, "missing --mchid, --serial, --private-key"},
		{[]string{"certificates", "download", "--apiv3-key-file", apiKey}, cli.ExitFailure, "missing --mchid, --serial, --private-key"},
		{[]string{"membercard", "import"}, cli.ExitUsage, "--card-id and --file are required"},
		{[]string{"membercard", "import", "--file", in}, cli.ExitUsage, "--card-id and --file are required"},
		{[]string{"membercard", "import", "--card-id", "pbLat"}, cli.ExitUsage, "--card-id and --file are required"},
		{[]string{"brand", "import", "--card-id", "pbLat", "--file", in}, cli.ExitUsage, "--brand-id for brand imports"},
		{[]string{"membercard", "import", "--card-id", "pbLat", "--file", in, "extra"}, cli.ExitUsage, `unexpected arguments ["extra"]`},
		{[]string{"membercard", "import", "--card-id", "pbLat", "--file", in, "--concurrency", "many"}, cli.ExitUsage, `invalid value "many" for flag -concurrency`},
		{[]string{"membercard", "import", "--card-id", "pbLat", "--file", in}, cli.ExitFailure, "missing --mchid, --serial, --private-key"},
		{[]string{"brand", "import", "--brand-id", "1004", "--card-id", "pbLat", "--file", in, "--config", filepath.Join(t.TempDir(), "absent.json")},
			cli.ExitFailure, "absent.json: no such file"},
	}
	for _, tt := range tests {
		r := run(t, nil, "", tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.err) || r.stdout != "" && tt.code != 0 {
			t.Errorf("wxpay %s: exit %d (want %d)\nstdout %q\nstderr %q (want %q)", strings.Join(tt.args, " "), r.code, tt.code, r.stdout, r.stderr, tt.err)
		}
		// A usage error shows the usage of the command, on stderr.
		if tt.code == cli.ExitUsage && !strings.Contains(r.stderr, "Usage:\n  wxpay") {
			t.Errorf("wxpay %s: no usage on stderr:\n%s", strings.Join(tt.args, " "), r.stderr)
		}
	}
	if r := run(t, nil, "", "version"); r.code != 0 || r.stdout != "wxpay "+wxpay.Version+"\n" {
		t.Errorf("version: %+v", r)
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
	if r.code != cli.ExitRowsRejected || !strings.Contains(r.stdout, "rows 40: imported 36, already done 0, rejected 4, failed 0") || !strings.Contains(r.stderr, "import: 40/40 rows") ||
		!strings.Contains(r.stderr, "import finished; 4 rows were rejected, listed in "+file+".rejects.csv") {
		t.Fatalf("%+v", r)
	}
	rej, _ := os.ReadFile(file + ".rejects.csv")
	if n := strings.Count(string(rej), ",PARAM_ERROR,"); n != 4 {
		t.Errorf("rejects file:\n%s", rej)
	}
	if got := len(sb.Memberships(emulator.DemoCardID)); got != 36 {
		t.Errorf("%d memberships", got)
	}
	// The state is the same on the next run: finished, with rejected rows.
	r = run(t, nil, "", args...)
	if r.code != cli.ExitRowsRejected || !strings.Contains(r.stdout, "imported 0, already done 40, rejected 4") {
		t.Errorf("second run: %+v", r)
	}
}

// TestImportCommandAfterOutage: rows that fail temporarily leave the import
// incomplete (exit 6) and are sent again by the next run, with the same
// out_request_no, so a call that was committed but never answered is not
// imported twice.
func TestImportCommandAfterOutage(t *testing.T) {
	t.Parallel()
	sb, cfg := sandbox(t)
	var csv strings.Builder
	for i := range 12 {
		id := fmt.Sprintf("oOutage%03d", i)
		sb.AddUser(emulator.User{OpenID: id, AppID: emulator.DemoAppID})
		csv.WriteString(id + "\n")
	}
	file := filepath.Join(t.TempDir(), "members.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"membercard", "import", "--config", cfg, "--card-id", emulator.DemoCardID, "--file", file, "--concurrency", "4"}

	// The service answers 500 to everything: nothing imported, exit 6.
	sb.SetFault("*", emulator.Fault{ErrorRate: 1})
	r := run(t, nil, "", args...)
	if r.code != cli.ExitIncomplete || !strings.Contains(r.stdout, "rows 12: imported 0, already done 0, rejected 0, failed 12") ||
		!strings.Contains(r.stderr, "12 rows failed temporarily; run the same command again") {
		t.Fatalf("outage: %+v", r)
	}
	if n := len(sb.Memberships(emulator.DemoCardID)); n != 0 {
		t.Fatalf("%d memberships after an outage", n)
	}
	// Every call is carried out but its answer lost: the memberships exist, the
	// importer cannot know it, exit 6.
	sb.ClearFaults()
	sb.SetFault("*", emulator.Fault{DropAfterCommitRate: 1})
	if r := run(t, nil, "", args...); r.code != cli.ExitIncomplete || !strings.Contains(r.stdout, "failed 12") {
		t.Fatalf("lost answers: %+v", r)
	}
	if n := len(sb.Memberships(emulator.DemoCardID)); n != 12 {
		t.Fatalf("%d memberships after lost answers, want 12", n)
	}
	// The service is back: the repeats are answered as such, nothing duplicated.
	sb.ClearFaults()
	if r := run(t, nil, "", args...); r.code != 0 || !strings.Contains(r.stdout, "rows 12: imported 12, already done 0, rejected 0, failed 0") {
		t.Fatalf("after the outage: %+v", r)
	}
	seen := map[string]bool{}
	for _, m := range sb.Memberships(emulator.DemoCardID) {
		if seen[m.OpenID] || m.RequestNo != memberimport.RequestNo(memberimport.Membercard, emulator.DemoCardID, m.OpenID) {
			t.Errorf("membership %+v (seen before: %v)", m, seen[m.OpenID])
		}
		seen[m.OpenID] = true
	}
	if len(seen) != 12 {
		t.Errorf("%d members, want 12", len(seen))
	}
}

func TestBrandImportCommand(t *testing.T) {
	t.Parallel()
	sb, cfg := sandbox(t)
	sb.AddUser(emulator.User{OpenID: "oBrand1", AppID: emulator.DemoAppID}, emulator.User{OpenID: "oBrand2", AppID: emulator.DemoAppID})
	file := filepath.Join(t.TempDir(), "members.csv")
	// A row without a code is invalid for brand imports and rejected without a call.
	if err := os.WriteFile(file, []byte("openid,code\noBrand1,100000000001\noBrand2\noBrandUnknown,100000000003\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "", "brand", "import", "--config", cfg, "--brand-id", emulator.DemoBrandID, "--card-id", emulator.DemoBrandCardID, "--file", file)
	if r.code != cli.ExitRowsRejected || !strings.Contains(r.stdout, "rows 3: imported 1, already done 0, rejected 2, failed 0") {
		t.Fatalf("%+v", r)
	}
	m, ok := sb.Membership(emulator.DemoBrandCardID, "oBrand1")
	if !ok || m.Code != "100000000001" {
		t.Errorf("membership %+v %v", m, ok)
	}
	rej, err := os.ReadFile(file + ".rejects.csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(rej)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "2,oBrand2,,INVALID_ROW,") && !strings.HasPrefix(lines[2], "2,oBrand2,,INVALID_ROW,") ||
		!strings.Contains(string(rej), "3,oBrandUnknown,100000000003,") {
		t.Errorf("rejects:\n%s", rej)
	}
}

// TestImportCommandInput: what Excel writes imports every member; a file whose
// header cannot be used stops before anything is sent, with the usage exit
// status; rows that cannot be sent are rejected locally; the exit status tells
// all imported (0) from rejected rows (7) from incomplete (6).
func TestImportCommandInput(t *testing.T) {
	t.Parallel()
	sb, cfg := sandbox(t)
	for i := range 6 {
		sb.AddUser(emulator.User{OpenID: fmt.Sprintf("oInput%d", i), AppID: emulator.DemoAppID})
	}
	write := func(content string) string {
		t.Helper()
		file := filepath.Join(t.TempDir(), "members.csv")
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	imp := func(file string, extra ...string) result {
		return run(t, nil, "", append([]string{"membercard", "import", "--config", cfg, "--card-id", emulator.DemoCardID, "--file", file}, extra...)...)
	}

	// Excel's CSV UTF-8: byte order mark, CRLF, a header in its own spelling.
	file := write("\uFEFFOpenID,Code\r\noInput0,\r\noInput1,\r\n")
	if r := imp(file); r.code != cli.ExitOK || !strings.Contains(r.stdout, "rows 2: imported 2, already done 0, rejected 0, failed 0") {
		t.Fatalf("Excel file: %+v", r)
	}
	if _, ok := sb.Membership(emulator.DemoCardID, "oInput0"); !ok {
		t.Errorf("the first member of an Excel file was not imported")
	}

	// Unusable headers: exit 2 before anything is sent, no journal, a message saying why.
	for _, tt := range []struct{ content, err string }{
		{"openid,name\noInput2,Ann\n", `the header row names column 2 "name", which is not openid or code`},
		{"用户标识,会员卡号\noInput2,1\n", "names no openid column"},
		{"openid;code\noInput2;1\n", "columns must be separated by commas"},
	} {
		file := write(tt.content)
		r := imp(file)
		if r.code != cli.ExitUsage || !strings.Contains(r.stderr, tt.err) || r.stdout != "" {
			t.Errorf("%q: %+v, want exit 2 and %q", tt.content, r, tt.err)
		}
		if _, err := os.Stat(file + ".journal"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%q: a journal was created", tt.content)
		}
	}
	r := run(t, nil, "", "brand", "import", "--config", cfg, "--brand-id", emulator.DemoBrandID, "--card-id", emulator.DemoBrandCardID, "--file", write("openid\noInput2\n"))
	if r.code != cli.ExitUsage || !strings.Contains(r.stderr, "has no code column, which brand imports need") {
		t.Errorf("brand file without codes: %+v", r)
	}
	if n := len(sb.Memberships(emulator.DemoCardID)); n != 2 {
		t.Errorf("%d memberships after refused files, want 2", n)
	}

	// Rows that cannot be sent are rejected locally, with the reason; nothing
	// reaches the service as U+FFFD.
	file = write("code,openid\n,oInput2\n,o\xffInput3\n,oInput4\x01\n," + strings.Repeat("o", 129) + "\n1234567890123456789012345678901234,oInput5\n")
	r = imp(file)
	if r.code != cli.ExitRowsRejected || !strings.Contains(r.stdout, "rows 5: imported 1, already done 0, rejected 4, failed 0") {
		t.Fatalf("invalid rows: %+v", r)
	}
	rej, err := os.ReadFile(file + ".rejects.csv")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`2,"""o\xffInput3""",,INVALID_ROW,openid is not valid UTF-8`, `3,"""oInput4\x01""",,INVALID_ROW,openid contains a control`,
		"4," + strings.Repeat("o", 128) + "…,,INVALID_ROW,openid longer than 128 characters", "5,oInput5,1234567890123456789012345678901234,INVALID_ROW,code longer than 32 characters"} {
		if !strings.Contains(string(rej), want) {
			t.Errorf("rejects lack %q:\n%s", want, rej)
		}
	}
	for _, m := range sb.Memberships(emulator.DemoCardID) {
		if !utf8.ValidString(m.OpenID) || strings.ContainsRune(m.OpenID, utf8.RuneError) {
			t.Errorf("membership for %q", m.OpenID)
		}
	}

	// Rejected rows and rows left to retry: incomplete (6) wins.
	sb.SetFault("*", emulator.Fault{ErrorRate: 1})
	defer sb.ClearFaults()
	file = write("oInput0\n,\no\xff\n")
	if r := imp(file); r.code != cli.ExitIncomplete || !strings.Contains(r.stdout, "rows 2: imported 0, already done 0, rejected 1, failed 1") {
		t.Errorf("rejected and failed rows: %+v", r)
	}
}

// TestImportCommandDamagedJournal: a damaged journal is refused with a message
// that says what to do, and exit 1; a torn tail is repaired with a notice.
func TestImportCommandDamagedJournal(t *testing.T) {
	t.Parallel()
	sb, cfg := sandbox(t)
	var csv strings.Builder
	for i := range 5 {
		id := fmt.Sprintf("oJournal%d", i)
		sb.AddUser(emulator.User{OpenID: id, AppID: emulator.DemoAppID})
		csv.WriteString(id + "\n")
	}
	file := filepath.Join(t.TempDir(), "members.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"membercard", "import", "--config", cfg, "--card-id", emulator.DemoCardID, "--file", file}
	if r := run(t, nil, "", args...); r.code != cli.ExitOK {
		t.Fatalf("%+v", r)
	}
	journal, err := os.ReadFile(file + ".journal")
	if err != nil {
		t.Fatal(err)
	}
	damaged := append(slices.Clip(journal), "99999999999\tok\n"...)
	if err := os.WriteFile(file+".journal", damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, nil, "", args...)
	if r.code != cli.ExitFailure || !strings.Contains(r.stderr, "line 7: row 99999999999 is not a row of the input, which has 5") ||
		!strings.Contains(r.stderr, "Delete the damaged lines and run again") {
		t.Errorf("damaged journal: %+v", r)
	}
	torn := append(slices.Clip(journal), "3\to"...)
	if err := os.WriteFile(file+".journal", torn, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := run(t, nil, "", args...); r.code != cli.ExitOK || !strings.Contains(r.stderr, "dropped an unterminated last line") {
		t.Errorf("torn journal: %+v", r)
	}
}
