package emulator

import "time"

// Demo payments: orders, refunds and a bill download that SeedDemo creates, so
// that the examples of the queries, close, reverse, refunds and bills work in
// one call. The business day before the fake clock's start (2026-01-01 10:00,
// wxpaytest.Start) is DemoBillDate: its payments and refunds are in the ledger,
// and its bills can be applied for from 09:00 on 2026-01-01.
//
// Direct merchant (the demo merchant):
//   - DemoOutTradeNo: a JSAPI order paid on DemoBillDate by DemoOpenID, 88.00
//     yuan, transaction DemoTransactionID, with two refunds: DemoOutRefundNo
//     (20.00, PROCESSING) and DemoAbnormalOutRefundNo (10.00, ABNORMAL);
//   - DemoUnpaidOutTradeNo: a Native order of 2026-01-01, NOTPAY, to close;
//   - DemoUserPayingOutTradeNo: a payment-code order of 2026-01-01 waiting for
//     its payer (USERPAYING), to reverse.
//
// Sub-merchant DemoSubMchID (orders the demo merchant placed as its service
// provider):
//   - DemoPartnerOutTradeNo: a JSAPI order paid on DemoBillDate by
//     DemoSubOpenID, 29.90 yuan, transaction DemoPartnerTransactionID;
//   - DemoPartnerUnpaidOutTradeNo: NOTPAY, to close;
//   - DemoPartnerUserPayingOutTradeNo: a payment-code order, USERPAYING.
const (
	// DemoBillDate is the day of the demo payments and refunds, the day
	// before wxpaytest's clock starts: its bills are ready.
	DemoBillDate = "2025-12-31"

	// DemoOutTradeNo is the demo merchant's order paid on DemoBillDate.
	DemoOutTradeNo = "1900000001202512310001"
	// DemoTransactionID is WeChat Pay's number of DemoOutTradeNo.
	DemoTransactionID = "4200002917202512318823140675"
	// DemoUnpaidOutTradeNo is an unpaid (NOTPAY) Native order of the demo
	// merchant.
	DemoUnpaidOutTradeNo = "1900000001202601010001"
	// DemoUserPayingOutTradeNo is a payment-code order of the demo merchant
	// whose payer has not confirmed yet (USERPAYING).
	DemoUserPayingOutTradeNo = "1900000001202601010002"

	// DemoPartnerOutTradeNo is DemoSubMchID's order paid on DemoBillDate.
	DemoPartnerOutTradeNo = "1900000109202512310001"
	// DemoPartnerTransactionID is WeChat Pay's number of DemoPartnerOutTradeNo.
	DemoPartnerTransactionID = "4200002931202512319054387162"
	// DemoPartnerUnpaidOutTradeNo is an unpaid (NOTPAY) JSAPI order of
	// DemoSubMchID.
	DemoPartnerUnpaidOutTradeNo = "1900000109202601010001"
	// DemoPartnerUserPayingOutTradeNo is a payment-code order of DemoSubMchID
	// whose payer has not confirmed yet (USERPAYING).
	DemoPartnerUserPayingOutTradeNo = "1900000109202601010002"

	// DemoOutRefundNo is a refund of 20.00 yuan of DemoOutTradeNo, applied
	// for on DemoBillDate and still PROCESSING; DemoRefundID is WeChat Pay's
	// number of it.
	DemoOutRefundNo = "1900000001202512310001-R1"
	DemoRefundID    = "50000305202512317305436281946"
	// DemoAbnormalOutRefundNo is a refund of 10.00 yuan of DemoOutTradeNo that
	// the payer's account could not take (ABNORMAL): apply an abnormal refund
	// to send it again. DemoAbnormalRefundID is WeChat Pay's number of it.
	DemoAbnormalOutRefundNo = "1900000001202512310001-R2"
	DemoAbnormalRefundID    = "50000305202512317306918274530"

	// DemoBillToken is the token of the download URL of DemoBillDate's trade
	// bill (ALL, uncompressed), as GetTradeBill would answer it.
	DemoBillToken = "Yc4eBq7Hd2rXk9LmN3pS5tV8wZ1aF6gJ0uQ2xR7y"
)

// demoPayNotifyURL is where the demo orders' notifications would go.
const demoPayNotifyURL = "https://wxpay.example/pay/notify"

// demoBillTokenLifetime: a download URL is valid for 30 seconds; the demo's is
// valid for a day from seeding, so that it works in the examples (whose clock
// does not move) and in a sandbox session on a real clock alike.
const demoBillTokenLifetime = 24 * time.Hour

// demoTime parses a fixed time of the demo fixtures (China time).
func demoTime(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, cst)
	if err != nil {
		panic("emulator: demo time " + s) // a constant of this file
	}
	return t
}

// seedDemoPayments stores the demo orders and refunds of merchant mchID (and of
// DemoSubMchID, its sub-merchant), their ledger entries and the download of
// DemoBillDate's trade bill. Fixed values only: seeding draws nothing from the
// seeded random source, so that every other answer stays as it was.
func (e *Emulator) seedDemoPayments(mchID string) {
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	add := func(o *Order) *Order {
		s.pay.orders[o.key()] = o
		if o.TransactionID != "" {
			s.pay.byTxn[o.TransactionID] = o
			s.recordPayment(o)
		}
		return o
	}
	paid := add(&Order{MchID: mchID, AppID: DemoAppID, OpenID: DemoOpenID, OutTradeNo: DemoOutTradeNo,
		TransactionID: DemoTransactionID, TradeType: "JSAPI", State: TradeSuccess, Description: "演示品牌-会员年卡",
		Attach: "store=SZ001", NotifyURL: demoPayNotifyURL, Total: 8800, Currency: "CNY",
		PrepayID:   "wx20251231152950a1b2c3d4e5f6a7b8c9d0",
		PrepayTime: demoTime("2025-12-31 15:29:50"), Created: demoTime("2025-12-31 15:29:50"),
		SuccessTime: demoTime("2025-12-31 15:30:12")})
	add(&Order{MchID: mchID, SubMchID: DemoSubMchID, AppID: DemoAppID, SubAppID: DemoSubAppID, SubOpenID: DemoSubOpenID,
		OutTradeNo: DemoPartnerOutTradeNo, TransactionID: DemoPartnerTransactionID, TradeType: "JSAPI", State: TradeSuccess,
		Description: "演示门店-拿铁咖啡", NotifyURL: demoPayNotifyURL, Total: 2990, Currency: "CNY",
		PrepayID:   "wx20251231120830f0e1d2c3b4a596877869",
		PrepayTime: demoTime("2025-12-31 12:08:30"), Created: demoTime("2025-12-31 12:08:30"),
		SuccessTime: demoTime("2025-12-31 12:08:45")})
	add(&Order{MchID: mchID, AppID: DemoAppID, OutTradeNo: DemoUnpaidOutTradeNo, TradeType: "NATIVE", State: TradeNotPay,
		Description: "演示品牌-月度会员", NotifyURL: demoPayNotifyURL, Total: 1500, Currency: "CNY",
		PrepayID: "wx202601010942183c9e07b1d4a25f6e8b10", PrepayTime: demoTime("2026-01-01 09:42:18"),
		Created: demoTime("2026-01-01 09:42:18"), Expire: demoTime("2026-01-01 11:42:18")})
	add(&Order{MchID: mchID, SubMchID: DemoSubMchID, AppID: DemoAppID, SubAppID: DemoSubAppID, SubOpenID: DemoSubOpenID,
		OutTradeNo: DemoPartnerUnpaidOutTradeNo, TradeType: "JSAPI", State: TradeNotPay, Description: "演示门店-美式咖啡",
		NotifyURL: demoPayNotifyURL, Total: 2490, Currency: "CNY",
		PrepayID: "wx202601010946337d2a91c4e6b03f58a1c9", PrepayTime: demoTime("2026-01-01 09:46:33"),
		Created: demoTime("2026-01-01 09:46:33"), Expire: demoTime("2026-01-01 11:46:33")})
	// The payer behind a payment code is the AppID's user, as codePay picks it.
	add(&Order{MchID: mchID, AppID: DemoAppID, OpenID: DemoOpenID, OutTradeNo: DemoUserPayingOutTradeNo,
		TradeType: "MICROPAY", State: TradeUserPaying, Description: "演示便利店-矿泉水", Total: 400, Currency: "CNY",
		Created: demoTime("2026-01-01 09:58:03"), DeviceID: "POS-0001"})
	add(&Order{MchID: mchID, SubMchID: DemoSubMchID, AppID: DemoAppID, SubAppID: DemoSubAppID, SubOpenID: DemoSubOpenID,
		OutTradeNo: DemoPartnerUserPayingOutTradeNo, TradeType: "MICROPAY", State: TradeUserPaying,
		Description: "演示门店-可颂", Total: 1800, Currency: "CNY", Created: demoTime("2026-01-01 09:59:27"), DeviceID: "POS-0002"})

	for _, rf := range []*Refund{
		{MchID: mchID, RefundID: DemoRefundID, OutRefundNo: DemoOutRefundNo, Amount: 2000, Status: RefundProcessing,
			Created: demoTime("2025-12-31 16:12:30")},
		{MchID: mchID, RefundID: DemoAbnormalRefundID, OutRefundNo: DemoAbnormalOutRefundNo, Amount: 1000, Status: RefundAbnormal,
			Created: demoTime("2025-12-31 17:05:41")},
	} {
		rf.OutTradeNo, rf.TransactionID, rf.order = paid.OutTradeNo, paid.TransactionID, paid
		rf.Channel, rf.Account, rf.NotifyURL = "ORIGINAL", "支付用户零钱", paid.NotifyURL
		paid.Refunded += rf.Amount
		s.pay.refunds[refundKey{rf.MchID, rf.SubMchID, rf.OutRefundNo}] = rf
		s.pay.refundByID[rf.RefundID] = rf
		s.recordRefund(rf)
	}

	// The download URL of DemoBillDate's trade bill (ALL), as tradeBill makes
	// it from the ledger.
	day := demoTime(DemoBillDate + " 00:00:00")
	var rows []ledgerEntry
	for _, le := range s.pay.ledger {
		if sameDay(le.at, day) && le.order.MchID == mchID {
			rows = append(rows, le)
		}
	}
	s.pay.downloads[DemoBillToken] = &download{token: DemoBillToken, mchID: mchID,
		expires: e.now().Add(demoBillTokenLifetime), file: tradeBillFile("ALL", rows)}
}
