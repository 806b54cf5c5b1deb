package emulator

import (
	"net/http"
	"sort"
)

// Card templates of both families.

func (e *Emulator) newCardID() string { return "pbLat" + e.randString(23, alnum+"-_") }

// brandNotServed answers a brand that does not exist or that the caller is
// not the service provider of.
func brandNotServed() answer { return invalidRequest("品牌ID无效或不属于该服务商") }

// membercardCard finds the membercard-open card of the path, which the caller
// must have created. The caller holds the lock.
func (s *state) membercardCard(r *request) (*Card, *answer) {
	card := s.cards[r.params["card_id"]]
	switch {
	case !card.in(MembercardFamily):
		a := invalidRequest("会员卡ID无效")
		return nil, &a
	case card.MchID != r.mchID:
		a := invalidRequest("会员卡的创建商户号不等于调用方商户号")
		return nil, &a
	}
	return card, nil
}

// ownedCard finds the card template of the path for the caller, by the rules
// of the operation's family. The caller holds the lock.
func (s *state) ownedCard(r *request) (*Card, *answer) {
	if r.family() != BrandFamily {
		return s.membercardCard(r)
	}
	card := s.cards[r.params["card_id"]]
	query, body := r.query.Get("brand_id"), str(r.body, "brand_id")
	if !card.in(BrandFamily) || (query != "" && card.BrandID != query) || (body != "" && card.BrandID != body) {
		a := apiError(http.StatusNotFound, "RESOURCE_NOT_EXISTS", "会员卡模板不存在", nil)
		return nil, &a
	}
	if card.MchID != r.mchID {
		a := apiError(http.StatusForbidden, "NO_AUTH", "商户暂无权限使用此功能", nil)
		return nil, &a
	}
	return card, nil
}

// bodyBrandCard finds the brand card that the body's brand_id and card_id
// name, for the brand's service provider. The caller holds the lock.
func (s *state) bodyBrandCard(r *request) (*Card, *answer) {
	brandID, card := str(r.body, "brand_id"), s.cards[str(r.body, "card_id")]
	switch {
	case !s.servesBrand(brandID, r.mchID):
		a := brandNotServed()
		return nil, &a
	case !card.ofBrand(brandID):
		a := invalidRequest("会员卡模版ID不属于该品牌")
		return nil, &a
	}
	return card, nil
}

func (e *Emulator) createCard(r *request) answer {
	tmpl := copyMap(r.body)
	card := Card{Template: tmpl}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if bad := s.checkImages(r.body); bad != nil {
		return *bad
	}
	if r.family() == BrandFamily {
		brandID := str(r.body, "brand_id")
		if !s.servesBrand(brandID, r.mchID) {
			return brandNotServed()
		}
		card.Family, card.BrandID, card.MchID = BrandFamily, brandID, r.mchID
	} else {
		key := idemKey{r.mchID, "cards", str(r.body, "out_request_no")}
		fp := r.fingerprint()
		if prev, seen := s.replay(key, fp, reusedNumber); seen {
			return prev
		}
		card.Family, card.MchID, card.CodeMode = MembercardFamily, r.mchID, str(r.body, "code_mode")
		defer func() { s.remember(key, fp, e.rendered(r, tmpl)) }()
	}
	card.ID, card.AppID = e.newCardID(), str(r.body, "appid")
	now := rfc3339(e.nowCST())
	tmpl["card_id"], tmpl["create_time"], tmpl["update_time"] = card.ID, now, now
	if card.Family == BrandFamily {
		tmpl["state"] = "CARD_EFFECTIVE"
	}
	s.cards[card.ID] = &card
	return e.rendered(r, tmpl)
}

func (e *Emulator) getCard(r *request) answer {
	return owned(e, r, (*state).ownedCard, func(card *Card) answer { return e.rendered(r, withMediaHost(r.r, card.Template)) })
}

func (e *Emulator) updateCard(r *request) answer {
	return owned(e, r, (*state).ownedCard, func(card *Card) answer {
		if bad := e.state.checkImages(r.body); bad != nil {
			return *bad
		}
		for k, v := range r.body {
			card.Template[k] = v
		}
		card.Template["update_time"] = rfc3339(e.nowCST())
		return e.reply(r, withMediaHost(r.r, card.Template))
	})
}

func (e *Emulator) deleteCard(r *request) answer {
	return owned(e, r, (*state).ownedCard, func(card *Card) answer {
		delete(e.state.cards, card.ID)
		return e.reply(r, card.Template)
	})
}

// listCards lists the caller's templates of the operation's family (of one
// brand for brand cards), optionally in one state.
func (e *Emulator) listCards(r *request) answer {
	family, brandID, want := r.family(), r.query.Get("brand_id"), r.query.Get("state")
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	var matched []*Card
	for _, c := range s.cards {
		switch {
		case !c.in(family) || c.MchID != r.mchID:
		case family == BrandFamily && c.BrandID != brandID:
		case want != "" && str(c.Template, "state") != want:
		default:
			matched = append(matched, c)
		}
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].ID < matched[j].ID })
	return listPage(e, r, matched, func(c *Card) any { return c.Template })
}

// invalidateBrandCard marks a brand card template CARD_INVALID.
func (e *Emulator) invalidateBrandCard(r *request) answer {
	return owned(e, r, (*state).ownedCard, func(card *Card) answer {
		card.Template["state"] = "CARD_INVALID"
		card.Template["update_time"] = rfc3339(e.nowCST())
		src := copyMap(card.Template)
		for k, v := range r.body {
			src[k] = v
		}
		return e.rendered(r, src)
	})
}
