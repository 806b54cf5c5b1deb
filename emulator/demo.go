package emulator

// Demo fixtures: what SeedDemo creates, so that examples and the demo are short.
const (
	DemoMchID          = "1900000001" // the merchant / service provider
	DemoMerchantSerial = "3775B6A45ACD588826D15E583A95F5DD00000001"
	DemoPublicKeyID    = "PUB_KEY_ID_0114232134912410000000000000"
	DemoBrandID        = "1004"
	DemoBrandCardID    = "pbLatk2mlDt6bd5s2WtD9h0YxBrd" // brand card-member template of DemoBrandID
	DemoCardID         = "pbLatjvWOibDc5-TBnbUk1pD12o0" // membercard-open template, SYSTEM_ALLOCATE codes
	DemoRealTimeCardID = "pbLatjvWOibDc5-TBnbUk1pRT001" // membercard-open template, REAL_TIME codes
	DemoOpenID         = "obLatjnx9gnqzS4myYGmLZ7LgLBA"
	DemoOpenID2        = "onqOjjmo8wmTOOtSKwXtGjg9Gb58"
	DemoAppID          = "wxea9c30890f48d5ae"
	DemoSubMchID       = "1900000109"
	DemoSubAppID       = "wxa1111111"
)

// SeedDemo creates the demo fixtures for merchant mchID: brand DemoBrandID with
// card DemoBrandCardID, membercard cards DemoCardID and DemoRealTimeCardID,
// users DemoOpenID and DemoOpenID2, and sub-merchant DemoSubMchID.
func (e *Emulator) SeedDemo(mchID string) error {
	if err := e.AddBrand(Brand{ID: DemoBrandID, MchID: mchID}); err != nil {
		return err
	}
	cards := []Card{
		{ID: DemoBrandCardID, Family: BrandFamily, BrandID: DemoBrandID, AppID: DemoAppID, Template: map[string]any{
			"card_id": DemoBrandCardID, "brand_id": DemoBrandID, "appid": DemoAppID, "card_type": "NORMAL", "card_title": "演示会员卡",
			"card_color": "#FFFF00", "card_picture_url": DemoBackgroundURL, "code_mode": "SYSTEM_ALLOCATE",
			"code_type": "QR_CODE", "benefits": "会员折扣", "notify_url": "https://wxpay.example/notify",
			"valid_date_information": map[string]any{"type": "PERMANENT"}, "state": "CARD_EFFECTIVE"}},
		{ID: DemoCardID, Family: MembercardFamily, MchID: mchID, CodeMode: SystemAllocate, AppID: DemoAppID},
		{ID: DemoRealTimeCardID, Family: MembercardFamily, MchID: mchID, CodeMode: RealTime, AppID: DemoAppID},
	}
	for _, c := range cards {
		if err := e.AddCard(c); err != nil {
			return err
		}
	}
	e.AddUser(User{OpenID: DemoOpenID, AppID: DemoAppID}, User{OpenID: DemoOpenID2, AppID: DemoAppID})
	if err := e.AddSubMerchant(SubMerchant{SubMchID: DemoSubMchID, MchID: mchID, AppIDs: []string{DemoSubAppID}}); err != nil {
		return err
	}
	e.seedCommerce(mchID)
	return nil
}
