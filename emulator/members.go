package emulator

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"sort"
	"unicode/utf8"

	"github.com/wxpaykit/wxpay"
)

// The member's side: what a WeChat user does with a card (claim, activate,
// delete, exchange points), played by tests. Each action changes the state
// and delivers the notification the spec documents for it, signed, encrypted
// and redelivered like every other: MEMBERCARD.* to the callback URL the
// merchant set (PATCH /v3/marketing/membercard-open/callback),
// BRAND_MEMBER_CARD_SP.* to the notify_url of the brand card template. The
// control API (control.go) exposes the same actions to tests in any language.

// ErrNotFound is wrapped by the member's side when a card, user, user card or
// exchange record does not exist.
var ErrNotFound = errors.New("emulator: not found")

// ErrUserCardState is wrapped when the user card cannot do what was asked in
// its state: a second claim, activating a deleted or active card, deleting a
// deleted one, exchanging points on a card not in effect.
var ErrUserCardState = errors.New("emulator: not possible in the user card's state")

// ErrCannotNotify is wrapped when there is nowhere to deliver the action's
// notification (no callback URL, no notify_url on the brand card template) or
// no APIv3 key to encrypt it with. The action is refused before it changes
// anything.
var ErrCannotNotify = errors.New("emulator: the notification cannot be delivered")

// Activation types of a claimed membercard-open card (ActivateType).
const (
	AutoActivate = "AUTO_ACTIVATE" // the platform activates the card when the user asks
	JumpActivate = "JUMP_ACTIVATE" // the user fills a form; the merchant activates with the activate_ticket
)

// ClaimCardRequest is a user claiming (领卡) a membercard-open card, through
// the card-opening component or QR code that set OuterStr and ActivateType.
type ClaimCardRequest struct {
	CardID string `json:"card_id"`
	OpenID string `json:"openid"`
	// OuterStr is the scene value of the component or QR code (at most 32
	// characters), echoed in the notifications.
	OuterStr string `json:"outer_str,omitempty"`
	// ActivateType is AutoActivate (the default) or JumpActivate.
	ActivateType string `json:"activate_type,omitempty"`
	// Code is the code a REAL_TIME card's merchant passes; the other code
	// modes allocate it.
	Code string `json:"code,omitempty"`
}

// UserCardChange is what a user's action did to a membercard-open card: the
// user card now and the notification delivered about it.
type UserCardChange struct {
	CardID string `json:"card_id"`
	OpenID string `json:"openid"`
	Code   string `json:"code"`
	// State is the user card's state as GetMembercardUserCard answers it:
	// NOT_ACTIVATE, EFFECTIVE or DELETE.
	State        string `json:"state"`
	ActivateType string `json:"activate_type,omitempty"`
	// ActivateTicket is set by the activation of a JUMP_ACTIVATE card: the
	// ticket the activation page receives, for GetMembercardActivateInformation.
	ActivateTicket string `json:"activate_ticket,omitempty"`
	EventType      string `json:"event_type"`
	NotificationID string `json:"notification_id"`
}

// ClaimBrandCardRequest is a user opening (开通) a brand card.
type ClaimBrandCardRequest struct {
	BrandID string `json:"brand_id"`
	CardID  string `json:"card_id"`
	OpenID  string `json:"openid"`
}

// BrandUserCardChange is what a user's action did to a brand user card.
type BrandUserCardChange struct {
	BrandID      string `json:"brand_id"`
	CardID       string `json:"card_id"`
	OpenID       string `json:"openid"`
	UserCardCode string `json:"user_card_code"`
	// UserCardState is the state as GetBrandUserCard answers it: UNACTIVATED
	// until the merchant confirms the opening, INVALID once the user deleted it.
	UserCardState  string `json:"user_card_state"`
	EventType      string `json:"event_type"`
	NotificationID string `json:"notification_id"`
}

// ExchangePointsRequest is a user asking to exchange points of a brand user
// card for a coupon.
type ExchangePointsRequest struct {
	BrandID      string `json:"brand_id"`
	CardID       string `json:"card_id"`
	UserCardCode string `json:"user_card_code"`
	// ExchangeCouponTemplateID defaults to DemoExchangeCouponTemplateID.
	ExchangeCouponTemplateID string `json:"exchange_coupon_template_id,omitempty"`
	// DeductPoints defaults to 100.
	DeductPoints int64 `json:"deduct_points,omitempty"`
	// StockID defaults to the first coupon stock of a membership activity on
	// the card.
	StockID string `json:"stock_id,omitempty"`
}

// The states of a points exchange: pending until the merchant reports the
// outcome with ConfirmBrandPointExchange (PENDING is the emulator's word; the
// two outcomes are the spec's).
const (
	ExchangePending = "PENDING"
	ExchangeSuccess = "POINT_EXCHANGE_COUPON_SUCCESS"
	ExchangeFail    = "POINT_EXCHANGE_COUPON_FAIL"
)

// PointExchange is a points-for-coupon exchange record.
type PointExchange struct {
	RecordID                 string `json:"record_id"`
	BrandID                  string `json:"brand_id"`
	CardID                   string `json:"card_id"`
	OpenID                   string `json:"openid"`
	UserCardCode             string `json:"user_card_code"`
	ExchangeCouponTemplateID string `json:"exchange_coupon_template_id"`
	DeductPoints             int64  `json:"deduct_points"`
	StockID                  string `json:"stock_id"`
	State                    string `json:"state"`
	CouponCode               string `json:"coupon_code,omitempty"`
	FailReason               string `json:"fail_reason,omitempty"`
	// NotificationID is the BRAND_MEMBER_CARD_SP.POINT_EXCHANGE_COUPON
	// notification that asked the merchant (empty for seeded records).
	NotificationID string `json:"notification_id,omitempty"`
}

// activation is the sign-up form a user submitted to activate a
// JUMP_ACTIVATE card, kept under its activate_ticket.
type activation struct {
	mchID, cardID, code string
	info                map[string]any // nickname, head_image_url, user_information
}

// canNotify refuses actions whose notification could not be encrypted.
func (e *Emulator) canNotify() error {
	if e.apiV3Key.IsZero() {
		return fmt.Errorf("%w: the emulator has no APIv3 key to encrypt notifications with (WithAPIv3Key)", ErrCannotNotify)
	}
	return nil
}

// membercardOf finds a membercard-open card and the merchant's callback URL.
// The caller holds the lock.
func (s *state) membercardOf(cardID string) (*Card, string, error) {
	card := s.cards[cardID]
	if !card.in(MembercardFamily) {
		return nil, "", fmt.Errorf("%w: no membercard-open card %q", ErrNotFound, cardID)
	}
	url := s.callbacks[card.MchID]
	if url == "" {
		return nil, "", fmt.Errorf("%w: merchant %s has no callback URL for MEMBERCARD.* notifications: set one with PATCH /v3/marketing/membercard-open/callback", ErrCannotNotify, card.MchID)
	}
	return card, url, nil
}

// userCard finds the user card of a membercard-open card by its code, and the
// merchant's callback URL. The caller holds the lock.
func (s *state) userCard(cardID, code string) (*Membership, string, error) {
	card, url, err := s.membercardOf(cardID)
	if err != nil {
		return nil, "", err
	}
	m := s.byCode[memberKey{card.ID, code}]
	if m == nil || code == "" {
		return nil, "", fmt.Errorf("%w: card %s has no user card with code %q", ErrNotFound, cardID, code)
	}
	return m, url, nil
}

// ClaimCard plays a user claiming a membercard-open card: a new user card,
// NOT_ACTIVATE, with a code by the card's code mode (the rules of an import:
// the openid must be a user of the card's AppID, a second claim is refused),
// and MEMBERCARD.ACCEPT_CARD with event_type NEW_ACTIVATE. Claiming a card the
// user deleted recovers it, with its code: event_type RECOVER.
func (e *Emulator) ClaimCard(req ClaimCardRequest) (UserCardChange, error) {
	switch {
	case req.CardID == "" || req.OpenID == "":
		return UserCardChange{}, errors.New("emulator: a claim needs card_id and openid")
	case req.ActivateType != "" && req.ActivateType != AutoActivate && req.ActivateType != JumpActivate:
		return UserCardChange{}, fmt.Errorf("emulator: activate_type %q is not AUTO_ACTIVATE or JUMP_ACTIVATE", req.ActivateType)
	case utf8.RuneCountInString(req.OuterStr) > 32:
		return UserCardChange{}, errors.New("emulator: outer_str is longer than 32 characters")
	}
	if err := e.canNotify(); err != nil {
		return UserCardChange{}, err
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	card, url, err := s.membercardOf(req.CardID)
	if err != nil {
		return UserCardChange{}, err
	}
	scene := "NEW_ACTIVATE"
	m := s.members[memberKey{card.ID, req.OpenID}]
	if m != nil && m.State == stateDeleted {
		scene = "RECOVER"
		m.State, m.recovered, m.ticket = stateNotActivated, true, ""
	} else {
		code, refused := e.admit(card, req.OpenID, req.Code)
		if refused != nil {
			return UserCardChange{}, refused.err
		}
		m = &Membership{CardID: card.ID, OpenID: req.OpenID, Code: code, State: stateNotActivated, Created: e.now()}
		s.addMember(m)
	}
	m.outerStr, m.activateType = req.OuterStr, first(req.ActivateType, AutoActivate)
	ev := map[string]any{"event_type": scene, "card_id": m.CardID, "code": m.Code, "event_time": rfc3339(e.nowCST()), "openid": m.OpenID}
	if m.outerStr != "" {
		ev["outer_str"] = m.outerStr
	}
	return e.membercardChange(m, url, "MEMBERCARD.ACCEPT_CARD", ev)
}

// ActivateCard plays a user activating a claimed card. An AUTO_ACTIVATE card
// is EFFECTIVE at once. For a JUMP_ACTIVATE card the user fills in the
// sign-up form: the emulator keeps it under a new activate_ticket (answered by
// GetMembercardActivateInformation to the card's merchant) and the card stays
// NOT_ACTIVATE until the merchant activates it (POST …/codes/{code}/activate).
// Both deliver MEMBERCARD.ACTIVATE_CARD (MEMBER_CARD_ACTIVATE, scene
// NEW_ACTIVATE, or RECOVER for a recovered card); the spec's event has no
// ticket field, so the ticket is in the answer, as the redirect to the
// merchant's activation page carries it.
func (e *Emulator) ActivateCard(cardID, code string) (UserCardChange, error) {
	if err := e.canNotify(); err != nil {
		return UserCardChange{}, err
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	m, url, err := s.userCard(cardID, code)
	if err != nil {
		return UserCardChange{}, err
	}
	switch {
	case m.State != stateNotActivated:
		return UserCardChange{}, fmt.Errorf("%w: user card %s of card %s is %s; only a claimed, NOT_ACTIVATE card is activated by its user", ErrUserCardState, code, cardID, m.State)
	case m.ticket != "":
		return UserCardChange{}, fmt.Errorf("%w: the user already submitted the form (activate_ticket %s); the merchant activates the card with POST /v3/marketing/membercard-open/cards/%s/codes/%s/activate", ErrUserCardState, m.ticket, cardID, code)
	}
	if m.activateType == JumpActivate {
		m.ticket = e.randString(43, alnum)
		for s.tickets[m.ticket] != nil {
			m.ticket = e.randString(43, alnum)
		}
		card := s.cards[cardID]
		s.tickets[m.ticket] = &activation{mchID: card.MchID, cardID: cardID, code: code, info: activationForm(card)}
	} else {
		m.State = stateEffective
	}
	scene := "NEW_ACTIVATE"
	if m.recovered {
		scene = "RECOVER"
	}
	ev := map[string]any{"event_type": "MEMBER_CARD_ACTIVATE", "card_id": m.CardID, "code": m.Code, "event_time": rfc3339(e.nowCST()),
		"activate_scene": scene, "openid": m.OpenID}
	if m.outerStr != "" {
		ev["outer_str"] = m.outerStr
	}
	return e.membercardChange(m, url, "MEMBERCARD.ACTIVATE_CARD", ev)
}

// DeleteUserCard plays a user deleting a membercard-open card from their
// card wallet: state DELETE and MEMBERCARD.USERCARD_MANAGE with event_type
// USER_DELETE_MEMBERCARD. Claiming the card again recovers it.
func (e *Emulator) DeleteUserCard(cardID, code string) (UserCardChange, error) {
	if err := e.canNotify(); err != nil {
		return UserCardChange{}, err
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	m, url, err := s.userCard(cardID, code)
	if err != nil {
		return UserCardChange{}, err
	}
	if m.State == stateDeleted {
		return UserCardChange{}, fmt.Errorf("%w: user card %s of card %s is deleted already", ErrUserCardState, code, cardID)
	}
	m.State = stateDeleted
	return e.membercardChange(m, url, "MEMBERCARD.USERCARD_MANAGE", map[string]any{
		"event_type": "USER_DELETE_MEMBERCARD", "card_id": m.CardID, "code": m.Code, "event_time": rfc3339(e.nowCST()), "openid": m.OpenID})
}

// membercardChange delivers a MEMBERCARD.* event and reports the user card.
// The caller holds the lock.
func (e *Emulator) membercardChange(m *Membership, url, eventType string, ev map[string]any) (UserCardChange, error) {
	id, err := e.Notify(url, eventType, ev)
	if err != nil {
		return UserCardChange{}, err
	}
	return UserCardChange{CardID: m.CardID, OpenID: m.OpenID, Code: m.Code, State: m.State, ActivateType: m.activateType,
		ActivateTicket: m.ticket, EventType: eventType, NotificationID: id}, nil
}

// brandCardOf finds a brand card template and its notify_url. The caller
// holds the lock.
func (s *state) brandCardOf(brandID, cardID string) (*Card, string, error) {
	card := s.cards[cardID]
	if s.brands[brandID] == nil || !card.ofBrand(brandID) {
		return nil, "", fmt.Errorf("%w: brand %q has no card template %q", ErrNotFound, brandID, cardID)
	}
	url := str(card.Template, "notify_url")
	if url == "" {
		return nil, "", fmt.Errorf("%w: brand card template %s has no notify_url for BRAND_MEMBER_CARD_SP.* notifications: set it with PATCH /v3/brand/partner/card-member/cards/%s", ErrCannotNotify, cardID, cardID)
	}
	return card, url, nil
}

// brandUserCardOf finds a brand user card by its code. The caller holds the lock.
func (s *state) brandUserCardOf(brandID, cardID, code string) (*Membership, string, error) {
	card, url, err := s.brandCardOf(brandID, cardID)
	if err != nil {
		return nil, "", err
	}
	m := s.byCode[memberKey{card.ID, code}]
	if m == nil || m.record == nil || code == "" {
		return nil, "", fmt.Errorf("%w: card %s has no user card %q", ErrNotFound, cardID, code)
	}
	return m, url, nil
}

// ClaimBrandCard plays a user opening a brand card: a user card awaiting the
// merchant's confirmation (UNACTIVATED until ConfirmBrandUserCard), with the
// user's sign-up form and phone number encrypted for the merchant, and
// BRAND_MEMBER_CARD_SP.USER_CARD.CREATE (user_card_state NOT_EFFECTIVE). The
// openid must be a user of the card's AppID without a card of this template
// (a card they deleted does not count); the code is 12 fresh digits.
func (e *Emulator) ClaimBrandCard(req ClaimBrandCardRequest) (BrandUserCardChange, error) {
	if req.BrandID == "" || req.CardID == "" || req.OpenID == "" {
		return BrandUserCardChange{}, errors.New("emulator: a brand card claim needs brand_id, card_id and openid")
	}
	if err := e.canNotify(); err != nil {
		return BrandUserCardChange{}, err
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	card, url, err := s.brandCardOf(req.BrandID, req.CardID)
	if err != nil {
		return BrandUserCardChange{}, err
	}
	if !s.users[req.OpenID].fits(card) {
		return BrandUserCardChange{}, unknownUser(req.OpenID, card)
	}
	if m := s.members[memberKey{card.ID, req.OpenID}]; m != nil && m.State != stateDeleted {
		return BrandUserCardChange{}, fmt.Errorf("%w: user %s already holds card %s (user_card_code %s, %s)", ErrUserCardState, req.OpenID, card.ID, m.Code, m.State)
	}
	code, now := e.freshCode(card.ID), rfc3339(e.nowCST())
	pub := e.merchantKey(card.MchID)
	common, custom := brandForm(card)
	record := map[string]any{
		"user_card_code": code, "card_id": card.ID, "openid": req.OpenID, "brand_id": card.BrandID,
		"card_type": strOr(card.Template, "card_type", "NORMAL"), "card_color": str(card.Template, "card_color"),
		"card_picture_url": str(card.Template, "card_picture_url"), "pickup_time": now, "user_card_state": "UNACTIVATED",
		"create_time": now, "modify_time": now,
	}
	if v, ok := card.Template["valid_date_information"].(map[string]any); ok {
		record["valid_date_information"] = copyMap(v)
	} else {
		record["valid_date_information"] = map[string]any{"type": "PERMANENT"}
	}
	if level := str(card.Template, "init_level"); level != "" {
		record["level"] = level
	}
	// The API's view encrypts the form values; the notifications also the
	// chosen values of the merchant's own fields (spec: user_chosen_values).
	apiCommon, evCommon := make([]any, 0, len(common)), make([]any, 0, len(common))
	for _, f := range common {
		v := map[string]any{"name": f[0], "value": sealFor(pub, f[1])}
		apiCommon, evCommon = append(apiCommon, v), append(evCommon, v)
	}
	apiCustom, evCustom := make([]any, 0, len(custom)), make([]any, 0, len(custom))
	for _, f := range custom {
		sealed := make([]any, len(f.values))
		plain := make([]any, len(f.values))
		for i, v := range f.values {
			sealed[i], plain[i] = sealFor(pub, v), v
		}
		apiCustom = append(apiCustom, map[string]any{"name": f.name, "user_chosen_values": plain})
		evCustom = append(evCustom, map[string]any{"name": f.name, "user_chosen_values": sealed})
	}
	record["user_information"] = map[string]any{"common_field_list": apiCommon, "custom_field_list": apiCustom}
	if pub != nil {
		record["phone_number"] = sealFor(pub, demoPhone)
	}
	m := &Membership{CardID: card.ID, OpenID: req.OpenID, Code: code, RequestNo: code, State: "UNACTIVATED", Created: e.now(), record: record,
		eventUserInfo: map[string]any{"common_field_list": evCommon, "custom_field_list": evCustom}}
	s.addMember(m)
	return e.brandChange(m, url, "BRAND_MEMBER_CARD_SP.USER_CARD.CREATE", "")
}

// DeleteBrandUserCard plays a user deleting a brand user card: the API shows it
// INVALID (invalid_reason 用户删除会员卡) and BRAND_MEMBER_CARD_SP.USER_CARD.DELETE
// is delivered with user_card_state DELETE.
func (e *Emulator) DeleteBrandUserCard(brandID, cardID, userCardCode string) (BrandUserCardChange, error) {
	if err := e.canNotify(); err != nil {
		return BrandUserCardChange{}, err
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	m, url, err := s.brandUserCardOf(brandID, cardID, userCardCode)
	if err != nil {
		return BrandUserCardChange{}, err
	}
	if m.State == stateDeleted {
		return BrandUserCardChange{}, fmt.Errorf("%w: user card %s of card %s is deleted already", ErrUserCardState, userCardCode, cardID)
	}
	now := rfc3339(e.nowCST())
	m.State = stateDeleted
	m.record["user_card_state"], m.record["invalid_reason"], m.record["invalid_time"], m.record["modify_time"] = "INVALID", "用户删除会员卡", now, now
	return e.brandChange(m, url, "BRAND_MEMBER_CARD_SP.USER_CARD.DELETE", stateDeleted)
}

// brandChange delivers a BRAND_MEMBER_CARD_SP.USER_CARD.* event about m, in
// state eventState (or the record's state as the events name it), and reports
// the user card. The caller holds the lock.
func (e *Emulator) brandChange(m *Membership, url, eventType, eventState string) (BrandUserCardChange, error) {
	ev := copyMap(m.record)
	delete(ev, "user_information")
	if m.eventUserInfo != nil {
		ev["user_information"] = m.eventUserInfo
	}
	if eventState == "" {
		eventState = brandEventState(str(m.record, "user_card_state"))
	}
	ev["user_card_state"] = eventState
	if _, ok := ev["valid_date_information"].(map[string]any); !ok {
		ev["valid_date_information"] = map[string]any{"type": "PERMANENT"}
	}
	ev["create_time"] = first(str(m.record, "create_time"), str(m.record, "pickup_time"), rfc3339(m.Created))
	ev["modify_time"] = first(str(m.record, "modify_time"), rfc3339(e.nowCST()))
	for _, k := range []string{"card_color", "card_picture_url", "card_type", "pickup_time"} {
		if _, ok := ev[k]; !ok {
			ev[k] = ""
		}
	}
	id, err := e.Notify(url, eventType, ev)
	if err != nil {
		return BrandUserCardChange{}, err
	}
	return BrandUserCardChange{BrandID: str(m.record, "brand_id"), CardID: m.CardID, OpenID: m.OpenID, UserCardCode: m.Code,
		UserCardState: str(m.record, "user_card_state"), EventType: eventType, NotificationID: id}, nil
}

// brandEventState names an API user-card state as the notifications do
// (BrandUserCardEventState).
func brandEventState(api string) string {
	switch api {
	case "UNACTIVATED":
		return "NOT_EFFECTIVE"
	case "INVALID":
		return "UNAVAILABLE"
	}
	return api // EFFECTIVE, EXPIRED
}

// ExchangePoints plays a user exchanging points of a brand user card (in
// effect) for a coupon: a pending exchange record and
// BRAND_MEMBER_CARD_SP.POINT_EXCHANGE_COUPON; the merchant settles it with
// ConfirmBrandPointExchange.
func (e *Emulator) ExchangePoints(req ExchangePointsRequest) (PointExchange, error) {
	switch {
	case req.BrandID == "" || req.CardID == "" || req.UserCardCode == "":
		return PointExchange{}, errors.New("emulator: a points exchange needs brand_id, card_id and user_card_code")
	case req.DeductPoints < 0:
		return PointExchange{}, fmt.Errorf("emulator: deduct_points %d is negative", req.DeductPoints)
	}
	if err := e.canNotify(); err != nil {
		return PointExchange{}, err
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	m, url, err := s.brandUserCardOf(req.BrandID, req.CardID, req.UserCardCode)
	if err != nil {
		return PointExchange{}, err
	}
	if state := str(m.record, "user_card_state"); m.State == stateDeleted || state != stateEffective {
		if m.State == stateDeleted {
			state = "deleted by its user"
		}
		return PointExchange{}, fmt.Errorf("%w: user card %s is %s; points are exchanged on an EFFECTIVE card", ErrUserCardState, req.UserCardCode, state)
	}
	stock := first(req.StockID, s.activityStock(req.CardID))
	if stock == "" {
		return PointExchange{}, fmt.Errorf("emulator: stock_id is required: card %s has no membership activity with a coupon stock to take it from", req.CardID)
	}
	x := &PointExchange{BrandID: req.BrandID, CardID: req.CardID, OpenID: m.OpenID, UserCardCode: m.Code,
		ExchangeCouponTemplateID: first(req.ExchangeCouponTemplateID, DemoExchangeCouponTemplateID), DeductPoints: req.DeductPoints,
		StockID: stock, State: ExchangePending}
	if x.DeductPoints == 0 {
		x.DeductPoints = 100
	}
	x.RecordID = "52" + e.randString(20, "0123456789")
	for s.exchanges[x.RecordID] != nil {
		x.RecordID = "52" + e.randString(20, "0123456789")
	}
	id, err := e.Notify(url, "BRAND_MEMBER_CARD_SP.POINT_EXCHANGE_COUPON", map[string]any{
		"record_id": x.RecordID, "brand_id": x.BrandID, "card_id": x.CardID, "openid": x.OpenID, "user_card_code": x.UserCardCode,
		"exchange_coupon_template_id": x.ExchangeCouponTemplateID, "deduct_points": x.DeductPoints, "stock_id": x.StockID})
	if err != nil {
		return PointExchange{}, err
	}
	x.NotificationID = id
	s.exchanges[x.RecordID] = x
	return *x, nil
}

// PointExchangeRecord returns an exchange record, as the merchant last settled it.
func (e *Emulator) PointExchangeRecord(recordID string) (PointExchange, bool) {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	x := e.state.exchanges[recordID]
	if x == nil {
		return PointExchange{}, false
	}
	return *x, true
}

// activityStock is the first coupon stock of a membership activity on card,
// in creation order. The caller holds the lock.
func (s *state) activityStock(cardID string) string {
	for _, id := range s.activityOrder {
		a := s.activities[id]
		if str(a, "card_id") != cardID {
			continue
		}
		list, _ := a["product_coupon_stock_list"].([]any)
		for _, it := range list {
			if st, _ := it.(map[string]any); str(st, "stock_id") != "" {
				return str(st, "stock_id")
			}
		}
	}
	return ""
}

// merchantKey returns the public key of merchant mchID's API certificate (the
// first serial, sorted, of several), nil for a merchant the emulator does not know.
func (e *Emulator) merchantKey(mchID string) *rsa.PublicKey {
	m := e.merchants[mchID]
	if m == nil {
		return nil
	}
	serials := make([]string, 0, len(m.serials))
	for s := range m.serials {
		serials = append(serials, s)
	}
	sort.Strings(serials)
	return m.serials[serials[0]]
}

// sealFor encrypts personal data for a merchant (RSAES-OAEP, as WeChat Pay
// returns it); "" when the merchant is unknown.
func sealFor(pub *rsa.PublicKey, plaintext string) string {
	if pub == nil {
		return ""
	}
	ct, err := wxpay.EncryptOAEP(nil, pub, []byte(plaintext))
	if err != nil {
		return ""
	}
	return ct
}

// The emulated user's answers to sign-up forms: fixed, so that tests can
// compare them.
const (
	demoPhone    = "13800138000"
	demoNickname = "张三"
	demoAvatar   = "https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTLwGx9kUibCqr3Q/132"
)

// formValue is the user's answer to a platform-provided form field.
func formValue(flag string) string {
	switch flag {
	case "USER_FORM_FLAG_MOBILE":
		return demoPhone
	case "USER_FORM_FLAG_SEX":
		return "男"
	case "USER_FORM_FLAG_NAME":
		return "张三"
	case "USER_FORM_FLAG_BIRTHDAY":
		return "1990-05-20"
	case "USER_FORM_FLAG_ADDRESS":
		return "广东省深圳市南山区科技中一路10000号"
	case "USER_FORM_FLAG_EMAIL":
		return "zhangsan@example.com"
	case "USER_FORM_FLAG_CITY":
		return "深圳市"
	}
	return ""
}

// customField is the user's answer to a merchant-defined form field.
type customField struct {
	kind, name string
	values     []string // the text or the options chosen
}

// form reads a template's sign-up form (user_information_form of
// membercard-open templates, user_information of brand templates) and
// answers it: the platform fields with formValue, a TEXT field with a
// sentence, RADIO and SELECT with their first option, CHECK_BOX with the
// first two. A template without a form gets defaultFlags and one CHECK_BOX.
func form(tmpl map[string]any, key string, defaultFlags []string) ([][2]string, []customField) {
	f, ok := tmpl[key].(map[string]any)
	if !ok {
		var common [][2]string
		for _, flag := range defaultFlags {
			common = append(common, [2]string{flag, formValue(flag)})
		}
		return common, []customField{{"CHECK_BOX", "喜欢的运动", []string{"篮球", "游泳"}}}
	}
	var common [][2]string
	list, _ := f["common_field_list"].([]any)
	for _, it := range list {
		flag, _ := it.(string)
		if v := formValue(flag); v != "" {
			common = append(common, [2]string{flag, v})
		}
	}
	var custom []customField
	fields, _ := f["custom_field_list"].([]any)
	for _, it := range fields {
		cf, _ := it.(map[string]any)
		kind, name := str(cf, "type"), str(cf, "name")
		var options []string
		vs, _ := cf["values"].([]any)
		for _, v := range vs {
			if s, _ := v.(string); s != "" {
				options = append(options, s)
			}
		}
		switch {
		case name == "":
		case kind == "TEXT":
			custom = append(custom, customField{kind, name, []string{"周末常来门店"}})
		case kind == "CHECK_BOX" && len(options) > 0:
			custom = append(custom, customField{kind, name, options[:min(2, len(options))]})
		case len(options) > 0:
			custom = append(custom, customField{kind, name, options[:1]})
		}
	}
	return common, custom
}

// activationForm is what a user submits to activate a JUMP_ACTIVATE card, as
// GetMembercardActivateInformation answers it: plaintext (the spec marks these
// fields personal, not encrypted).
func activationForm(card *Card) map[string]any {
	common, custom := form(card.Template, "user_information_form",
		[]string{"USER_FORM_FLAG_MOBILE", "USER_FORM_FLAG_NAME", "USER_FORM_FLAG_SEX", "USER_FORM_FLAG_BIRTHDAY"})
	commonList := make([]any, 0, len(common))
	for _, f := range common {
		commonList = append(commonList, map[string]any{"name": f[0], "value": f[1]})
	}
	customList := make([]any, 0, len(custom))
	for _, f := range custom {
		item := map[string]any{"name": f.name}
		if f.kind == "CHECK_BOX" {
			values := make([]any, len(f.values))
			for i, v := range f.values {
				values[i] = v
			}
			item["value_list"] = values
		} else {
			item["value"] = f.values[0]
		}
		customList = append(customList, item)
	}
	return map[string]any{"nickname": demoNickname, "head_image_url": demoAvatar,
		"user_information": map[string]any{"common_field_list": commonList, "custom_field_list": customList}}
}

// brandForm is what a user fills in to open a brand card (brand forms have
// no mobile field: the phone number comes with the card).
func brandForm(card *Card) ([][2]string, []customField) {
	return form(card.Template, "user_information", []string{"USER_FORM_FLAG_NAME", "USER_FORM_FLAG_SEX", "USER_FORM_FLAG_BIRTHDAY"})
}
