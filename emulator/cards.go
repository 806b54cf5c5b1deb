package emulator

import (
	"net/http"
	"sort"
)

// Card templates of both families.

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

// membercardCard finds a membercard-open card the caller created.
func (e *Emulator) membercardCard(r *request) (*Card, *answer) {
	e.state.mu.Lock()
	card := e.state.cards[r.params["card_id"]]
	e.state.mu.Unlock()
	switch {
	case card == nil || card.Family != MembercardFamily:
		a := invalidRequest("会员卡ID无效")
		return nil, &a
	case card.MchID != r.mchID:
		a := invalidRequest("会员卡的创建商户号不等于调用方商户号")
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
