package emulator

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/wxpaykit/wxpay"
)

// unknownOpenID is the documented answer for an openid the service does not know.
func unknownOpenID(openID string) answer {
	return fieldError("OpenID有误", "body", "/openid", clip(openID, 64), "no such user under the card's AppID")
}

// fits reports whether u is a known user whose openid is valid for card: an
// openid belongs to one AppID, and the card's AppID must be that one (either
// left empty in a fixture matches anything).
func (u *User) fits(card *Card) bool {
	return u != nil && (u.AppID == "" || card.AppID == "" || u.AppID == card.AppID)
}

// importMembercardUser: idempotent by out_request_no per caller, one membership
// per (card, openid), codes by the card's code mode.
func (e *Emulator) importMembercardUser(r *request) answer {
	return owned(e, r, (*state).membercardCard, func(card *Card) answer { return e.importMember(r, card) })
}

// importMember imports the body's user into card. The caller holds the lock.
func (e *Emulator) importMember(r *request, card *Card) answer {
	openID, code, no := str(r.body, "openid"), str(r.body, "code"), str(r.body, "out_request_no")
	key := idemKey{r.mchID, "users/import", no}
	fp := r.fingerprint()
	s := &e.state
	if prev, seen := s.replay(key, fp, reusedNumber); seen {
		return prev
	}
	code, refused := e.admit(card, openID, code)
	if refused != nil {
		return refused.api
	}
	s.addMember(&Membership{CardID: card.ID, OpenID: openID, Code: code, RequestNo: no, State: "EFFECTIVE", Created: e.now()})
	an := ok(map[string]any{"code": code})
	s.remember(key, fp, an)
	return an
}

// refusal is why a user may not join a card: the API's answer (an import) and
// the error of the user's side (a claim).
type refusal struct {
	api answer
	err error
}

// admit applies the rules of joining a membercard-open card, the same for an
// import and a claim: openID is a user of the card's AppID who does not hold
// it yet, and the code follows the card's code mode (REAL_TIME takes code,
// MERCHANT_DEPOSIT the oldest deposited one, SYSTEM_ALLOCATE 12 fresh digits;
// a code sent for another mode is ignored, as the service allocates it). The
// caller holds the lock.
func (e *Emulator) admit(card *Card, openID, code string) (string, *refusal) {
	s := &e.state
	if !s.users[openID].fits(card) {
		return "", &refusal{unknownOpenID(openID), unknownUser(openID, card)}
	}
	if m := s.members[memberKey{card.ID, openID}]; m != nil {
		return "", &refusal{invalidRequest("该用户已领取过此会员卡，不可重复导入"),
			fmt.Errorf("%w: user %s already holds card %s (code %s, %s)", ErrUserCardState, openID, card.ID, m.Code, m.State)}
	}
	switch card.CodeMode {
	case RealTime:
		if code == "" {
			return "", &refusal{fieldError("实时code模式的会员卡必须传入code", "body", "/code", "", "is required for a REAL_TIME card"),
				fmt.Errorf("emulator: card %s is REAL_TIME: the code is required", card.ID)}
		}
		if s.byCode[memberKey{card.ID, code}] != nil {
			return "", &refusal{invalidRequest("该code已被使用"), fmt.Errorf("%w: code %s of card %s is in use", ErrUserCardState, code, card.ID)}
		}
		return code, nil
	case MerchantDeposit:
		code, left := s.takeDeposited(card.ID)
		if !left {
			return "", &refusal{invalidRequest("会员卡已无可用的预存code，请先导入code"),
				fmt.Errorf("%w: card %s is MERCHANT_DEPOSIT and has no deposited code left", ErrUserCardState, card.ID)}
		}
		return code, nil
	}
	return e.freshCode(card.ID), nil
}

// freshCode returns 12 digits no member of the card holds. The caller holds the lock.
func (e *Emulator) freshCode(cardID string) string {
	code := e.randString(12, "0123456789")
	for e.state.byCode[memberKey{cardID, code}] != nil {
		code = e.randString(12, "0123456789")
	}
	return code
}

// unknownUser is the user's side's error for an openid that cannot hold card.
func unknownUser(openID string, card *Card) error {
	return fmt.Errorf("%w: no user %q under AppID %s, the card's (register users with AddUser, or --users for `wxpay emulator`)", ErrNotFound, openID, card.AppID)
}

func (e *Emulator) depositCodes(r *request) answer {
	return owned(e, r, (*state).membercardCard, func(card *Card) answer {
		if card.CodeMode != MerchantDeposit {
			return invalidRequest("会员卡code分配类型不是MERCHANT_DEPOSIT，不能导入code")
		}
		list, _ := r.body["code"].([]any)
		data := make([]any, 0, len(list))
		for _, c := range list {
			code, _ := c.(string)
			result := "SUCCESS"
			if !e.state.deposit(card.ID, code) {
				result = "DUPLICATE"
			}
			data = append(data, map[string]any{"code": code, "result": result})
		}
		return ok(map[string]any{"data": data})
	})
}

func (e *Emulator) importBrandUserCard(r *request) answer {
	return owned(e, r, (*state).bodyBrandCard, func(card *Card) answer { return e.importBrandMember(r, card) })
}

// importBrandMember imports the body's user into the brand card: idempotent by
// user_card_code per card. The caller holds the lock.
func (e *Emulator) importBrandMember(r *request, card *Card) answer {
	brandID, cardID, openID, code := str(r.body, "brand_id"), str(r.body, "card_id"), str(r.body, "openid"), str(r.body, "user_card_code")
	key := idemKey{r.mchID, "import-by-openid/" + cardID, code}
	fp := r.fingerprint()
	s := &e.state
	if prev, seen := s.replay(key, fp, "该会员卡code已被使用，或相同code使用了不同的参数"); seen {
		return prev
	}
	if !s.users[openID].fits(card) {
		return unknownOpenID(openID)
	}
	if s.members[memberKey{cardID, openID}] != nil {
		return invalidRequest("该用户已领取过此会员卡，不可重复导入")
	}
	record := map[string]any{
		"user_card_code": code, "card_id": cardID, "openid": openID, "brand_id": brandID,
		"card_type": strOr(card.Template, "card_type", "NORMAL"), "valid_date_information": r.body["date_information"],
		"pickup_time": str(r.body, "pickup_time"), "user_card_state": "EFFECTIVE",
	}
	for _, k := range []string{"card_color", "card_picture_url"} {
		if v, ok := card.Template[k]; ok {
			record[k] = v
		}
	}
	e.copyUserInfo(r, record)
	s.addMember(&Membership{CardID: cardID, OpenID: openID, Code: code, RequestNo: code, State: "EFFECTIVE", Created: e.now(), record: record})
	an := e.rendered(r, record)
	s.remember(key, fp, an)
	return an
}

// listBrandUserCards lists a user's cards of one brand, in import order.
func (e *Emulator) listBrandUserCards(r *request) answer {
	brandID, openID, want := r.query.Get("brand_id"), r.query.Get("openid"), r.query.Get("user_card_state")
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.servesBrand(brandID, r.mchID) {
		return brandNotServed()
	}
	var matched []map[string]any
	for _, m := range s.userMembers[openID] {
		if m.record == nil || !s.cards[m.CardID].ofBrand(brandID) || (want != "" && str(m.record, "user_card_state") != want) {
			continue
		}
		matched = append(matched, m.record)
	}
	return listPage(e, r, matched, func(rec map[string]any) any { return rec })
}

// copyUserInfo re-encrypts the personal data of a request for the merchant, as
// WeChat Pay does in its answers (encrypted with the merchant certificate key).
func (e *Emulator) copyUserInfo(r *request, record map[string]any) {
	if p, ok := r.plain["body:/phone_number"]; ok {
		record["phone_number"] = e.forMerchant(r, p)
	}
	ui, ok := r.body["user_information"].(map[string]any)
	if !ok {
		return
	}
	out := copyMap(ui)
	if list, ok := ui["common_field_list"].([]any); ok {
		items := make([]any, len(list))
		for i, it := range list {
			m := copyMap(it.(map[string]any))
			if p, ok := r.plain["body:/user_information/common_field_list/"+strconv.Itoa(i)+"/value"]; ok {
				m["value"] = e.forMerchant(r, p)
			}
			items[i] = m
		}
		out["common_field_list"] = items
	}
	record["user_information"] = out
}

// forMerchant encrypts plaintext with the calling merchant's certificate key.
func (e *Emulator) forMerchant(r *request, plaintext string) string {
	ct, err := wxpay.EncryptOAEP(nil, r.merchantPub, []byte(plaintext))
	if err != nil {
		return ""
	}
	return ct
}

// brandUserCard finds the user card of the path, on a card of the caller. The
// caller holds the lock.
func (s *state) brandUserCard(r *request) (*Membership, *answer) {
	cardID := str(r.body, "card_id")
	if cardID == "" {
		cardID = r.query.Get("card_id")
	}
	m := s.byCode[memberKey{cardID, r.params["user_card_code"]}]
	card := s.cards[cardID]
	if m == nil || m.record == nil || card == nil || card.MchID != r.mchID ||
		(r.query.Get("openid") != "" && m.OpenID != r.query.Get("openid")) {
		a := apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "用户会员卡不存在", nil)
		return nil, &a
	}
	return m, nil
}

func (e *Emulator) getBrandUserCard(r *request) answer {
	return owned(e, r, (*state).brandUserCard, func(m *Membership) answer { return e.rendered(r, m.record) })
}

func (e *Emulator) updateBrandUserCard(r *request) answer {
	return owned(e, r, (*state).brandUserCard, func(m *Membership) answer {
		for k, v := range r.body {
			switch k {
			case "brand_id", "card_id", "openid", "phone_number", "user_information":
			default:
				m.record[k] = v
			}
		}
		e.copyUserInfo(r, m.record)
		return e.rendered(r, m.record)
	})
}

// confirmBrandUserCard records the merchant's answer to a card opening
// (BRAND_MEMBER_CARD_SP.USER_CARD.CREATE): CREATE_CARD_SUCCESS puts the
// UNACTIVATED card in effect, CREATE_CARD_FAIL invalidates it, and the fields
// sent (level, colour, picture, validity, phone number, form, attach) are
// stored. The same answer again is answered alike (a retry, or an imported
// card already in effect); another answer, or any about a card its user
// deleted, is refused.
func (e *Emulator) confirmBrandUserCard(r *request) answer {
	return owned(e, r, (*state).brandUserCard, func(m *Membership) answer {
		if str(r.body, "brand_id") != e.state.cards[m.CardID].BrandID || str(r.body, "openid") != m.OpenID {
			return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "用户会员卡不存在", nil)
		}
		if m.State == stateDeleted {
			return invalidRequest("用户已删除会员卡，不能同步开卡结果")
		}
		result, current := str(r.body, "user_card_confirm_state"), str(m.record, "user_card_state")
		want := stateEffective
		if result == "CREATE_CARD_FAIL" {
			want = "INVALID"
		}
		if current != "UNACTIVATED" && current != want {
			return invalidRequest("用户会员卡状态为" + current + "，不能同步开卡结果" + result)
		}
		now := rfc3339(e.nowCST())
		for _, k := range []string{"card_color", "card_picture_url", "level", "valid_date_information", "attach"} {
			if v, ok := r.body[k]; ok {
				m.record[k] = v
			}
		}
		e.copyUserInfo(r, m.record)
		if current == "UNACTIVATED" {
			m.State, m.record["user_card_state"], m.record["modify_time"] = want, want, now
			if want == "INVALID" {
				m.record["invalid_reason"], m.record["invalid_time"] = "开卡失败", now
			}
		}
		return e.rendered(r, m.record)
	})
}

// confirmPointExchange settles a pending points exchange (ExchangePoints)
// with the merchant's outcome. The record must be of a brand the caller
// serves and match the request; the same outcome again is answered alike,
// another one refused.
func (e *Emulator) confirmPointExchange(r *request) answer {
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.exchanges[str(r.body, "record_id")]
	if x == nil || !s.servesBrand(x.BrandID, r.mchID) {
		return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "积分兑券记录不存在", nil)
	}
	for _, f := range [][2]string{{"brand_id", x.BrandID}, {"card_id", x.CardID}, {"openid", x.OpenID},
		{"user_card_code", x.UserCardCode}, {"exchange_coupon_template_id", x.ExchangeCouponTemplateID}} {
		if v := str(r.body, f[0]); v != f[1] {
			return fieldError("参数与积分兑券记录不一致", "body", "/"+f[0], clip(v, 64), "does not match record "+x.RecordID)
		}
	}
	result := str(r.body, "state")
	switch x.State {
	case ExchangePending:
		x.State, x.CouponCode, x.FailReason = result, str(r.body, "coupon_code"), str(r.body, "fail_reason")
	case result:
	default:
		return invalidRequest("积分兑券结果已同步为" + x.State + "，不能修改")
	}
	out := map[string]any{"record_id": x.RecordID, "exchange_coupon_template_id": x.ExchangeCouponTemplateID, "brand_id": x.BrandID,
		"card_id": x.CardID, "openid": x.OpenID, "user_card_code": x.UserCardCode, "state": x.State}
	if x.CouponCode != "" {
		out["coupon_code"] = x.CouponCode
	}
	if x.FailReason != "" {
		out["fail_reason"] = x.FailReason
	}
	return e.rendered(r, out)
}

func (e *Emulator) invalidateBrandUserCard(r *request) answer {
	return owned(e, r, (*state).brandUserCard, func(m *Membership) answer {
		m.State = "INVALID"
		m.record["user_card_state"] = "INVALID"
		m.record["invalid_reason"] = strOr(r.body, "invalid_reason", "商户作废")
		m.record["invalid_time"] = rfc3339(e.nowCST())
		return e.rendered(r, m.record)
	})
}

// membercardUserCard finds the user card of the path's code, on a
// membercard-open card of the caller. The caller holds the lock.
func (s *state) membercardUserCard(r *request) (*Membership, *answer) {
	card, refused := s.membercardCard(r)
	if refused != nil {
		return nil, refused
	}
	m := s.byCode[memberKey{card.ID, r.params["code"]}]
	if m == nil {
		a := apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "会员卡code不存在", nil)
		return nil, &a
	}
	return m, nil
}

func (e *Emulator) getMembercardUserCard(r *request) answer {
	return owned(e, r, (*state).membercardUserCard, func(m *Membership) answer {
		src := map[string]any{"card_id": m.CardID, "code": m.Code, "openid": m.OpenID, "user_card_status": m.State}
		for k, v := range m.record {
			src[k] = v
		}
		return e.rendered(r, src)
	})
}

// updateMembercardUserCard stores what PATCH …/codes/{code} changes: the
// membership number, level, background and balance.
func (e *Emulator) updateMembercardUserCard(r *request) answer {
	return owned(e, r, (*state).membercardUserCard, func(m *Membership) answer {
		if m.record == nil {
			m.record = map[string]any{}
		}
		for _, k := range []string{"membership_number", "level", "background_picture_url"} {
			if v, ok := r.body[k]; ok {
				m.record[k] = v
			}
		}
		if bi, ok := r.body["balance_information"].(map[string]any); ok {
			m.record["balance"] = bi["balance"]
		}
		return noContent()
	})
}

// activateMembercardUserCard activates a user card (JUMP_ACTIVATE), recording
// the merchant's membership number.
func (e *Emulator) activateMembercardUserCard(r *request) answer {
	return owned(e, r, (*state).membercardUserCard, func(m *Membership) answer {
		switch m.State {
		case "UNAVAILABLE":
			return invalidRequest("会员卡code已失效，不能激活")
		case stateDeleted:
			return invalidRequest("用户已删除会员卡，不能激活")
		}
		if m.record == nil {
			m.record = map[string]any{}
		}
		if v, ok := r.body["membership_number"]; ok {
			m.record["membership_number"] = v
		}
		m.State = "EFFECTIVE"
		return noContent()
	})
}

// getActivateInformation answers the sign-up form a user submitted to
// activate a JUMP_ACTIVATE card (ActivateCard), to the card's merchant only.
func (e *Emulator) getActivateInformation(r *request) answer {
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.tickets[r.params["activate_ticket"]]
	if a == nil || a.mchID != r.mchID {
		return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "激活ticket不存在或已过期", nil)
	}
	return e.rendered(r, a.info)
}

// listMembercardUserCards lists a user's cards among the caller's templates
// (not those the user deleted).
func (e *Emulator) listMembercardUserCards(r *request) answer {
	openID, appID := r.query.Get("openid"), r.query.Get("appid")
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*Membership
	for _, m := range s.userMembers[openID] {
		card := s.cards[m.CardID]
		if !card.in(MembercardFamily) || card.MchID != r.mchID || (appID != "" && card.AppID != appID) || m.State == stateDeleted {
			continue
		}
		matched = append(matched, m)
	}
	return listPage(e, r, matched, func(m *Membership) any { return map[string]any{"card_id": m.CardID, "code": m.Code} })
}

func (e *Emulator) invalidateMembercardUserCard(r *request) answer {
	return owned(e, r, (*state).membercardUserCard, func(m *Membership) answer {
		m.State = "UNAVAILABLE"
		return noContent()
	})
}
