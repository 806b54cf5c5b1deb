package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wxpaykit/wxpay"
)

const connectionHelp = `Connection settings (a flag wins over WXPAY_* environment, which wins over --config):
  --config FILE         JSON file with any of: base_url, backup_url, mchid, serial, private_key_file,
                        public_key_id, public_key_file, certificate_files, apiv3_key_file, apiv3_key
                        (relative paths are relative to the file)              WXPAY_CONFIG
  --base-url URL        API base URL, e.g. an emulator's http://127.0.0.1:8080   WXPAY_BASE_URL
  --mchid ID            merchant ID (商户号)                                       WXPAY_MCHID
  --serial HEX          merchant API certificate serial (商户API证书序列号)          WXPAY_SERIAL
  --private-key FILE    merchant API private key (apiclient_key.pem)             WXPAY_PRIVATE_KEY_FILE
  --public-key-id ID    WeChat Pay public key ID (PUB_KEY_ID_…)                  WXPAY_PUBLIC_KEY_ID
  --public-key FILE     WeChat Pay public key (pub_key.pem)                      WXPAY_PUBLIC_KEY_FILE
  --certificate FILE    platform certificate; repeatable                         WXPAY_CERTIFICATE_FILES (a,b)
  --apiv3-key-file FILE file holding the 32-byte APIv3 key                       WXPAY_APIV3_KEY_FILE
                        (or the key itself in WXPAY_APIV3_KEY)
Secrets are read from files or the environment, never from flags: flags show in ps.`

// settings is the merged connection configuration.
type settings struct {
	BaseURL          string   `json:"base_url"`
	BackupURL        string   `json:"backup_url"`
	MchID            string   `json:"mchid"`
	Serial           string   `json:"serial"`
	PrivateKeyFile   string   `json:"private_key_file"`
	PublicKeyID      string   `json:"public_key_id"`
	PublicKeyFile    string   `json:"public_key_file"`
	CertificateFiles []string `json:"certificate_files"`
	APIv3KeyFile     string   `json:"apiv3_key_file"`
	APIv3Key         string   `json:"apiv3_key"`
}

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// connFlags are the flags of every command that talks to an API.
type connFlags struct {
	config  string
	s       settings
	certs   stringList
	timeout time.Duration
	verbose bool
}

func (c *connFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.config, "config", "", "JSON configuration file")
	fs.StringVar(&c.s.BaseURL, "base-url", "", "API base URL (default https://api.mch.weixin.qq.com)")
	fs.StringVar(&c.s.MchID, "mchid", "", "merchant ID")
	fs.StringVar(&c.s.Serial, "serial", "", "merchant API certificate serial")
	fs.StringVar(&c.s.PrivateKeyFile, "private-key", "", "merchant API private key `file`")
	fs.StringVar(&c.s.PublicKeyID, "public-key-id", "", "WeChat Pay public key ID (PUB_KEY_ID_…)")
	fs.StringVar(&c.s.PublicKeyFile, "public-key", "", "WeChat Pay public key `file`")
	fs.Var(&c.certs, "certificate", "platform certificate `file` (repeatable)")
	fs.StringVar(&c.s.APIv3KeyFile, "apiv3-key-file", "", "`file` holding the APIv3 key")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "timeout of each HTTP attempt")
	fs.BoolVar(&c.verbose, "v", false, "log every HTTP attempt to stderr (never secrets)")
}

// resolve merges flags, environment and the config file.
func (c *connFlags) resolve(io IO) (settings, error) {
	var file settings
	path := first(c.config, io.Getenv("WXPAY_CONFIG"))
	if path != "" {
		b, err := readSmallFile(path)
		if err != nil {
			return settings{}, fmt.Errorf("config: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&file); err != nil {
			return settings{}, fmt.Errorf("config %s: %w", path, err)
		}
		dir := filepath.Dir(path)
		rel := func(p string) string {
			if p == "" || filepath.IsAbs(p) {
				return p
			}
			return filepath.Join(dir, p)
		}
		file.PrivateKeyFile, file.PublicKeyFile, file.APIv3KeyFile = rel(file.PrivateKeyFile), rel(file.PublicKeyFile), rel(file.APIv3KeyFile)
		for i, p := range file.CertificateFiles {
			file.CertificateFiles[i] = rel(p)
		}
	}
	env := func(name string) string { return io.Getenv("WXPAY_" + name) }
	var envCerts []string
	if v := env("CERTIFICATE_FILES"); v != "" {
		envCerts = strings.Split(v, ",")
	}
	s := settings{
		BaseURL:          first(c.s.BaseURL, env("BASE_URL"), file.BaseURL),
		BackupURL:        first(env("BACKUP_URL"), file.BackupURL),
		MchID:            first(c.s.MchID, env("MCHID"), file.MchID),
		Serial:           first(c.s.Serial, env("SERIAL"), file.Serial),
		PrivateKeyFile:   first(c.s.PrivateKeyFile, env("PRIVATE_KEY_FILE"), file.PrivateKeyFile),
		PublicKeyID:      first(c.s.PublicKeyID, env("PUBLIC_KEY_ID"), file.PublicKeyID),
		PublicKeyFile:    first(c.s.PublicKeyFile, env("PUBLIC_KEY_FILE"), file.PublicKeyFile),
		CertificateFiles: firstList(c.certs, envCerts, file.CertificateFiles),
		APIv3KeyFile:     first(c.s.APIv3KeyFile, env("APIV3_KEY_FILE"), file.APIv3KeyFile),
		APIv3Key:         first(env("APIV3_KEY"), file.APIv3Key),
	}
	return s, nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstList(ls ...[]string) []string {
	for _, l := range ls {
		if len(l) > 0 {
			return l
		}
	}
	return nil
}

// options turns the settings into client options. withPlatformKeys is false for
// the certificate download, which needs none.
func (c *connFlags) options(io IO, s settings, withPlatformKeys bool) ([]wxpay.Option, error) {
	var missing []string
	if s.MchID == "" {
		missing = append(missing, "--mchid")
	}
	if s.Serial == "" {
		missing = append(missing, "--serial")
	}
	if s.PrivateKeyFile == "" {
		missing = append(missing, "--private-key")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing %s (or the WXPAY_* variables, or --config); see --help", strings.Join(missing, ", "))
	}
	key, err := wxpay.LoadPrivateKeyFile(s.PrivateKeyFile)
	if err != nil {
		return nil, err
	}
	opts := []wxpay.Option{
		wxpay.WithMerchant(s.MchID, s.Serial, key),
		wxpay.WithTimeout(c.timeout),
		wxpay.WithUserAgent("wxpay-cli/" + wxpay.Version),
	}
	if s.BaseURL != "" {
		opts = append(opts, wxpay.WithBaseURL(s.BaseURL))
	}
	if s.BackupURL != "" {
		opts = append(opts, wxpay.WithBackupURL(s.BackupURL))
	}
	if c.verbose {
		opts = append(opts, wxpay.WithLogger(slog.New(slog.NewTextHandler(io.Stderr, nil))))
	}
	if !withPlatformKeys {
		return opts, nil
	}
	if (s.PublicKeyID == "") != (s.PublicKeyFile == "") {
		return nil, errors.New("--public-key-id and --public-key go together")
	}
	if s.PublicKeyFile != "" {
		pub, err := wxpay.LoadPublicKeyFile(s.PublicKeyFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, wxpay.WithPlatformPublicKey(s.PublicKeyID, pub))
	}
	for _, p := range s.CertificateFiles {
		cert, err := wxpay.LoadCertificateFile(p)
		if err != nil {
			return nil, err
		}
		opts = append(opts, wxpay.WithPlatformCertificate(cert))
	}
	return opts, nil
}

func (c *connFlags) client(io IO) (*wxpay.Client, settings, error) {
	s, err := c.resolve(io)
	if err != nil {
		return nil, s, err
	}
	opts, err := c.options(io, s, true)
	if err != nil {
		return nil, s, err
	}
	cl, err := wxpay.NewClient(opts...)
	return cl, s, err
}

// apiV3Key reads the APIv3 key from WXPAY_APIV3_KEY / the config, or its file.
func (s settings) apiV3Key() (wxpay.APIv3Key, error) {
	raw := s.APIv3Key
	if raw == "" && s.APIv3KeyFile != "" {
		b, err := readSmallFile(s.APIv3KeyFile)
		if err != nil {
			return wxpay.APIv3Key{}, err
		}
		raw = strings.TrimRight(string(b), "\r\n \t")
	}
	if raw == "" {
		return wxpay.APIv3Key{}, errors.New("no APIv3 key: set --apiv3-key-file, WXPAY_APIV3_KEY_FILE or WXPAY_APIV3_KEY")
	}
	return wxpay.ParseAPIv3Key(raw)
}

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 1<<20 {
		return nil, fmt.Errorf("%s is larger than 1 MiB", path)
	}
	return b, nil
}
