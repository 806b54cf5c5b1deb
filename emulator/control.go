package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// controlPrefix is where the emulator's own endpoints live, outside /v3 and
// unauthenticated: they play WeChat Pay's side (the payer, the bank, the end
// of the business day) for tests in any language. Every answer is JSON; an
// error is {"code", "message"} with a 4xx status.
//
//	GET  /_emulator/memberships?card_id=…   the memberships (all cards without card_id)
//	GET  /_emulator/deliveries              the notification deliveries so far: id, event_type,
//	     url, attempts, delivered, gave_up, last_status
//	GET  /_emulator/orders?mchid=…          the orders of a merchant or sub-merchant (all without mchid)
//	POST /_emulator/pay                     {"out_trade_no", "mchid" or "sub_mchid", "result"}
//	     the payer pays an order: result SUCCESS (default: TRANSACTION.SUCCESS is
//	     delivered to its notify_url), PAYERROR or USERPAYING; answers the order
//	     as a query does
//	POST /_emulator/payer-codes             {"auth_code", "result"}
//	     what scanning a payment code does: SUCCESS (the default for any valid
//	     code), USERPAYING (the order waits; pay it with /_emulator/pay) or PAYERROR
//	POST /_emulator/refunds/settle          {"out_refund_no", "mchid" or "sub_mchid", "result"}
//	     the bank ends a PROCESSING refund: SUCCESS (default), ABNORMAL or
//	     CLOSED, delivering REFUND.SUCCESS / REFUND.ABNORMAL / REFUND.CLOSED
//	POST /_emulator/day-end                 {"date": "YYYY-MM-DD"} (default: today)
//	     ends a business day: its bills can be applied for at once
//	GET  /_emulator/media/<name>            an uploaded file (a media_url points here)
//
// The member's side (members.go): each action changes the state and delivers
// its notification (signed, encrypted, redelivered until a 2xx answer), and
// answers with what comes next, notification_id included. MEMBERCARD.* go to
// the callback URL of PATCH /v3/marketing/membercard-open/callback,
// BRAND_MEMBER_CARD_SP.* to the notify_url of the brand card template; without
// one the action is refused, 409 CANNOT_NOTIFY. An unknown card, user, code or
// record is 404 RESOURCE_NOT_EXISTS; an action the user card's state does not
// allow (a second claim, …) 409 INVALID_STATE.
//
//	POST /_emulator/membercard/claim        {"card_id", "openid", "outer_str", "activate_type", "code"}
//	     the user claims a membercard-open card: a NOT_ACTIVATE user card with
//	     a code by the card's code mode (code: REAL_TIME cards only), and
//	     MEMBERCARD.ACCEPT_CARD (NEW_ACTIVATE; RECOVER for a card the user had
//	     deleted); activate_type AUTO_ACTIVATE (default) or JUMP_ACTIVATE;
//	     answers {"card_id", "openid", "code", "state", "activate_type",
//	     "event_type", "notification_id"}
//	POST /_emulator/membercard/activate     {"card_id", "code"}
//	     the user activates it: AUTO_ACTIVATE is EFFECTIVE at once; for
//	     JUMP_ACTIVATE the user submits the sign-up form, kept under the
//	     answer's "activate_ticket" for GET …/activate-informations/{ticket},
//	     and the merchant's POST …/codes/{code}/activate makes it EFFECTIVE;
//	     both deliver MEMBERCARD.ACTIVATE_CARD; answers as claim does
//	POST /_emulator/membercard/delete       {"card_id", "code"}
//	     the user deletes it: state DELETE, MEMBERCARD.USERCARD_MANAGE
//	     (USER_DELETE_MEMBERCARD); answers as claim does
//	POST /_emulator/brand/claim             {"brand_id", "card_id", "openid"}
//	     the user opens a brand card: a user card UNACTIVATED until the
//	     merchant confirms it (POST …/user-cards/{user_card_code}/confirm),
//	     BRAND_MEMBER_CARD_SP.USER_CARD.CREATE; answers {"brand_id", "card_id",
//	     "openid", "user_card_code", "user_card_state", "event_type",
//	     "notification_id"}
//	POST /_emulator/brand/delete            {"brand_id", "card_id", "user_card_code"}
//	     the user deletes it: INVALID for the API,
//	     BRAND_MEMBER_CARD_SP.USER_CARD.DELETE (DELETE); answers as claim does
//	POST /_emulator/brand/exchange-points   {"brand_id", "card_id", "user_card_code",
//	                                         "exchange_coupon_template_id", "deduct_points", "stock_id"}
//	     the user exchanges points of an EFFECTIVE user card for a coupon: a
//	     PENDING record, BRAND_MEMBER_CARD_SP.POINT_EXCHANGE_COUPON; the
//	     merchant settles it with POST …/user-points/exchange-coupon/confirm;
//	     answers the record {"record_id", …, "state", "notification_id"}
const controlPrefix = "/_emulator/"

// maxControlBody bounds a control request's body.
const maxControlBody = 64 << 10

type controlError struct {
	status  int
	code    string
	message string
}

func (e *controlError) Error() string { return e.message }

func badControl(format string, a ...any) error {
	return &controlError{http.StatusBadRequest, "PARAM_ERROR", fmt.Sprintf(format, a...)}
}

// serveControl answers the control API.
func (e *Emulator) serveControl(w http.ResponseWriter, r *http.Request) int {
	if strings.HasPrefix(r.URL.Path, mediaPrefix) {
		return e.serveMedia(w, r)
	}
	write := func(status int, v any) int {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(b.Bytes())
		return status
	}
	route := r.Method + " " + r.URL.Path[len(controlPrefix)-1:]
	var out any
	var err error
	switch route {
	case "GET /memberships":
		out = e.controlMemberships(r.URL.Query().Get("card_id"))
	case "GET /deliveries":
		ds := e.Deliveries()
		out = map[string]any{"count": len(ds), "deliveries": ds}
	case "GET /orders":
		var views []map[string]any
		for _, o := range e.Orders(r.URL.Query().Get("mchid")) {
			views = append(views, e.transaction(&o))
		}
		out = map[string]any{"count": len(views), "orders": views}
	case "POST /pay":
		var in struct {
			OutTradeNo string `json:"out_trade_no"`
			MchID      string `json:"mchid"`
			SubMchID   string `json:"sub_mchid"`
			Result     string `json:"result"`
		}
		if err = readControl(w, r, &in); err == nil {
			var o Order
			if o, err = e.Pay(first(in.SubMchID, in.MchID), in.OutTradeNo, in.Result); err == nil {
				out = e.transaction(&o)
			}
		}
	case "POST /payer-codes":
		var in struct {
			AuthCode string `json:"auth_code"`
			Result   string `json:"result"`
		}
		if err = readControl(w, r, &in); err == nil {
			if err = e.RegisterPayerCode(in.AuthCode, in.Result); err != nil {
				err = badControl("%s", err)
			} else {
				out = map[string]any{"auth_code": in.AuthCode, "result": in.Result}
			}
		}
	case "POST /refunds/settle":
		var in struct {
			OutRefundNo string `json:"out_refund_no"`
			MchID       string `json:"mchid"`
			SubMchID    string `json:"sub_mchid"`
			Result      string `json:"result"`
		}
		if err = readControl(w, r, &in); err == nil {
			var rf Refund
			if rf, err = e.SettleRefund(first(in.SubMchID, in.MchID), in.OutRefundNo, in.Result); err == nil {
				e.state.mu.Lock()
				out = e.refundView(&rf)
				e.state.mu.Unlock()
			}
		}
	case "POST /day-end":
		var in struct {
			Date string `json:"date"`
		}
		if err = readControl(w, r, &in); err == nil {
			if in.Date == "" {
				in.Date = e.nowCST().Format("2006-01-02")
			}
			if err = e.EndDay(in.Date); err != nil {
				err = badControl("%s", err)
			} else {
				out = map[string]any{"date": in.Date}
			}
		}
	case "POST /membercard/claim", "POST /membercard/activate", "POST /membercard/delete",
		"POST /brand/claim", "POST /brand/delete", "POST /brand/exchange-points":
		out, err = e.controlMember(route, w, r)
	default:
		err = &controlError{http.StatusNotFound, "RESOURCE_NOT_EXISTS", "no control endpoint " + strconv.Quote(route)}
	}
	var ce *controlError
	switch {
	case err == nil:
		return write(http.StatusOK, out)
	case errors.As(err, &ce):
		return write(ce.status, map[string]string{"code": ce.code, "message": ce.message})
	case errors.Is(err, ErrOrder), errors.Is(err, ErrRefund), errors.Is(err, ErrUserCardState):
		return write(http.StatusConflict, map[string]string{"code": "INVALID_STATE", "message": err.Error()})
	case errors.Is(err, ErrCannotNotify):
		return write(http.StatusConflict, map[string]string{"code": "CANNOT_NOTIFY", "message": err.Error()})
	case errors.Is(err, ErrNotFound):
		return write(http.StatusNotFound, map[string]string{"code": "RESOURCE_NOT_EXISTS", "message": err.Error()})
	}
	return write(http.StatusBadRequest, map[string]string{"code": "PARAM_ERROR", "message": err.Error()})
}

// readControl decodes a control request's JSON object, bounded, refusing
// unknown members (a typo must not pass silently).
func readControl(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err != nil {
		return badControl("the body could not be read (at most %d bytes): %v", maxControlBody, err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badControl("the body must be a JSON object of this endpoint's members: %v", err)
	}
	if dec.More() {
		return badControl("the body holds more than one JSON value")
	}
	return nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func (e *Emulator) controlMemberships(cardID string) map[string]any {
	type row struct {
		CardID    string `json:"card_id"`
		OpenID    string `json:"openid"`
		Code      string `json:"code"`
		RequestNo string `json:"request_no"`
		State     string `json:"state"`
		Created   string `json:"created"`
	}
	cards := []string{cardID}
	if cardID == "" {
		cards = e.CardIDs()
	}
	out := []row{}
	for _, c := range cards {
		for _, m := range e.Memberships(c) {
			out = append(out, row{m.CardID, m.OpenID, m.Code, m.RequestNo, m.State, rfc3339(m.Created)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CardID < out[j].CardID })
	return map[string]any{"count": len(out), "memberships": out}
}

// controlMember plays the member's side (members.go).
func (e *Emulator) controlMember(route string, w http.ResponseWriter, r *http.Request) (any, error) {
	type userCard struct {
		CardID string `json:"card_id"`
		Code   string `json:"code"`
	}
	switch route {
	case "POST /membercard/claim":
		var in ClaimCardRequest
		if err := readControl(w, r, &in); err != nil {
			return nil, err
		}
		return e.ClaimCard(in)
	case "POST /membercard/activate", "POST /membercard/delete":
		var in userCard
		if err := readControl(w, r, &in); err != nil {
			return nil, err
		}
		if in.CardID == "" || in.Code == "" {
			return nil, badControl("card_id and code are required")
		}
		if route == "POST /membercard/activate" {
			return e.ActivateCard(in.CardID, in.Code)
		}
		return e.DeleteUserCard(in.CardID, in.Code)
	case "POST /brand/claim":
		var in ClaimBrandCardRequest
		if err := readControl(w, r, &in); err != nil {
			return nil, err
		}
		return e.ClaimBrandCard(in)
	case "POST /brand/delete":
		var in struct {
			BrandID      string `json:"brand_id"`
			CardID       string `json:"card_id"`
			UserCardCode string `json:"user_card_code"`
		}
		if err := readControl(w, r, &in); err != nil {
			return nil, err
		}
		if in.BrandID == "" || in.CardID == "" || in.UserCardCode == "" {
			return nil, badControl("brand_id, card_id and user_card_code are required")
		}
		return e.DeleteBrandUserCard(in.BrandID, in.CardID, in.UserCardCode)
	}
	var in ExchangePointsRequest // POST /brand/exchange-points
	if err := readControl(w, r, &in); err != nil {
		return nil, err
	}
	return e.ExchangePoints(in)
}
