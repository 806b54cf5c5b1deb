package pay

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/wxpaykit/wxpay/internal/wire"
)

// After a prepay, the payer's device starts the payment with parameters the
// merchant signs: JSAPIPayment for a web page in WeChat or a mini program,
// AppPayment for the App OpenSDK. The merchant key signs them (SHA256-RSA,
// Base64), over the lines the documentation fixes, each ending in "\n".

// JSAPIPayment is what WeixinJSBridge.invoke('getBrandWCPayRequest'),
// wx.requestPayment (mini programs) and wx.chooseWXPay take; it marshals to
// exactly their names. PaySign covers appId, timeStamp, nonceStr and package.
type JSAPIPayment struct {
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"` // Unix seconds
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`  // prepay_id=…
	SignType  string `json:"signType"` // RSA
	PaySign   string `json:"paySign"`
}

// SignedMessage is what PaySign signs: appId\ntimeStamp\nnonceStr\npackage\n.
func (p *JSAPIPayment) SignedMessage() []byte {
	return lines(p.AppID, p.TimeStamp, p.NonceStr, p.Package)
}

// AppPayment is what the App OpenSDK's PayReq takes (APP调起支付); it marshals to
// the documented names. Sign covers appid, timestamp, noncestr and prepayid.
type AppPayment struct {
	AppID     string `json:"appid"`
	PartnerID string `json:"partnerid"` // the merchant ID
	PrepayID  string `json:"prepayid"`
	Package   string `json:"package"` // Sign=WXPay
	NonceStr  string `json:"noncestr"`
	Timestamp string `json:"timestamp"` // Unix seconds
	Sign      string `json:"sign"`
}

// SignedMessage is what Sign signs: appid\ntimestamp\nnoncestr\nprepayid\n.
func (p *AppPayment) SignedMessage() []byte {
	return lines(p.AppID, p.Timestamp, p.NonceStr, p.PrepayID)
}

// PaymentSigner signs front-end payment parameters with the merchant key.
// Key is required; Now and Rand default to time.Now and crypto/rand.
type PaymentSigner struct {
	Key  crypto.Signer // the merchant API private key, or any RSA crypto.Signer (a KMS key)
	Now  func() time.Time
	Rand io.Reader
}

// ErrPaymentParams is wrapped by the errors of PaymentSigner.
var ErrPaymentParams = errors.New("pay: cannot sign payment parameters")

// JSAPI returns the signed parameters for a JSAPI or mini-program payment of
// prepayID (from PrepayJSAPI or PartnerPrepayJSAPI). appID is the AppID the
// order was placed with: the official account's or mini program's (for a
// service provider, sub_appid when the payer was given as sub_openid, else
// sp_appid).
func (s PaymentSigner) JSAPI(appID, prepayID string) (*JSAPIPayment, error) {
	if appID == "" || prepayID == "" {
		return nil, fmt.Errorf("%w: appID and prepayID are required", ErrPaymentParams)
	}
	ts, nonce, err := s.stamp()
	if err != nil {
		return nil, err
	}
	p := &JSAPIPayment{AppID: appID, TimeStamp: ts, NonceStr: nonce, Package: "prepay_id=" + prepayID, SignType: "RSA"}
	if p.PaySign, err = s.sign(p.SignedMessage()); err != nil {
		return nil, err
	}
	return p, nil
}

// App returns the signed parameters for an App payment of prepayID (from
// PrepayApp or PartnerPrepayApp). partnerID is the merchant ID that placed the
// order (for a service provider, as its documentation says for the sub-merchant).
func (s PaymentSigner) App(appID, partnerID, prepayID string) (*AppPayment, error) {
	if appID == "" || partnerID == "" || prepayID == "" {
		return nil, fmt.Errorf("%w: appID, partnerID and prepayID are required", ErrPaymentParams)
	}
	ts, nonce, err := s.stamp()
	if err != nil {
		return nil, err
	}
	p := &AppPayment{AppID: appID, PartnerID: partnerID, PrepayID: prepayID, Package: "Sign=WXPay", NonceStr: nonce, Timestamp: ts}
	if p.Sign, err = s.sign(p.SignedMessage()); err != nil {
		return nil, err
	}
	return p, nil
}

// ErrPaySign is wrapped by the errors of VerifyPaySign: the signature is not
// Base64, or does not verify with the key.
var ErrPaySign = errors.New("pay: the payment signature does not verify")

// VerifyPaySign checks a signature over message with the merchant's public
// key, as a front end or a test would: SHA256-RSA, Base64.
func VerifyPaySign(pub *rsa.PublicKey, message []byte, signature string) error {
	if pub == nil {
		return fmt.Errorf("%w: no public key", ErrPaySign)
	}
	sig, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return fmt.Errorf("%w: the signature is not standard Base64", ErrPaySign)
	}
	d := sha256.Sum256(message)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig); err != nil {
		return fmt.Errorf("%w: %w", ErrPaySign, err)
	}
	return nil
}

func (s PaymentSigner) stamp() (ts, nonce string, err error) {
	if s.Key == nil {
		return "", "", fmt.Errorf("%w: no key", ErrPaymentParams)
	}
	if _, ok := s.Key.Public().(*rsa.PublicKey); !ok {
		// signType is RSA: another key would sign something no front end verifies.
		return "", "", fmt.Errorf("%w: the key is %T, not RSA", ErrPaymentParams, s.Key.Public())
	}
	now, rnd := s.Now, s.Rand
	if now == nil {
		now = time.Now
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	b, err := wire.AppendNonce(nil, rnd)
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrPaymentParams, err)
	}
	return strconv.FormatInt(now().Unix(), 10), string(b), nil
}

func (s PaymentSigner) sign(message []byte) (string, error) {
	d := sha256.Sum256(message)
	rnd := s.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	sig, err := s.Key.Sign(rnd, d[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrPaymentParams, err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

func lines(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, '\n')
	}
	return b
}
