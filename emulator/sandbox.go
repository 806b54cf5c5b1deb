package emulator

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"

	"github.com/wxpaykit/wxpay"
)

// Sandbox is an emulator whose keys live in a directory, so that an SDK in any
// language can be pointed at it. Files (created on first use, reused after):
//
//	apiclient_key.pem  the merchant API private key (PKCS#8)          0600
//	merchant.json      {"mchid", "serial", "public_key_id", "appid", "openid"}
//	pub_key.pem        the WeChat Pay public key (SPKI)
//	apiv3.key          the 32-byte APIv3 key                          0600
//	emulator_key.pem   the emulator's own private key (never for clients) 0600
//	wxpay.json         a config for the wxpay CLI (WriteConfig)
type Sandbox struct {
	*Emulator
	Dir            string
	MchID          string
	MerchantSerial string
	PublicKeyID    string
	APIv3Key       wxpay.APIv3Key
	MerchantKey    *rsa.PrivateKey
	// PlatformPublicKey is the WeChat Pay public key clients verify with.
	PlatformPublicKey *rsa.PublicKey
}

type sandboxMeta struct {
	MchID       string `json:"mchid"`
	Serial      string `json:"serial"`
	PublicKeyID string `json:"public_key_id"`
	// AppID is bound to the merchant and OpenID is a payer of it, so that a
	// test in any language can place an order at once.
	AppID  string `json:"appid"`
	OpenID string `json:"openid"`
}

// OpenSandbox loads or creates the key set in dir and returns an emulator in
// public-key mode with the demo fixtures. Extra options are applied after the
// sandbox's own.
func OpenSandbox(dir string, opts ...Option) (*Sandbox, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := func(name string) string { return filepath.Join(dir, name) }
	meta := sandboxMeta{MchID: DemoMchID, PublicKeyID: DemoPublicKeyID}
	b, err := os.ReadFile(path("merchant.json"))
	switch {
	case err == nil:
		if err := json.Unmarshal(b, &meta); err != nil {
			return nil, fmt.Errorf("emulator: %s: %w", path("merchant.json"), err)
		}
	case errors.Is(err, os.ErrNotExist):
		n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 160))
		if err != nil {
			return nil, err
		}
		meta.Serial = strings.ToUpper(fmt.Sprintf("%040x", n))
	default:
		return nil, err
	}
	if meta.AppID == "" || meta.OpenID == "" || err != nil {
		// New, or written before the file named the payer's AppID and OpenID.
		meta.AppID, meta.OpenID = DemoAppID, DemoOpenID
		b, _ := json.MarshalIndent(meta, "", "  ")
		if err := os.WriteFile(path("merchant.json"), append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
	}
	merchantKey, err := loadOrCreateKey(path("apiclient_key.pem"))
	if err != nil {
		return nil, err
	}
	platformKey, err := loadOrCreateKey(path("emulator_key.pem"))
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(&platformKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path("pub_key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki}), 0o644); err != nil {
		return nil, err
	}
	keyText, err := os.ReadFile(path("apiv3.key"))
	if errors.Is(err, os.ErrNotExist) {
		keyText = []byte(randomText(32))
		err = os.WriteFile(path("apiv3.key"), append(keyText, '\n'), 0o600)
	}
	if err != nil {
		return nil, err
	}
	apiKey, err := wxpay.ParseAPIv3Key(strings.TrimSpace(string(keyText)))
	if err != nil {
		return nil, fmt.Errorf("emulator: %s: %w", path("apiv3.key"), err)
	}
	e, err := New(append([]Option{
		WithMerchant(meta.MchID, meta.Serial, &merchantKey.PublicKey),
		WithPublicKey(meta.PublicKeyID, platformKey),
		WithAPIv3Key(apiKey),
	}, opts...)...)
	if err != nil {
		return nil, err
	}
	if err := e.SeedDemo(meta.MchID); err != nil {
		return nil, err
	}
	return &Sandbox{Emulator: e, Dir: dir, MchID: meta.MchID, MerchantSerial: meta.Serial, PublicKeyID: meta.PublicKeyID,
		APIv3Key: apiKey, MerchantKey: merchantKey, PlatformPublicKey: &platformKey.PublicKey}, nil
}

// WriteConfig writes wxpay.json: everything the wxpay CLI needs to call the
// emulator at baseURL (wxpay --config DIR/wxpay.json call …).
func (s *Sandbox) WriteConfig(baseURL string) (string, error) {
	cfg := map[string]any{
		"base_url": baseURL, "mchid": s.MchID, "serial": s.MerchantSerial,
		"private_key_file": "apiclient_key.pem", "public_key_id": s.PublicKeyID, "public_key_file": "pub_key.pem",
		"apiv3_key_file": "apiv3.key",
	}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	p := filepath.Join(s.Dir, "wxpay.json")
	return p, os.WriteFile(p, append(b, '\n'), 0o644)
}

func loadOrCreateKey(path string) (*rsa.PrivateKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		return wxpay.LoadPrivateKey(b)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return k, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

func randomText(n int) string {
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alnum[v.Int64()]
	}
	return string(b)
}

// Format implements fmt.Formatter so that no verb prints the keys.
func (s *Sandbox) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "emulator.Sandbox{dir: %s, mchid: %s, serial: %s, public key ID: %s}", s.Dir, s.MchID, s.MerchantSerial, s.PublicKeyID)
}
