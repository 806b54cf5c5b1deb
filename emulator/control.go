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
	default:
		err = &controlError{http.StatusNotFound, "RESOURCE_NOT_EXISTS", "no control endpoint " + strconv.Quote(route)}
	}
	var ce *controlError
	switch {
	case err == nil:
		return write(http.StatusOK, out)
	case errors.As(err, &ce):
		return write(ce.status, map[string]string{"code": ce.code, "message": ce.message})
	case errors.Is(err, ErrOrder), errors.Is(err, ErrRefund):
		return write(http.StatusConflict, map[string]string{"code": "INVALID_STATE", "message": err.Error()})
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
