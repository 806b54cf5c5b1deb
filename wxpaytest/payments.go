package wxpaytest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/emulator"
)

// The payer's and the bank's side of payments, for the demo merchant
// (emulator.DemoMchID); for a sub-merchant's orders or another merchant, call
// the same methods of s.Emulator with its mchid.

// Pay plays the payer of an order: SUCCESS pays it (and delivers
// TRANSACTION.SUCCESS to its notify_url), PAYERROR fails it, USERPAYING leaves
// it waiting.
func (s *Server) Pay(outTradeNo, result string) (emulator.Order, error) {
	return s.Emulator.Pay(emulator.DemoMchID, outTradeNo, result)
}

// SettleRefund ends a PROCESSING refund as SUCCESS (""), ABNORMAL or CLOSED,
// delivering its REFUND.* notification.
func (s *Server) SettleRefund(outRefundNo, result string) (emulator.Refund, error) {
	return s.Emulator.SettleRefund(emulator.DemoMchID, outRefundNo, result)
}

// EndDay ends the business day of the server's clock, so that its bills can
// be applied for at once, and returns its date (YYYY-MM-DD).
func (s *Server) EndDay() (string, error) {
	date := s.Now().In(Start.Location()).Format("2006-01-02")
	return date, s.Emulator.EndDay(date)
}

// ErrPaymentRefused is wrapped by the errors of VerifyJSAPIPayment and
// VerifyAppPayment: WeChat would not start the payment with these parameters.
// A signature that does not verify also wraps pay.ErrPaySign.
var ErrPaymentRefused = errors.New("wxpaytest: WeChat would refuse these payment parameters")

// prepayLifetime is the emulator's: a prepay_id is valid for two hours.
const prepayLifetime = 2 * time.Hour

// VerifyJSAPIPayment checks the parameters a page passes to wx.requestPayment
// (or WeixinJSBridge, wx.chooseWXPay) as WeChat does before it shows the
// payment: signType RSA, paySign the merchant key's SHA256-RSA signature over
// appId, timeStamp, nonceStr and package, package "prepay_id=" a prepay_id this
// server handed out for a JSAPI order less than two hours ago, the order still
// payable, and appId the AppID of the order's payer (appid; for a service
// provider's order sub_appid when the payer is a sub_openid, else sp_appid).
func (s *Server) VerifyJSAPIPayment(p *pay.JSAPIPayment) error {
	if p == nil {
		return fmt.Errorf("%w: no parameters", ErrPaymentRefused)
	}
	if p.SignType != "RSA" {
		return fmt.Errorf("%w: signType %q is not RSA", ErrPaymentRefused, p.SignType)
	}
	prepayID, ok := strings.CutPrefix(p.Package, "prepay_id=")
	if !ok {
		return fmt.Errorf("%w: package %q is not prepay_id=…", ErrPaymentRefused, p.Package)
	}
	if err := s.checkStampAndSign(p.TimeStamp, p.NonceStr, p.SignedMessage(), p.PaySign); err != nil {
		return err
	}
	o, err := s.payableOrder(prepayID, "JSAPI")
	if err != nil {
		return err
	}
	if want := payerAppID(o); p.AppID != want {
		return fmt.Errorf("%w: appId %q, the order's payer is a user of %q", ErrPaymentRefused, p.AppID, want)
	}
	return nil
}

// VerifyAppPayment checks the parameters an app passes to the OpenSDK's PayReq
// as WeChat does: package Sign=WXPay, sign the merchant key's SHA256-RSA
// signature over appid, timestamp, noncestr and prepayid, prepayid handed out
// by this server for an App order less than two hours ago and still payable,
// appid the order's (sub_appid of a service provider's order that has one,
// else sp_appid) and partnerid the merchant that placed it (the sub-merchant
// for a service provider's order).
func (s *Server) VerifyAppPayment(p *pay.AppPayment) error {
	if p == nil {
		return fmt.Errorf("%w: no parameters", ErrPaymentRefused)
	}
	if p.Package != "Sign=WXPay" {
		return fmt.Errorf("%w: package %q is not Sign=WXPay", ErrPaymentRefused, p.Package)
	}
	if err := s.checkStampAndSign(p.Timestamp, p.NonceStr, p.SignedMessage(), p.Sign); err != nil {
		return err
	}
	o, err := s.payableOrder(p.PrepayID, "APP")
	if err != nil {
		return err
	}
	appID, partnerID := o.AppID, o.MchID
	if o.SubMchID != "" {
		partnerID = o.SubMchID
		if o.SubAppID != "" {
			appID = o.SubAppID
		}
	}
	switch {
	case p.AppID != appID:
		return fmt.Errorf("%w: appid %q, the order's is %q", ErrPaymentRefused, p.AppID, appID)
	case p.PartnerID != partnerID:
		return fmt.Errorf("%w: partnerid %q, the order's merchant is %q", ErrPaymentRefused, p.PartnerID, partnerID)
	}
	return nil
}

func (s *Server) checkStampAndSign(ts, nonce string, message []byte, sig string) error {
	if _, err := strconv.ParseUint(ts, 10, 63); err != nil || len(ts) > 10 {
		return fmt.Errorf("%w: timestamp %q is not Unix seconds", ErrPaymentRefused, ts)
	}
	if nonce == "" || len(nonce) > 32 {
		return fmt.Errorf("%w: the nonce must be 1 to 32 characters", ErrPaymentRefused)
	}
	if err := pay.VerifyPaySign(&s.MerchantKey().PublicKey, message, sig); err != nil {
		return fmt.Errorf("%w: %w", ErrPaymentRefused, err)
	}
	return nil
}

// payableOrder finds the order of a prepay_id and checks that it can still be
// paid with it.
func (s *Server) payableOrder(prepayID, tradeType string) (emulator.Order, error) {
	if prepayID != "" {
		for _, o := range s.Emulator.Orders("") {
			if o.PrepayID != prepayID {
				continue
			}
			now := s.Now()
			switch {
			case o.TradeType != tradeType:
				return o, fmt.Errorf("%w: prepay_id %s is of a %s order, not %s", ErrPaymentRefused, prepayID, o.TradeType, tradeType)
			case !now.Before(o.PrepayTime.Add(prepayLifetime)):
				return o, fmt.Errorf("%w: prepay_id %s expired at %s", ErrPaymentRefused, prepayID, o.PrepayTime.Add(prepayLifetime).Format(time.RFC3339))
			case o.State != emulator.TradeNotPay:
				return o, fmt.Errorf("%w: order %s is %s", ErrPaymentRefused, o.OutTradeNo, o.State)
			case !o.Expire.IsZero() && !now.Before(o.Expire):
				return o, fmt.Errorf("%w: order %s expired at its time_expire", ErrPaymentRefused, o.OutTradeNo)
			}
			return o, nil
		}
	}
	return emulator.Order{}, fmt.Errorf("%w: prepay_id %q was not handed out by this server (or was renewed)", ErrPaymentRefused, prepayID)
}

// payerAppID is the AppID a JSAPI order's payer belongs to.
func payerAppID(o emulator.Order) string {
	if o.SubOpenID != "" {
		return o.SubAppID
	}
	return o.AppID
}
