package emulator

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/wxpaykit/wxpay"
	"github.com/wxpaykit/wxpay/internal/apispec"
)

// ---- card templates (both families) ----

func (e *Emulator) newCardID() string { return "pbLat" + e.randString(23, alnum+"-_") }

func (e *Emulator) createCard(r *request) answer {
	tmpl := copyMap(r.body)
	card := Card{Template: tmpl}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.op.Family == "brand-card-member" {
		brandID := str(r.body, "brand_id")
		if b := s.brands[brandID]; b == nil || b.MchID != r.mchID {
			return invalidRequest("品牌ID无效或不属于该服务商")
		}
		card.Family, card.BrandID, card.MchID = BrandFamily, brandID, r.mchID
	} else {
		key := idemKey{r.mchID, "cards", str(r.body, "out_request_no")}
		fp := r.fingerprint()
		if prev := s.idem[key]; prev != nil {
			if prev.hash != fp {
				return invalidRequest("请确认相同单号是否使用了不同的参数")
			}
			return prev.answer
		}
		card.Family, card.MchID, card.CodeMode = MembercardFamily, r.mchID, str(r.body, "code_mode")
		defer func() { s.idem[key] = &idem{hash: fp, answer: ok(e.render(r, r.op.Response, tmpl))} }()
	}
	card.ID, card.AppID = e.newCardID(), str(r.body, "appid")
	now := rfc3339(e.nowCST())
	tmpl["card_id"], tmpl["create_time"], tmpl["update_time"] = card.ID, now, now
	if card.Family == BrandFamily {
		tmpl["state"] = "CARD_EFFECTIVE"
	}
	s.cards[card.ID] = &card
	return ok(e.render(r, r.op.Response, tmpl))
}

// ownedCard finds the card of the path for the caller, per family rules.
func (e *Emulator) ownedCard(r *request) (*Card, *answer) {
	s := &e.state
	s.mu.Lock()
	card := s.cards[r.params["card_id"]]
	s.mu.Unlock()
	if r.op.Family != "brand-card-member" {
		return e.membercardCard(r)
	}
	if card == nil || card.Family != BrandFamily || (r.query.Get("brand_id") != "" && card.BrandID != r.query.Get("brand_id")) ||
		(str(r.body, "brand_id") != "" && card.BrandID != str(r.body, "brand_id")) {
		a := apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "会员卡模板不存在", nil)
		return nil, &a
	}
	if card.MchID != r.mchID {
		a := apiError(http.StatusForbidden, "NO_AUTH", "商户暂无权限使用此功能", nil)
		return nil, &a
	}
	return card, nil
}

func (e *Emulator) getCard(r *request) answer {
	card, bad := e.ownedCard(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	return ok(e.render(r, r.op.Response, card.Template))
}

func (e *Emulator) updateCard(r *request) answer {
	card, bad := e.ownedCard(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	for k, v := range r.body {
		card.Template[k] = v
	}
	card.Template["update_time"] = rfc3339(e.nowCST())
	if r.op.ResponseStatus == http.StatusNoContent {
		return noContent()
	}
	return ok(e.render(r, r.op.Response, card.Template))
}

func (e *Emulator) deleteCard(r *request) answer {
	card, bad := e.ownedCard(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	delete(e.state.cards, card.ID)
	if r.op.ResponseStatus == http.StatusNoContent {
		return noContent()
	}
	return ok(e.render(r, r.op.Response, card.Template))
}

func (e *Emulator) listCards(r *request) answer {
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*Card
	for _, c := range s.cards {
		switch {
		case r.op.Family == "brand-card-member" && (c.Family != BrandFamily || c.BrandID != r.query.Get("brand_id") || c.MchID != r.mchID):
		case r.op.Family != "brand-card-member" && (c.Family != MembercardFamily || c.MchID != r.mchID):
		case r.query.Get("state") != "" && str(c.Template, "state") != r.query.Get("state"):
		default:
			matched = append(matched, c)
		}
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].ID < matched[j].ID })
	return listPage(e, r, matched, func(c *Card) any { return c.Template })
}

// listPage answers a list operation with the page of items that the query's
// offset and limit (validated as non-negative integers; limit 0 or absent
// means 20) select, each item rendered by item.
func listPage[T any](e *Emulator, r *request, items []T, item func(T) any) answer {
	offset, _ := strconv.Atoi(r.query.Get("offset"))
	limit, _ := strconv.Atoi(r.query.Get("limit"))
	offset = max(offset, 0)
	if limit <= 0 {
		limit = 20
	}
	from := min(offset, len(items))
	to := len(items)
	if limit < to-from { // no overflow for a huge limit
		to = from + limit
	}
	data := make([]any, 0, to-from)
	for _, it := range items[from:to] {
		data = append(data, item(it))
	}
	return ok(e.render(r, r.op.Response, map[string]any{"total_count": len(items), "offset": offset, "limit": limit, "data": data}))
}

// invalidateBrandCard marks a brand card template CARD_INVALID.
func (e *Emulator) invalidateBrandCard(r *request) answer {
	card, bad := e.ownedCard(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	card.Template["state"] = "CARD_INVALID"
	card.Template["update_time"] = rfc3339(e.nowCST())
	src := copyMap(card.Template)
	for k, v := range r.body {
		src[k] = v
	}
	return ok(e.render(r, r.op.Response, src))
}

// ---- brand user cards ----

func (e *Emulator) importBrandUserCard(r *request) answer {
	brandID, cardID, openID, code := str(r.body, "brand_id"), str(r.body, "card_id"), str(r.body, "openid"), str(r.body, "user_card_code")
	fp := r.fingerprint()
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	brand, card := s.brands[brandID], s.cards[cardID]
	switch {
	case brand == nil || brand.MchID != r.mchID:
		return invalidRequest("品牌ID无效或不属于该服务商")
	case card == nil || card.Family != BrandFamily || card.BrandID != brandID:
		return invalidRequest("会员卡模版ID不属于该品牌")
	}
	key := idemKey{r.mchID, "import-by-openid/" + cardID, code}
	if prev := s.idem[key]; prev != nil {
		if prev.hash != fp {
			return invalidRequest("该会员卡code已被使用，或相同code使用了不同的参数")
		}
		return prev.answer
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
	an := ok(e.render(r, r.op.Response, record))
	s.idem[key] = &idem{hash: fp, answer: an}
	return an
}

// listBrandUserCards lists a user's cards of one brand, in import order.
func (e *Emulator) listBrandUserCards(r *request) answer {
	brandID, openID, want := r.query.Get("brand_id"), r.query.Get("openid"), r.query.Get("user_card_state")
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.brands[brandID]; b == nil || b.MchID != r.mchID {
		return invalidRequest("品牌ID无效或不属于该服务商")
	}
	var matched []map[string]any
	for _, m := range s.userMembers[openID] {
		card := s.cards[m.CardID]
		if m.record == nil || card == nil || card.Family != BrandFamily || card.BrandID != brandID ||
			(want != "" && str(m.record, "user_card_state") != want) {
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

func (e *Emulator) brandUserCard(r *request) (*Membership, *answer) {
	cardID := str(r.body, "card_id")
	if cardID == "" {
		cardID = r.query.Get("card_id")
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
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
	m, bad := e.brandUserCard(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	return ok(e.render(r, r.op.Response, m.record))
}

func (e *Emulator) updateBrandUserCard(r *request) answer {
	m, bad := e.brandUserCard(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	for k, v := range r.body {
		switch k {
		case "brand_id", "card_id", "openid", "phone_number", "user_information":
		default:
			m.record[k] = v
		}
	}
	e.copyUserInfo(r, m.record)
	return ok(e.render(r, r.op.Response, m.record))
}

func (e *Emulator) invalidateBrandUserCard(r *request) answer {
	m, bad := e.brandUserCard(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	m.State = "INVALID"
	m.record["user_card_state"] = "INVALID"
	m.record["invalid_reason"] = strOr(r.body, "invalid_reason", "商户作废")
	m.record["invalid_time"] = rfc3339(e.nowCST())
	return ok(e.render(r, r.op.Response, m.record))
}

// ---- membercard user cards ----

func (e *Emulator) membercardUserCard(r *request) (*Membership, *answer) {
	card, bad := e.membercardCard(r)
	if bad != nil {
		return nil, bad
	}
	e.state.mu.Lock()
	m := e.state.byCode[memberKey{card.ID, r.params["code"]}]
	e.state.mu.Unlock()
	if m == nil {
		a := apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "会员卡code不存在", nil)
		return nil, &a
	}
	return m, nil
}

func (e *Emulator) getMembercardUserCard(r *request) answer {
	m, bad := e.membercardUserCard(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	src := map[string]any{"card_id": m.CardID, "code": m.Code, "openid": m.OpenID, "user_card_status": m.State}
	for k, v := range m.record {
		src[k] = v
	}
	return ok(e.render(r, r.op.Response, src))
}

// updateMembercardUserCard stores what PATCH …/codes/{code} changes: the
// membership number, level, background and balance.
func (e *Emulator) updateMembercardUserCard(r *request) answer {
	m, bad := e.membercardUserCard(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
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
}

// activateMembercardUserCard activates a user card (JUMP_ACTIVATE), recording
// the merchant's membership number.
func (e *Emulator) activateMembercardUserCard(r *request) answer {
	m, bad := e.membercardUserCard(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	if m.State == "UNAVAILABLE" {
		return invalidRequest("会员卡code已失效，不能激活")
	}
	if m.record == nil {
		m.record = map[string]any{}
	}
	if v, ok := r.body["membership_number"]; ok {
		m.record["membership_number"] = v
	}
	m.State = "EFFECTIVE"
	return noContent()
}

// listMembercardUserCards lists a user's cards among the caller's templates.
func (e *Emulator) listMembercardUserCards(r *request) answer {
	openID, appID := r.query.Get("openid"), r.query.Get("appid")
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*Membership
	for _, m := range s.userMembers[openID] {
		card := s.cards[m.CardID]
		if card == nil || card.Family != MembercardFamily || card.MchID != r.mchID || (appID != "" && card.AppID != appID) {
			continue
		}
		matched = append(matched, m)
	}
	return listPage(e, r, matched, func(m *Membership) any { return map[string]any{"card_id": m.CardID, "code": m.Code} })
}

func (e *Emulator) invalidateMembercardUserCard(r *request) answer {
	m, bad := e.membercardUserCard(r)
	if bad != nil {
		return *bad
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	m.State = "UNAVAILABLE"
	return noContent()
}

// ---- callback URL ----

func (e *Emulator) setCallback(r *request) answer {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	e.state.callbacks[r.mchID] = str(r.body, "notify_url")
	return ok(map[string]any{"notify_url": str(r.body, "notify_url"), "mchid": r.mchID})
}

func (e *Emulator) getCallback(r *request) answer {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	u, ok2 := e.state.callbacks[r.mchID]
	if !ok2 {
		return apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "未设置回调地址", nil)
	}
	return ok(map[string]any{"notify_url": u, "mchid": r.mchID})
}

// ---- rendering and synthesis ----

// synthesise answers an operation without dedicated behaviour: a well-formed
// answer built from the spec, echoing request values where names match.
func (e *Emulator) synthesise(r *request) answer {
	if r.op.ResponseStatus == http.StatusNoContent {
		return noContent()
	}
	if !r.op.ResponseDocumented {
		return ok(map[string]any{})
	}
	src := map[string]any{}
	for k, v := range r.body {
		src[k] = v
	}
	for k, vs := range r.query {
		src[k] = vs[0]
	}
	for k, v := range r.params {
		src[k] = v
	}
	return ok(e.render(r, r.op.Response, src))
}

// render builds an object of the given fields: present values from src (converted
// to the field's JSON type), required ones made up when missing.
func (e *Emulator) render(r *request, fields []*apispec.Field, src map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for _, f := range fields {
		v, has := src[f.Name]
		if has && v != nil {
			if cv, ok := e.convert(r, f, f.Type, v); ok {
				out[f.Name] = cv
				continue
			}
		}
		if f.Required {
			out[f.Name] = e.invent(r, f, f.Type)
		}
	}
	return out
}

func (e *Emulator) convert(r *request, f *apispec.Field, t apispec.Type, v any) (any, bool) {
	switch t {
	case apispec.String:
		s, ok := v.(string)
		if ok && len(f.Enum) > 0 && !contains(f.Enum, s) {
			return nil, false
		}
		return s, ok
	case apispec.Integer, apispec.Number:
		switch n := v.(type) {
		case json.Number, int, int64, float64:
			return n, true
		case string:
			if _, err := strconv.ParseFloat(n, 64); err == nil {
				return json.Number(n), true
			}
		}
		return nil, false
	case apispec.Boolean:
		b, ok := v.(bool)
		return b, ok
	case apispec.Object:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		return e.render(r, f.Fields, m), true
	case apispec.Array:
		list, ok := v.([]any)
		if !ok {
			return nil, false
		}
		out := make([]any, 0, len(list))
		for _, it := range list {
			if cv, ok := e.convert(r, f, f.Items, it); ok {
				out = append(out, cv)
			}
		}
		return out, true
	}
	return nil, false
}

// invent makes up a plausible value of the field's type.
func (e *Emulator) invent(r *request, f *apispec.Field, t apispec.Type) any {
	switch t {
	case apispec.String:
		name := f.Name
		switch {
		case len(f.Enum) > 0:
			return f.Enum[0]
		case f.Encrypted:
			return e.forMerchant(r, "emulated")
		case strings.HasSuffix(name, "_time") || name == "time":
			return rfc3339(e.nowCST())
		case name == "mchid":
			return r.mchID
		case name == "openid":
			return "o" + e.randString(27, alnum)
		case strings.HasSuffix(name, "_date"):
			return e.nowCST().Format("2006-01-02")
		case strings.HasSuffix(name, "url"):
			return "https://wxpay.example/" + name
		case strings.HasSuffix(name, "id") || strings.HasSuffix(name, "_no") || strings.HasSuffix(name, "code") || strings.HasSuffix(name, "token"):
			return e.randString(24, alnum)
		}
		return "emulated"
	case apispec.Integer, apispec.Number:
		if f.Name == "limit" {
			return 10
		}
		return 0
	case apispec.Boolean:
		return false
	case apispec.Object:
		return e.render(r, f.Fields, map[string]any{})
	case apispec.Array:
		return []any{}
	}
	return nil
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func strOr(m map[string]any, key, def string) string {
	if s := str(m, key); s != "" {
		return s
	}
	return def
}
