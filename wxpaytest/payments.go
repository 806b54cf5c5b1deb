package wxpaytest

import (
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
