package emulator

import (
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// handlers holds the operations with real behaviour; every other operation of
// the spec is answered by synthesise.
var handlers = map[string]func(e *Emulator, r *request) answer{
	"CreateBrandOpenUserCardToken":    (*Emulator).preAuthToken,
	"CreateBrandPreAuthToken":         (*Emulator).preAuthToken,
	"CreateMembercardPermissionToken": (*Emulator).permissionToken,
	"CreatePayrollCardToken":          (*Emulator).payrollToken,
	"ImportMembercardUser":            (*Emulator).importMembercardUser,
	"ImportBrandUserCardByOpenID":     (*Emulator).importBrandUserCard,
	"DepositMembercardCodes":          (*Emulator).depositCodes,
	"CreateBrandCard":                 (*Emulator).createCard,
	"CreateMembercardCard":            (*Emulator).createCard,
	"GetBrandCard":                    (*Emulator).getCard,
	"GetMembercardCard":               (*Emulator).getCard,
	"UpdateBrandCard":                 (*Emulator).updateCard,
	"UpdateMembercardCard":            (*Emulator).updateCard,
	"DeleteBrandCard":                 (*Emulator).deleteCard,
	"DeleteMembercardCard":            (*Emulator).deleteCard,
	"ListBrandCards":                  (*Emulator).listCards,
	"ListMembercardCards":             (*Emulator).listCards,
	"GetBrandUserCard":                (*Emulator).getBrandUserCard,
	"UpdateBrandUserCard":             (*Emulator).updateBrandUserCard,
	"InvalidateBrandUserCard":         (*Emulator).invalidateBrandUserCard,
	"InvalidateBrandCard":             (*Emulator).invalidateBrandCard,
	"ListBrandUserCards":              (*Emulator).listBrandUserCards,
	"GetMembercardUserCard":           (*Emulator).getMembercardUserCard,
	"UpdateMembercardUserCard":        (*Emulator).updateMembercardUserCard,
	"ActivateMembercardUserCard":      (*Emulator).activateMembercardUserCard,
	"ListMembercardUserCards":         (*Emulator).listMembercardUserCards,
	"InvalidateMembercardUserCard":    (*Emulator).invalidateMembercardUserCard,
	"UpdateMembercardCallback":        (*Emulator).setCallback,
	"GetMembercardCallback":           (*Emulator).getCallback,
}

func (e *Emulator) dispatch(r *request) answer {
	if h := handlers[r.op.ID]; h != nil {
		return h(e, r)
	}
	return e.synthesise(r)
}

// preAuthToken: open-user-card-tokens and pre-auth-tokens.
func (e *Emulator) preAuthToken(r *request) answer {
	brandID, cardID, openID := str(r.body, "brand_id"), str(r.body, "card_id"), str(r.body, "openid")
	e.state.mu.Lock()
	brand, card, user := e.state.brands[brandID], e.state.cards[cardID], e.state.users[openID]
	e.state.mu.Unlock()
	switch {
	case brand == nil || brand.MchID != r.mchID:
		return invalidRequest("品牌ID无效或不属于该服务商")
	case card == nil || card.Family != BrandFamily || card.BrandID != brandID:
		return invalidRequest("会员卡模版ID不属于该品牌")
	case !user.fits(card):
		return unknownOpenID(openID)
	}
	return ok(map[string]any{
		"token":       e.randString(32, alnum),
		"expire_time": rfc3339(e.nowCST().Add(time.Hour)),
	})
}

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

func (e *Emulator) permissionToken(r *request) answer {
	if _, bad := e.membercardCard(r); bad != nil {
		return *bad
	}
	return ok(map[string]any{"permission_token": "pt_" + e.randString(64, alnum)})
}

// payrollToken requires a sub-merchant of the caller and decrypted identity fields.
func (e *Emulator) payrollToken(r *request) answer {
	subMchID, appID, subAppID := str(r.body, "sub_mchid"), str(r.body, "appid"), str(r.body, "sub_appid")
	e.state.mu.Lock()
	sub := e.state.subMerchants[subMchID]
	e.state.mu.Unlock()
	switch {
	case sub == nil || sub.MchID != r.mchID:
		return invalidRequest("子商户号sub_mchid与服务商商户号不存在受理关系")
	case appID == "" && subAppID == "":
		return fieldError("appid与sub_appid至少填写一个", "body", "/appid", "", "appid or sub_appid is required")
	case subAppID != "" && !contains(sub.AppIDs, subAppID):
		return invalidRequest("sub_appid与sub_mchid不存在绑定关系")
	case r.plain["body:/user_name"] == "" || r.plain["body:/id_card_number"] == "":
		return apiError(http.StatusBadRequest, "PARAM_ERROR", "请确认待处理的消息是否为加密后的密文", nil)
	}
	return ok(map[string]any{
		"openid": str(r.body, "openid"), "mchid": r.mchID, "sub_mchid": subMchID,
		"token": e.randString(40, alnum), "expires_in": 1800,
	})
}

// fingerprint hashes a request's content (path parameters, query and body) with
// decrypted values in place of ciphertexts (OAEP is randomised: the same
// plaintext never encrypts twice the same), so that "the same request" can be
// told from "the same number with different parameters".
func (r *request) fingerprint() [32]byte {
	b, _ := json.Marshal(map[string]any{"path": r.params, "query": r.query, "body": plainCopy(r.body, "", r.plain)})
	return sha256.Sum256(b)
}

func plainCopy(v any, ptr string, plain map[string]string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = plainCopy(x, ptr+"/"+k, plain)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = plainCopy(x, ptr+"/"+strconv.Itoa(i), plain)
		}
		return out
	case string:
		if p, ok := plain["body:"+ptr]; ok {
			return "plain:" + p
		}
	}
	return v
}

// importMembercardUser: idempotent by out_request_no per caller, one membership
// per (card, openid), codes by the card's code mode.
func (e *Emulator) importMembercardUser(r *request) answer {
	card, bad := e.membercardCard(r)
	if bad != nil {
		return *bad
	}
	openID, code, no := str(r.body, "openid"), str(r.body, "code"), str(r.body, "out_request_no")
	key := idemKey{r.mchID, "users/import", no}
	fp := r.fingerprint()
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.idem[key]; prev != nil {
		if prev.hash != fp {
			return invalidRequest("请确认相同单号是否使用了不同的参数")
		}
		return prev.answer
	}
	if !s.users[openID].fits(card) {
		return unknownOpenID(openID)
	}
	if s.members[memberKey{card.ID, openID}] != nil {
		return invalidRequest("该用户已领取过此会员卡，不可重复导入")
	}
	// The code follows the card's mode; a code sent for another mode is ignored,
	// as the service allocates it.
	switch card.CodeMode {
	case RealTime:
		if code == "" {
			return fieldError("实时code模式的会员卡必须传入code", "body", "/code", "", "is required for a REAL_TIME card")
		}
		if s.byCode[memberKey{card.ID, code}] != nil {
			return invalidRequest("该code已被使用")
		}
	case MerchantDeposit:
		var left bool
		if code, left = s.takeDeposited(card.ID); !left {
			return invalidRequest("会员卡已无可用的预存code，请先导入code")
		}
	default:
		code = e.randString(12, "0123456789")
		for s.byCode[memberKey{card.ID, code}] != nil {
			code = e.randString(12, "0123456789")
		}
	}
	s.addMember(&Membership{CardID: card.ID, OpenID: openID, Code: code, RequestNo: no, State: "EFFECTIVE", Created: e.now()})
	an := ok(map[string]any{"code": code})
	s.idem[key] = &idem{hash: fp, answer: an}
	return an
}

func (e *Emulator) depositCodes(r *request) answer {
	card, bad := e.membercardCard(r)
	if bad != nil {
		return *bad
	}
	if card.CodeMode != MerchantDeposit {
		return invalidRequest("会员卡code分配类型不是MERCHANT_DEPOSIT，不能导入code")
	}
	list, _ := r.body["code"].([]any)
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	data := make([]any, 0, len(list))
	for _, c := range list {
		code, _ := c.(string)
		result := "SUCCESS"
		if !s.deposit(card.ID, code) {
			result = "DUPLICATE"
		}
		data = append(data, map[string]any{"code": code, "result": result})
	}
	return ok(map[string]any{"data": data})
}
