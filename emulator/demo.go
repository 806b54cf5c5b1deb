package emulator

import "time"

// Demo fixtures: what SeedDemo creates, so that examples and the demo are short.
//
// DemoOpenID and DemoOpenID2 hold no card: they are the users to import or
// to issue tokens for. DemoMemberOpenID is an existing member, with a user
// card on DemoRealTimeCardID and one on DemoBrandCardID, for the operations
// on user cards. DemoCardID has no members, so that an import into it starts
// from an empty card.
const (
	DemoMchID          = "1900000001" // the merchant / service provider
	DemoMerchantSerial = "3775B6A45ACD588826D15E583A95F5DD00000001"
	DemoPublicKeyID    = "PUB_KEY_ID_0114232134912410000000000000"
	DemoBrandID        = "1004"
	DemoBrandCardID    = "pbLatk2mlDt6bd5s2WtD9h0YxBrd" // brand card-member template of DemoBrandID
	DemoCardID         = "pbLatjvWOibDc5-TBnbUk1pD12o0" // membercard-open template, SYSTEM_ALLOCATE codes
	DemoRealTimeCardID = "pbLatjvWOibDc5-TBnbUk1pRT001" // membercard-open template, REAL_TIME codes
	DemoDepositCardID  = "pbLatjvWOibDc5-TBnbUk1pMD001" // membercard-open template, MERCHANT_DEPOSIT codes (none deposited)
	DemoOpenID         = "obLatjnx9gnqzS4myYGmLZ7LgLBA"
	DemoOpenID2        = "onqOjjmo8wmTOOtSKwXtGjg9Gb58"
	DemoMemberOpenID   = "obLatjs2DwKq7vE3mR8cYpUh4NfZ" // holds DemoMemberCode and DemoBrandUserCardCode
	DemoAppID          = "wxea9c30890f48d5ae"
	DemoSubMchID       = "1900000109"
	DemoSubAppID       = "wxa1111111"

	// DemoMemberCode is DemoMemberOpenID's card on DemoRealTimeCardID:
	// EFFECTIVE, membership number DemoMembershipNumber, level 银卡, balance 0,
	// 1082 points.
	DemoMemberCode       = "830205716094"
	DemoMembershipNumber = "VIP00012345"
	// DemoBrandUserCardCode is DemoMemberOpenID's user card on
	// DemoBrandCardID: EFFECTIVE, permanent, level 银卡.
	DemoBrandUserCardCode = "300218754602"
	// DemoActivityID is a brand-member coupon activity of DemoBrandID on
	// DemoBrandCardID, in effect from 2025-12-01 to the end of 2026.
	DemoActivityID = "371058"
	// DemoActivateTicket is the activate_ticket of the sign-up form
	// DemoMemberOpenID submitted to activate DemoMemberCode (the
	// JUMP_ACTIVATE flow): GetMembercardActivateInformation answers it.
	DemoActivateTicket = "fDZv9eMQAFfrNr3XBoqhb9TEGRC6omCtrfRfhgTDOM8"
	// DemoPointExchangeRecordID is a pending points-for-coupon exchange of
	// DemoBrandUserCardCode (100 points, template
	// DemoExchangeCouponTemplateID, stock of DemoActivityID), for
	// ConfirmBrandPointExchange.
	DemoPointExchangeRecordID = "5200000001202601010001"
	// DemoExchangeCouponTemplateID is the points-exchange template of the
	// demo exchanges.
	DemoExchangeCouponTemplateID = "1000000123"
	// DemoNotifyURL is the membercard-open callback URL of the merchant.
	DemoNotifyURL = "https://wxpay.example/membercard/notify"
)

// demoJoined is when DemoMemberOpenID received the demo cards.
const demoJoined = "2025-12-15T14:30:00+08:00"

// SeedDemo creates the demo fixtures for merchant mchID: brand DemoBrandID with
// card DemoBrandCardID and activity DemoActivityID, membercard cards
// DemoCardID, DemoRealTimeCardID and DemoDepositCardID, users DemoOpenID,
// DemoOpenID2 and DemoMemberOpenID (with user cards DemoMemberCode and
// DemoBrandUserCardCode), sub-merchant DemoSubMchID, the callback URL
// DemoNotifyURL, the activation form DemoActivateTicket, the pending points
// exchange DemoPointExchangeRecordID, and the demo payments
// (demo_payments.go): orders paid, unpaid and waiting for their payer, refunds
// PROCESSING and ABNORMAL, the ledger of DemoBillDate and the download
// DemoBillToken.
func (e *Emulator) SeedDemo(mchID string) error {
	if err := e.AddBrand(Brand{ID: DemoBrandID, MchID: mchID}); err != nil {
		return err
	}
	membercard := func(id, codeMode, title, requestNo string) map[string]any {
		return map[string]any{
			"card_id": id, "appid": DemoAppID, "brand": map[string]any{"brand_id": DemoBrandID, "display_name": "演示品牌"},
			"logo_url": DemoLogoURL, "title": title, "background_picture_url": DemoBackgroundURL,
			"description": "会员专享折扣，结账时出示会员码", "service_phone": "400-000-0000", "code_type": "BAR_CODE_AND_QRCODE",
			"date_information": map[string]any{"type": "PERMANENT"}, "code_mode": codeMode, "out_request_no": requestNo,
			"status": "APPROVED", "create_time": "2025-12-01T10:00:00+08:00", "update_time": "2025-12-01T10:00:00+08:00",
		}
	}
	cards := []Card{
		{ID: DemoBrandCardID, Family: BrandFamily, BrandID: DemoBrandID, AppID: DemoAppID, Template: map[string]any{
			"card_id": DemoBrandCardID, "brand_id": DemoBrandID, "appid": DemoAppID, "card_type": "NORMAL", "card_title": "演示会员卡",
			"card_color": "#FFFF00", "card_picture_url": DemoBackgroundURL, "code_mode": "SYSTEM_ALLOCATE",
			"code_type": "QR_CODE", "benefits": "会员折扣", "notify_url": "https://wxpay.example/notify",
			"valid_date_information": map[string]any{"type": "PERMANENT"}, "state": "CARD_EFFECTIVE",
			"create_time": "2025-12-01T10:00:00+08:00", "update_time": "2025-12-01T10:00:00+08:00"}},
		{ID: DemoCardID, Family: MembercardFamily, MchID: mchID, CodeMode: SystemAllocate, AppID: DemoAppID,
			Template: membercard(DemoCardID, SystemAllocate, "演示会员卡", "1900000001202512010001")},
		{ID: DemoRealTimeCardID, Family: MembercardFamily, MchID: mchID, CodeMode: RealTime, AppID: DemoAppID,
			Template: membercard(DemoRealTimeCardID, RealTime, "演示会员卡（实时code）", "1900000001202512010002")},
		{ID: DemoDepositCardID, Family: MembercardFamily, MchID: mchID, CodeMode: MerchantDeposit, AppID: DemoAppID,
			Template: membercard(DemoDepositCardID, MerchantDeposit, "演示会员卡（预存code）", "1900000001202512010003")},
	}
	for _, c := range cards {
		if err := e.AddCard(c); err != nil {
			return err
		}
	}
	e.AddUser(User{OpenID: DemoOpenID, AppID: DemoAppID}, User{OpenID: DemoOpenID2, AppID: DemoAppID},
		User{OpenID: DemoMemberOpenID, AppID: DemoAppID})
	if err := e.AddSubMerchant(SubMerchant{SubMchID: DemoSubMchID, MchID: mchID, AppIDs: []string{DemoSubAppID}}); err != nil {
		return err
	}
	e.seedCommerce(mchID)
	e.seedDemoPayments(mchID)

	joined, _ := time.Parse(time.RFC3339, demoJoined)
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addMember(&Membership{CardID: DemoRealTimeCardID, OpenID: DemoMemberOpenID, Code: DemoMemberCode,
		RequestNo: "1900000001202512150001", State: "EFFECTIVE", Created: joined,
		record: map[string]any{"membership_number": DemoMembershipNumber, "level": "银卡", "balance": 0, "bonus_value": 1082}})
	s.addMember(&Membership{CardID: DemoBrandCardID, OpenID: DemoMemberOpenID, Code: DemoBrandUserCardCode,
		RequestNo: DemoBrandUserCardCode, State: "EFFECTIVE", Created: joined, record: map[string]any{
			"user_card_code": DemoBrandUserCardCode, "card_id": DemoBrandCardID, "openid": DemoMemberOpenID, "brand_id": DemoBrandID,
			"card_type": "NORMAL", "card_color": "#FFFF00", "card_picture_url": DemoBackgroundURL, "level": "银卡",
			"valid_date_information": map[string]any{"type": "PERMANENT"}, "pickup_time": demoJoined, "user_card_state": "EFFECTIVE"}})
	s.addActivity(map[string]any{
		"activity_id": DemoActivityID, "out_request_no": "1900000001202511200001", "brand_id": DemoBrandID, "card_id": DemoBrandCardID,
		"activity_channel": "MECHANT_APP_COMPONENT", "title": "入会享券", "sub_title": "5张满减券",
		"begin_time": "2025-12-01T00:00:00+08:00", "end_time": "2026-12-31T23:59:59+08:00", "apply_total": 1000, "apply_available": 1000,
		"product_coupon_stock_list": []any{map[string]any{"product_coupon_id": "1002631856790412345", "stock_id": "98065001"}},
		"create_time":               "2025-11-20T10:00:00+08:00", "modify_time": "2025-11-20T10:00:00+08:00"})
	s.tickets[DemoActivateTicket] = &activation{mchID: mchID, cardID: DemoRealTimeCardID, code: DemoMemberCode,
		info: activationForm(s.cards[DemoRealTimeCardID])}
	s.members[memberKey{DemoRealTimeCardID, DemoMemberOpenID}].ticket = DemoActivateTicket
	s.exchanges[DemoPointExchangeRecordID] = &PointExchange{RecordID: DemoPointExchangeRecordID, BrandID: DemoBrandID,
		CardID: DemoBrandCardID, OpenID: DemoMemberOpenID, UserCardCode: DemoBrandUserCardCode,
		ExchangeCouponTemplateID: DemoExchangeCouponTemplateID, DeductPoints: 100, StockID: "98065001", State: ExchangePending}
	s.callbacks[mchID] = DemoNotifyURL
	return nil
}
