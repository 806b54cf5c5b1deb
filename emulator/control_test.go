package emulator_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wxpaykit/wxpay/apiv3/bill"
	"github.com/wxpaykit/wxpay/apiv3/pay"
	"github.com/wxpaykit/wxpay/emulator"
	"github.com/wxpaykit/wxpay/wxpaytest"
)

// The control API as a test in another language drives it: plain HTTP with
// JSON bodies, no Go methods, no signatures.

// control sends a control request and decodes its JSON answer.
func control(t *testing.T, hc *http.Client, method, url, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("%s %s: Content-Type %q", method, url, ct)
	}
	if resp.Header.Get("Wechatpay-Signature") != "" {
		t.Errorf("%s %s: a control answer is signed", method, url)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %q is not a JSON object: %v", method, url, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, out
}

func TestControlAPIFlow(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ctx := context.Background()
	hc := &http.Client{Transport: srv.HTTPClient().Transport}
	ctl := srv.URL + "/_emulator"
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(ctx, jsapiOrder("ctl-order", 1000)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.V3.Pay.Partner.Transactions.JSAPI.Post(ctx, partnerJSAPIOrder("ctl-partner", 500, pay.PartnerPayer{SPOpenID: emulator.DemoOpenID})); err != nil {
		t.Fatal(err)
	}

	// The payer pays: the answer is the order as a query shows it.
	status, out := control(t, hc, "POST", ctl+"/pay", `{"out_trade_no":"ctl-order","mchid":"1900000001"}`)
	if status != 200 || out["trade_state"] != "SUCCESS" || out["mchid"] != emulator.DemoMchID || out["transaction_id"] == nil {
		t.Fatalf("pay: %d %v", status, out)
	}
	if tx := query(t, c, "ctl-order"); tx.TransactionID != out["transaction_id"] {
		t.Errorf("query %+v", tx)
	}
	status, out = control(t, hc, "POST", ctl+"/pay", `{"out_trade_no":"ctl-partner","sub_mchid":"1900000109","result":"USERPAYING"}`)
	if status != 200 || out["trade_state"] != "USERPAYING" || out["sub_mchid"] != emulator.DemoSubMchID {
		t.Errorf("partner pay: %d %v", status, out)
	}

	// A payment code that waits for the payer, then the payer's confirmation.
	status, out = control(t, hc, "POST", ctl+"/payer-codes", `{"auth_code":"134567890123456789","result":"USERPAYING"}`)
	if status != 200 || out["auth_code"] != "134567890123456789" {
		t.Errorf("payer-codes: %d %v", status, out)
	}
	tx, resp, err := c.V3.Pay.Transactions.CodePay.Post(ctx, codePayOrder("ctl-code", "134567890123456789", 300))
	if err != nil || resp.StatusCode != 202 || tx.TradeState != pay.TradeStateUserPaying {
		t.Fatalf("code pay: %+v %v", tx, err)
	}
	if status, out = control(t, hc, "POST", ctl+"/pay", `{"out_trade_no":"ctl-code","mchid":"1900000001","result":"SUCCESS"}`); status != 200 || out["trade_type"] != "MICROPAY" {
		t.Errorf("confirm: %d %v", status, out)
	}

	// A refund settled by the bank.
	r, _, err := c.V3.Refund.Domestic.Refunds.Post(ctx, refundReq("ctl-order", "ctl-r1", 400, 1000))
	if err != nil {
		t.Fatal(err)
	}
	status, out = control(t, hc, "POST", ctl+"/refunds/settle", `{"out_refund_no":"ctl-r1","mchid":"1900000001"}`)
	if status != 200 || out["status"] != "SUCCESS" || out["refund_id"] != r.RefundID || out["success_time"] == nil {
		t.Errorf("settle: %d %v", status, out)
	}

	// The orders, all or one merchant's: this test's 3 (1 of the sub-merchant)
	// and SeedDemo's 6 (3 of the sub-merchant).
	for _, tt := range []struct {
		query string
		n     float64
	}{{"", 3 + 6}, {"?mchid=1900000001", 3 + 6}, {"?mchid=1900000109", 1 + 3}, {"?mchid=1900000002", 0}} {
		status, out = control(t, hc, "GET", ctl+"/orders"+tt.query, "")
		if status != 200 || out["count"] != tt.n {
			t.Errorf("orders%s: %d %v", tt.query, status, out)
		}
	}

	// The day ends (today by default): its bill can be applied for at once.
	if _, _, err := c.V3.Bill.TradeBill.Get(ctx, &bill.GetTradeBillRequest{BillDate: billDay}); err == nil {
		t.Fatal("a bill before the day ended")
	}
	status, out = control(t, hc, "POST", ctl+"/day-end", `{}`)
	if status != 200 || out["date"] != billDay {
		t.Fatalf("day-end: %d %v", status, out)
	}
	if _, _, err := c.V3.Bill.TradeBill.Get(ctx, &bill.GetTradeBillRequest{BillDate: billDay}); err != nil {
		t.Errorf("bill after day-end: %v", err)
	}
	if status, out = control(t, hc, "POST", ctl+"/day-end", `{"date":"2025-12-30"}`); status != 200 || out["date"] != "2025-12-30" {
		t.Errorf("day-end of a date: %d %v", status, out)
	}
	// The notifications so far, in snake_case for any language; the
	// notify_url refuses connections, so none is delivered.
	status, out = control(t, hc, "GET", ctl+"/deliveries", "")
	ds, _ := out["deliveries"].([]any)
	if status != 200 || out["count"] != 2.0 || len(ds) != 2 {
		t.Fatalf("deliveries: %d %v", status, out)
	}
	for i, want := range []string{"TRANSACTION.SUCCESS", "REFUND.SUCCESS"} {
		d, _ := ds[i].(map[string]any)
		if d["event_type"] != want || d["url"] != notifyURL || d["delivered"] != false || d["id"] == "" || d["attempts"] == nil || d["gave_up"] == nil || d["last_status"] == nil {
			t.Errorf("delivery %d: %v", i, d)
		}
	}
}

// Every error answer of the control API: {"code", "message"} with a 4xx status.
func TestControlAPIErrors(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	hc := &http.Client{Transport: srv.HTTPClient().Transport}
	ctl := srv.URL + "/_emulator"
	if _, _, err := c.V3.Pay.Transactions.JSAPI.Post(context.Background(), jsapiOrder("ctl-closed", 100)); err != nil {
		t.Fatal(err)
	}
	if err := closeOrder(c, "ctl-closed"); err != nil {
		t.Fatal(err)
	}
	big := `{"out_trade_no":"` + strings.Repeat("x", 70<<10) + `"}`
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"unknown endpoint", "POST", "/refunds", `{}`, 404, "RESOURCE_NOT_EXISTS"},
		{"known path, other method", "GET", "/pay", "", 404, "RESOURCE_NOT_EXISTS"},
		{"nothing under the prefix", "GET", "/", "", 404, "RESOURCE_NOT_EXISTS"},
		{"bad JSON", "POST", "/pay", `{"out_trade_no":`, 400, "PARAM_ERROR"},
		{"not an object", "POST", "/pay", `["ctl-closed"]`, 400, "PARAM_ERROR"},
		{"unknown member", "POST", "/pay", `{"out_trade_no":"ctl-closed","mchid":"1900000001","amount":1}`, 400, "PARAM_ERROR"},
		{"two values", "POST", "/pay", `{"out_trade_no":"ctl-closed"} {}`, 400, "PARAM_ERROR"},
		{"empty body", "POST", "/pay", ``, 400, "PARAM_ERROR"},
		{"body too large", "POST", "/pay", big, 400, "PARAM_ERROR"},
		{"unpayable order: closed", "POST", "/pay", `{"out_trade_no":"ctl-closed","mchid":"1900000001"}`, 409, "INVALID_STATE"},
		{"unpayable order: unknown", "POST", "/pay", `{"out_trade_no":"ctl-none","mchid":"1900000001"}`, 409, "INVALID_STATE"},
		{"unknown result", "POST", "/pay", `{"out_trade_no":"ctl-closed","mchid":"1900000001","result":"REFUND"}`, 409, "INVALID_STATE"},
		{"not a payment code", "POST", "/payer-codes", `{"auth_code":"12345","result":"SUCCESS"}`, 400, "PARAM_ERROR"},
		{"unknown code outcome", "POST", "/payer-codes", `{"auth_code":"134567890123456789","result":"MAYBE"}`, 400, "PARAM_ERROR"},
		{"unknown refund", "POST", "/refunds/settle", `{"out_refund_no":"none","mchid":"1900000001"}`, 409, "INVALID_STATE"},
		{"bad date", "POST", "/day-end", `{"date":"01/01/2026"}`, 400, "PARAM_ERROR"},
	}
	for _, tt := range tests {
		status, out := control(t, hc, tt.method, ctl+tt.path, tt.body)
		if status != tt.status || out["code"] != tt.code || out["message"] == "" || out["message"] == nil {
			t.Errorf("%s: %d %v, want %d %s", tt.name, status, out, tt.status, tt.code)
		}
	}
	if tx := query(t, c, "ctl-closed"); tx.TradeState != pay.TradeStateClosed {
		t.Errorf("refused control requests changed the order: %+v", tx)
	}
}

// FuzzControl: any body sent to a control endpoint gets a JSON object with a
// 200, or a {"code","message"} error with 400, 404 or 409; never a panic.
func FuzzControl(f *testing.F) {
	routes := []string{"POST /_emulator/pay", "POST /_emulator/payer-codes", "POST /_emulator/refunds/settle", "POST /_emulator/day-end",
		"GET /_emulator/orders", "GET /_emulator/deliveries", "GET /_emulator/memberships", "PUT /_emulator/pay"}
	f.Add(uint8(0), []byte(`{"out_trade_no":"fz-order","mchid":"1900000001","result":"SUCCESS"}`))
	f.Add(uint8(1), []byte(`{"auth_code":"134567890123456789","result":"USERPAYING"}`))
	f.Add(uint8(2), []byte(`{"out_refund_no":"fz-r1","sub_mchid":"1900000109","result":"CLOSED"}`))
	f.Add(uint8(3), []byte(`{"date":"2026-01-01"}`))
	f.Add(uint8(3), []byte(`{"date":null}`))
	f.Add(uint8(0), []byte(`{"out_trade_no":1e999}`))
	f.Add(uint8(4), []byte{})
	srv := wxpaytest.NewUnstartedServer()
	f.Cleanup(srv.Emulator.Close)
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		method, path, _ := strings.Cut(routes[int(route)%len(routes)], " ")
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		w := httptest.NewRecorder()
		srv.Emulator.ServeHTTP(w, req)
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s: %d %q", path, w.Code, w.Body.String())
		}
		switch w.Code {
		case 200:
		case 400, 404, 409:
			if c, _ := out["code"].(string); c == "" {
				t.Fatalf("%s: %d without code: %v", path, w.Code, out)
			}
		default:
			t.Fatalf("%s: status %d", path, w.Code)
		}
	})
}
