package emulator

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"time"
)

// Payments: the emulator keeps every order a merchant places and plays the
// payer (the control API's pay, or a payment code registered as paying or
// failing), so that a payment backend can be tested end to end: order →
// pay → notification → query → refund → bill.
//
// An order is known by its merchant and out_trade_no: (mchid) for a direct
// merchant, (sp_mchid, sub_mchid) for a service provider's sub-merchant.

// Trade states (trade_state).
const (
	TradeNotPay     = "NOTPAY"
	TradeSuccess    = "SUCCESS"
	TradeRefund     = "REFUND"
	TradeClosed     = "CLOSED"
	TradeRevoked    = "REVOKED"
	TradeUserPaying = "USERPAYING"
	TradePayError   = "PAYERROR"
)

var tradeStateDesc = map[string]string{
	TradeNotPay:     "未支付",
	TradeSuccess:    "支付成功",
	TradeRefund:     "转入退款",
	TradeClosed:     "已关闭",
	TradeRevoked:    "已撤销（付款码支付）",
	TradeUserPaying: "用户支付中（付款码支付）",
	TradePayError:   "支付失败",
}

// prepayLifetime: a prepay_id is valid for 2 hours; ordering again with the
// same parameters after that returns a new one.
const prepayLifetime = 2 * time.Hour

// Order is a payment order the emulator keeps.
type Order struct {
	MchID         string // the direct merchant, or the service provider (sp_mchid)
	SubMchID      string // the sub-merchant; "" for a direct merchant's order
	AppID         string // appid, or sp_appid
	SubAppID      string
	OpenID        string // payer openid, or sp_openid
	SubOpenID     string
	OutTradeNo    string
	TransactionID string // set once paid
	TradeType     string // JSAPI, APP, MWEB, NATIVE, MICROPAY
	State         string
	Description   string
	Attach        string
	NotifyURL     string
	Total         int64 // fen
	Currency      string
	PrepayID      string
	PrepayTime    time.Time
	Created       time.Time
	Expire        time.Time // zero: no time_expire
	SuccessTime   time.Time
	Refunded      int64 // refunds in progress or done, fen
	DeviceID      string

	fp [32]byte // the ordering request, for "the same order again"
}

// partner reports whether a service provider placed the order.
func (o *Order) partner() bool { return o.SubMchID != "" }

type orderKey struct{ mchID, subMchID, outTradeNo string }

func (o *Order) key() orderKey { return orderKey{o.MchID, o.SubMchID, o.OutTradeNo} }

// payments is the payment state, guarded by state.mu.
type payments struct {
	orders     map[orderKey]*Order
	byTxn      map[string]*Order
	appIDs     map[string]map[string]bool // mchid → AppIDs bound to it
	payerCodes map[string]string          // auth_code → outcome of a scan
	refunds    map[refundKey]*Refund
	refundByID map[string]*Refund
	closedDays map[string]bool // bill dates ended with the control API
	downloads  map[string]*download
	ledger     []ledgerEntry // payments and refunds, for the bills
}

func (p *payments) init() {
	p.orders = map[orderKey]*Order{}
	p.byTxn = map[string]*Order{}
	p.appIDs = map[string]map[string]bool{}
	p.payerCodes = map[string]string{}
	p.refunds = map[refundKey]*Refund{}
	p.refundByID = map[string]*Refund{}
	p.closedDays = map[string]bool{}
	p.downloads = map[string]*download{}
}

// DemoSubOpenID is a user of the sub-merchant's AppID (DemoSubAppID), a payer
// for sub_openid; DemoOpenID is one of DemoAppID, bound to the merchant.
const DemoSubOpenID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"

// seedCommerce binds the demo AppIDs to their merchants, adds the
// sub-merchant's user and stores the demo images, so that orders can be
// placed and card templates made at once.
func (e *Emulator) seedCommerce(mchID string) {
	e.BindAppID(mchID, DemoAppID)
	e.BindAppID(DemoSubMchID, DemoSubAppID)
	e.AddUser(User{OpenID: DemoSubOpenID, AppID: DemoSubAppID})
	e.state.mu.Lock()
	e.state.seedImages(mchID)
	e.state.mu.Unlock()
}

// BindAppID binds AppIDs (official accounts, mini programs, apps) to a merchant
// or sub-merchant, as the merchant platform does: orders must name an AppID
// bound to their merchant.
func (e *Emulator) BindAppID(mchID string, appIDs ...string) {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	m := e.state.pay.appIDs[mchID]
	if m == nil {
		m = map[string]bool{}
		e.state.pay.appIDs[mchID] = m
	}
	for _, a := range appIDs {
		m[a] = true
	}
}

// Orders returns the orders of a merchant (all merchants for ""), oldest first.
func (e *Emulator) Orders(mchID string) []Order {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	var out []Order
	for _, o := range e.state.pay.orders {
		if mchID == "" || o.MchID == mchID || o.SubMchID == mchID {
			out = append(out, *o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Created.Before(out[j].Created) || out[i].Created.Equal(out[j].Created) && out[i].OutTradeNo < out[j].OutTradeNo
	})
	return out
}

// Order returns one order by its merchant (a sub-merchant for a partner order)
// and out_trade_no.
func (e *Emulator) Order(mchID, outTradeNo string) (Order, bool) {
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	o := e.state.findOrder(mchID, outTradeNo)
	if o == nil {
		return Order{}, false
	}
	return *o, true
}

// findOrder finds an order by the merchant that placed it — the direct
// merchant, or the sub-merchant of a partner order — and its out_trade_no. The
// caller holds the lock.
func (s *state) findOrder(mchID, outTradeNo string) *Order {
	if o := s.pay.orders[orderKey{mchID, "", outTradeNo}]; o != nil {
		return o
	}
	for k, o := range s.pay.orders {
		if k.subMchID == mchID && k.outTradeNo == outTradeNo {
			return o
		}
	}
	return nil
}

// payWho is who an ordering or query request speaks for.
type payWho struct {
	partner           bool
	mchID, subMchID   string // mchid or sp_mchid; sub_mchid
	appID, subAppID   string
	openID, subOpenID string
}

// who reads the merchant, AppID and payer of a payments request and checks
// them against the caller: the body's (or query's) mchid / sp_mchid must be
// the caller's, a sub-merchant must be the caller's, AppIDs must be bound to
// their merchant and a payer's OpenID must belong to the AppID it is given for.
func (e *Emulator) who(r *request, needPayer bool) (payWho, *answer) {
	get := func(k string) string {
		if v := str(r.body, k); v != "" {
			return v
		}
		return r.query.Get(k)
	}
	w := payWho{partner: isPartnerOp(r.op.ID)}
	fail := func(a answer) (payWho, *answer) { return w, &a }
	payer, _ := r.body["payer"].(map[string]any)
	if w.partner {
		w.mchID, w.subMchID = get("sp_mchid"), get("sub_mchid")
		w.appID, w.subAppID = get("sp_appid"), get("sub_appid")
		w.openID, w.subOpenID = str(payer, "sp_openid"), str(payer, "sub_openid")
	} else {
		w.mchID, w.appID, w.openID = get("mchid"), get("appid"), str(payer, "openid")
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	field := "mchid"
	if w.partner {
		field = "sp_mchid"
	}
	if w.mchID != r.mchID {
		return fail(fieldError("商户号与请求签名的商户号不一致", locationOf(r, field), field, clip(w.mchID, 32), "must be the mchid that signs the request"))
	}
	if w.partner {
		sub := s.subMerchants[w.subMchID]
		if sub == nil || sub.MchID != w.mchID {
			return fail(invalidRequest("子商户号sub_mchid与服务商商户号不存在受理关系"))
		}
	}
	bound := func(mchID, appID string) bool { return appID == "" || s.pay.appIDs[mchID][appID] }
	if !bound(w.mchID, w.appID) || w.partner && !bound(w.subMchID, w.subAppID) {
		return fail(apiError(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配", nil))
	}
	if !needPayer {
		return w, nil
	}
	switch {
	case !w.partner && w.openID == "":
		return fail(paramError("body", "/payer/openid", "", "is required for a JSAPI order"))
	case w.partner && (w.openID == "") == (w.subOpenID == ""):
		return fail(paramError("body", "/payer", "", "give exactly one of sp_openid and sub_openid"))
	case w.partner && w.subOpenID != "" && w.subAppID == "":
		return fail(paramError("body", "/sub_appid", "", "is required with payer.sub_openid"))
	}
	openID, appID, ptr := w.openID, w.appID, "/payer/openid"
	if w.partner {
		ptr = "/payer/sp_openid"
		if w.subOpenID != "" {
			openID, appID, ptr = w.subOpenID, w.subAppID, "/payer/sub_openid"
		}
	}
	if u := s.users[openID]; u == nil || u.AppID != "" && u.AppID != appID {
		if w.partner {
			return fail(apiError(http.StatusInternalServerError, "OPENID_MISMATCH", "OpenID和AppID不匹配", nil))
		}
		return fail(fieldError("OpenID和AppID不匹配", "body", ptr, clip(openID, 64), "no such user under the order's AppID"))
	}
	return w, nil
}

func locationOf(r *request, field string) string {
	if _, inBody := r.body[field]; inBody {
		return "body"
	}
	return "query"
}

// isPartnerOp reports whether an operation is a service provider's
// (/v3/pay/partner/…).
func isPartnerOp(id string) bool { return len(id) > 7 && id[:7] == "Partner" }

// tradeTypes maps the ordering operations to their trade_type.
var tradeTypes = map[string]string{
	"PrepayJSAPI": "JSAPI", "PrepayApp": "APP", "PrepayH5": "MWEB", "PrepayNative": "NATIVE",
	"PartnerPrepayJSAPI": "JSAPI", "PartnerPrepayApp": "APP", "PartnerPrepayH5": "MWEB", "PartnerPrepayNative": "NATIVE",
	"CodePay": "MICROPAY", "PartnerCodePay": "MICROPAY",
}

// orderTerms reads and checks what every ordering request carries: amount in
// fen of CNY, an optional time_expire in the future, a notify_url.
func (e *Emulator) orderTerms(r *request) (total int64, currency string, expire time.Time, bad *answer) {
	amount, _ := r.body["amount"].(map[string]any)
	total = integer(amount["total"])
	currency = strOr(amount, "currency", "CNY")
	fail := func(a answer) (int64, string, time.Time, *answer) { return 0, "", time.Time{}, &a }
	switch {
	case total <= 0:
		return fail(paramError("body", "/amount/total", fmt.Sprint(amount["total"]), "must be a positive amount in fen"))
	case currency != "CNY":
		return fail(paramError("body", "/amount/currency", clip(currency, 16), "only CNY is supported"))
	}
	if te := str(r.body, "time_expire"); te != "" {
		t, err := time.Parse(time.RFC3339, te)
		if err != nil {
			return fail(paramError("body", "/time_expire", clip(te, 40), "must be RFC 3339, e.g. 2026-01-01T10:30:00+08:00"))
		}
		if !t.After(e.now()) {
			return fail(paramError("body", "/time_expire", te, "must be later than now"))
		}
		expire = t
	}
	if nu, has := r.body["notify_url"]; has {
		if u, err := url.Parse(fmt.Sprint(nu)); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return fail(paramError("body", "/notify_url", clip(fmt.Sprint(nu), 64), "must be an absolute URL without a query (the emulator also accepts http, for loopback)"))
		}
	}
	return total, currency, expire, nil
}

// integer reads a JSON number of a decoded body.
func integer(v any) int64 {
	switch n := v.(type) {
	case interface{ Int64() (int64, error) }:
		i, _ := n.Int64()
		return i
	case float64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	}
	return 0
}

// prepay answers the four ordering operations (JSAPI, App, H5, Native), for
// direct merchants and service providers.
func (e *Emulator) prepay(r *request) answer {
	tradeType := tradeTypes[r.op.ID]
	w, bad := e.who(r, tradeType == "JSAPI")
	if bad != nil {
		return *bad
	}
	total, currency, expire, bad := e.orderTerms(r)
	if bad != nil {
		return *bad
	}
	outTradeNo := str(r.body, "out_trade_no")
	fp := r.fingerprint()
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	k := orderKey{w.mchID, w.subMchID, outTradeNo}
	o := s.pay.orders[k]
	now := e.now()
	switch {
	case o == nil:
		o = &Order{MchID: w.mchID, SubMchID: w.subMchID, AppID: w.appID, SubAppID: w.subAppID, OpenID: w.openID, SubOpenID: w.subOpenID,
			OutTradeNo: outTradeNo, TradeType: tradeType, State: TradeNotPay, Description: str(r.body, "description"),
			Attach: str(r.body, "attach"), NotifyURL: str(r.body, "notify_url"), Total: total, Currency: currency,
			Created: now, Expire: expire, fp: fp}
		s.pay.orders[k] = o
	case o.fp != fp || o.TradeType != tradeType:
		// Observed answer of the real service to an out_trade_no reused with
		// other parameters (another amount, another trade type). The trade
		// type is the operation's, not the body's: an App and a Native order
		// can have the same body.
		return invalidRequest("201 商户订单号重复")
	case o.State == TradeSuccess || o.State == TradeRefund:
		return apiError(http.StatusForbidden, "OUT_TRADE_NO_USED", "商户订单号重复", nil)
	case o.State == TradeClosed || o.State == TradeRevoked:
		return apiError(http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭", nil)
	}
	if o.PrepayID == "" || now.Sub(o.PrepayTime) >= prepayLifetime {
		o.PrepayID = "wx" + e.nowCST().Format("20060102150405") + e.randString(20, "0123456789abcdef")
		o.PrepayTime = now
	}
	switch tradeType {
	case "MWEB":
		return ok(map[string]any{"h5_url": "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=" + o.PrepayID + "&package=" + e.randString(10, "0123456789")})
	case "NATIVE":
		return ok(map[string]any{"code_url": "weixin://wxpay/bizpayurl?pr=" + o.PrepayID[len(o.PrepayID)-7:]})
	}
	return ok(map[string]any{"prepay_id": o.PrepayID})
}

// queryOrder answers the queries by transaction_id and by out_trade_no.
func (e *Emulator) queryOrder(r *request) answer {
	w, bad := e.who(r, false)
	if bad != nil {
		return *bad
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	o, missing := s.orderOf(w, r)
	if missing != nil {
		return *missing
	}
	return ok(e.transaction(o))
}

// orderOf finds the caller's order named by the path's transaction_id or
// out_trade_no, or answers 404 ORDER_NOT_EXIST. The caller holds s.mu.
func (s *state) orderOf(w payWho, r *request) (*Order, *answer) {
	var o *Order
	if id := r.params["transaction_id"]; id != "" {
		if x := s.pay.byTxn[id]; x != nil && x.MchID == w.mchID && x.SubMchID == w.subMchID {
			o = x
		}
	} else {
		o = s.pay.orders[orderKey{w.mchID, w.subMchID, r.params["out_trade_no"]}]
	}
	if o == nil {
		a := apiError(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在", nil)
		return nil, &a
	}
	return o, nil
}

// transaction renders an order as the queries and TRANSACTION.SUCCESS show it.
func (e *Emulator) transaction(o *Order) map[string]any {
	t := map[string]any{"out_trade_no": o.OutTradeNo, "trade_state": o.State, "trade_state_desc": tradeStateDesc[o.State]}
	if o.partner() {
		t["sp_mchid"], t["sub_mchid"], t["sp_appid"] = o.MchID, o.SubMchID, o.AppID
		if o.SubAppID != "" {
			t["sub_appid"] = o.SubAppID
		}
	} else {
		t["mchid"], t["appid"] = o.MchID, o.AppID
	}
	if o.Attach != "" {
		t["attach"] = o.Attach
	}
	amount := map[string]any{"total": o.Total, "currency": o.Currency}
	if o.TransactionID != "" {
		t["transaction_id"] = o.TransactionID
		t["trade_type"] = o.TradeType
		t["bank_type"] = "OTHERS"
		t["success_time"] = rfc3339(o.SuccessTime)
		amount["payer_total"], amount["payer_currency"] = o.Total, o.Currency
		payer := map[string]any{}
		switch {
		case !o.partner():
			payer["openid"] = o.OpenID
		case o.SubOpenID != "":
			payer["sub_openid"] = o.SubOpenID
		default:
			payer["sp_openid"] = o.OpenID
		}
		t["payer"] = payer
	}
	t["amount"] = amount
	if o.DeviceID != "" {
		t["scene_info"] = map[string]any{"device_id": o.DeviceID}
	}
	return t
}

// closeOrder closes an unpaid order; closing it again is harmless.
func (e *Emulator) closeOrder(r *request) answer {
	w, bad := e.who(r, false)
	if bad != nil {
		return *bad
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	o, missing := s.orderOf(w, r)
	if missing != nil {
		return *missing
	}
	switch {
	case o.State == TradeSuccess || o.State == TradeRefund:
		return apiError(http.StatusForbidden, "TRADE_ERROR", "订单已支付，不能关闭", nil)
	case o.State == TradeRevoked:
		return apiError(http.StatusForbidden, "TRADE_ERROR", "订单已撤销，不能关闭", nil)
	}
	o.State = TradeClosed
	return noContent()
}

// authCodePattern is a WeChat payment code: 18 digits starting 10 to 15.
var authCodePattern = regexp.MustCompile(`^1[0-5]\d{16}$`)

// Outcomes of a scanned payment code (RegisterPayerCode).
const (
	PayerCodeSuccess    = TradeSuccess    // paid at once
	PayerCodeUserPaying = TradeUserPaying // the payer must confirm (a password): the order waits
	PayerCodePayError   = TradePayError   // the payment fails
)

// RegisterPayerCode decides what scanning a payment code does; unregistered
// valid codes pay at once.
func (e *Emulator) RegisterPayerCode(authCode, outcome string) error {
	if !authCodePattern.MatchString(authCode) {
		return fmt.Errorf("emulator: %q is not a payment code (18 digits starting 10 to 15)", authCode)
	}
	switch outcome {
	case PayerCodeSuccess, PayerCodeUserPaying, PayerCodePayError:
	default:
		return fmt.Errorf("emulator: payment-code outcome %q is not SUCCESS, USERPAYING or PAYERROR", outcome)
	}
	e.state.mu.Lock()
	defer e.state.mu.Unlock()
	e.state.pay.payerCodes[authCode] = outcome
	return nil
}

// codePay charges a scanned payment code: paid at once (200), waiting for the
// payer (202 Accepted with trade_state USERPAYING: query until it settles, or
// reverse), or failed. The same order again answers its current state.
func (e *Emulator) codePay(r *request) answer {
	w, bad := e.who(r, false)
	if bad != nil {
		return *bad
	}
	total, currency, _, bad := e.orderTerms(r)
	if bad != nil {
		return *bad
	}
	payer, _ := r.body["payer"].(map[string]any)
	code := str(payer, "auth_code")
	if !authCodePattern.MatchString(code) {
		return paramError("body", "/payer/auth_code", clip(code, 32), "a payment code is 18 digits starting 10 to 15")
	}
	outTradeNo := str(r.body, "out_trade_no")
	fp := r.fingerprint()
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	k := orderKey{w.mchID, w.subMchID, outTradeNo}
	if o := s.pay.orders[k]; o != nil {
		if o.fp != fp || o.TradeType != "MICROPAY" {
			return invalidRequest("201 商户订单号重复")
		}
		return codePayAnswer(e, o)
	}
	sc, _ := r.body["scene_info"].(map[string]any)
	o := &Order{MchID: w.mchID, SubMchID: w.subMchID, AppID: w.appID, SubAppID: w.subAppID, OutTradeNo: outTradeNo,
		TradeType: "MICROPAY", State: TradeUserPaying, Description: str(r.body, "description"), Attach: str(r.body, "attach"),
		Total: total, Currency: currency, Created: e.now(), DeviceID: str(sc, "device_id"), fp: fp}
	// The payer behind a payment code: the emulator's first user of the AppID.
	o.OpenID = s.userOf(w.appID)
	if w.partner && w.subAppID != "" {
		o.OpenID, o.SubOpenID = "", s.userOf(w.subAppID)
	}
	s.pay.orders[k] = o
	switch s.pay.payerCodes[code] {
	case "", PayerCodeSuccess:
		e.settlePayment(o, TradeSuccess)
	case PayerCodePayError:
		o.State = TradePayError
	}
	return codePayAnswer(e, o)
}

func codePayAnswer(e *Emulator, o *Order) answer {
	an := ok(e.transaction(o))
	if o.State == TradeUserPaying {
		an.status = http.StatusAccepted
	}
	return an
}

// userOf returns a known user of an AppID, for a payer given only by a payment
// code. The caller holds the lock.
func (s *state) userOf(appID string) string {
	var ids []string
	for id, u := range s.users {
		if u.AppID == appID {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		return ""
	}
	return ids[0]
}

// reverseOrder cancels a payment-code order: unpaid, it is closed; paid, its
// money goes back to the payer. Either way the order ends REVOKED.
func (e *Emulator) reverseOrder(r *request) answer {
	w, bad := e.who(r, false)
	if bad != nil {
		return *bad
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	o, missing := s.orderOf(w, r)
	if missing != nil {
		return *missing
	}
	switch {
	case o.TradeType != "MICROPAY":
		return apiError(http.StatusForbidden, "TRADE_ERROR", "非付款码支付的订单不能撤销，请使用关闭订单或申请退款", nil)
	case o.State == TradeRefund:
		return apiError(http.StatusForbidden, "TRADE_ERROR", "订单已发生退款，不能撤销", nil)
	case o.State == TradeClosed:
		return apiError(http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭", nil)
	}
	o.State = TradeRevoked
	out := map[string]any{"out_trade_no": o.OutTradeNo}
	if o.partner() {
		out["sp_mchid"], out["sub_mchid"], out["sp_appid"] = o.MchID, o.SubMchID, o.AppID
		if o.SubAppID != "" {
			out["sub_appid"] = o.SubAppID
		}
	} else {
		out["mchid"], out["appid"] = o.MchID, o.AppID
	}
	return ok(out)
}

// ErrOrder is wrapped by Pay's errors: an unknown order or one that cannot be
// paid (closed, paid, expired).
var ErrOrder = errors.New("emulator: the order cannot be paid")

// Pay plays the payer of an order (its merchant is the direct merchant or the
// sub-merchant): SUCCESS pays it and delivers TRANSACTION.SUCCESS to its
// notify_url, PAYERROR fails it, USERPAYING leaves it waiting for the payer.
func (e *Emulator) Pay(mchID, outTradeNo, result string) (Order, error) {
	if result == "" {
		result = TradeSuccess
	}
	switch result {
	case TradeSuccess, TradePayError, TradeUserPaying:
	default:
		return Order{}, fmt.Errorf("%w: result %q is not SUCCESS, PAYERROR or USERPAYING", ErrOrder, result)
	}
	s := &e.state
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.findOrder(mchID, outTradeNo)
	switch {
	case o == nil:
		return Order{}, fmt.Errorf("%w: merchant %s has no order %q", ErrOrder, mchID, outTradeNo)
	case o.State != TradeNotPay && o.State != TradeUserPaying:
		return *o, fmt.Errorf("%w: order %s is %s", ErrOrder, outTradeNo, o.State)
	case !o.Expire.IsZero() && !e.now().Before(o.Expire):
		return *o, fmt.Errorf("%w: order %s expired at %s (time_expire)", ErrOrder, outTradeNo, rfc3339(o.Expire))
	}
	switch result {
	case TradeSuccess:
		e.settlePayment(o, TradeSuccess)
	default:
		o.State = result
	}
	return *o, nil
}

// settlePayment records a successful payment and sends its notification. The
// caller holds the lock.
func (e *Emulator) settlePayment(o *Order, state string) {
	o.State = state
	if o.OpenID == "" && o.SubOpenID == "" {
		// Native, App and H5 orders name no payer: whoever paid is a user of
		// the order's AppID, as for a payment code.
		if o.partner() && o.SubAppID != "" {
			o.SubOpenID = e.state.userOf(o.SubAppID)
		} else {
			o.OpenID = e.state.userOf(o.AppID)
		}
	}
	o.SuccessTime = e.now()
	for o.TransactionID == "" || e.state.pay.byTxn[o.TransactionID] != nil {
		// 28 digits, as the service's: 4200, a channel, the date, a sequence.
		o.TransactionID = "4200" + e.randString(4, "0123456789") + e.nowCST().Format("20060102") + e.randString(12, "0123456789")
	}
	e.state.pay.byTxn[o.TransactionID] = o
	e.state.recordPayment(o)
	e.deliver(o.NotifyURL, "TRANSACTION.SUCCESS", e.transaction(o))
}
