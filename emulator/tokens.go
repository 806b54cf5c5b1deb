package emulator

import (
	"net/http"
	"time"
)

// preAuthToken: open-user-card-tokens and pre-auth-tokens.
func (e *Emulator) preAuthToken(r *request) answer {
	return owned(e, r, (*state).bodyBrandCard, func(card *Card) answer {
		if openID := str(r.body, "openid"); !e.state.users[openID].fits(card) {
			return unknownOpenID(openID)
		}
		return ok(map[string]any{
			"token":       e.randString(32, alnum),
			"expire_time": rfc3339(e.nowCST().Add(time.Hour)),
		})
	})
}

// payViewToken: the "show payment code" component token, valid 10 minutes,
// for a user of the card's AppID.
func (e *Emulator) payViewToken(r *request) answer {
	return owned(e, r, (*state).bodyBrandCard, func(card *Card) answer {
		if openID := str(r.body, "openid"); !e.state.users[openID].fits(card) {
			return unknownOpenID(openID)
		}
		return ok(map[string]any{
			"token":       e.randString(32, alnum),
			"expire_time": rfc3339(e.nowCST().Add(10 * time.Minute)),
		})
	})
}

func (e *Emulator) permissionToken(r *request) answer {
	return owned(e, r, (*state).membercardCard, func(*Card) answer {
		return ok(map[string]any{"permission_token": "pt_" + e.randString(64, alnum)})
	})
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
