package shop_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestShop_Products(t *testing.T) {
	r := newShopRig(t)
	w := r.do("GET", "/", nil, nil, "")
	for _, want := range []string{"Green tea", "5,000원", "12,000원", `action="/orders"`, `value="mug-01"`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("the product page lacks %q", want)
		}
	}
	if css := r.do("GET", "/static/shop.css", nil, nil, ""); css.Code != http.StatusOK {
		t.Errorf("GET /static/shop.css: %d", css.Code)
	}
}

func TestShop_Order_RegistersAndRedirects(t *testing.T) {
	r := newShopRig(t)
	w := r.do("POST", "/orders", url.Values{"product": {"tea-01"}}, nil, "")
	sent := r.tuna.sent("payment/cp_auth")
	if w.Code != http.StatusSeeOther || len(sent) != 1 {
		t.Fatalf("POST /orders: %d, %d cp_auth", w.Code, len(sent))
	}
	f := sent[0]
	if f.Get("P_ID") != "tea-01" || f.Get("P_PRICE") != "5000" || f.Get("RETURN_URL") != shopURL+"/return" ||
		!strings.HasPrefix(f.Get("ORDER_ID"), "order-") || f.Get("CP_ID") != cpID || f.Get("CP_PWD") != cpPwd {
		t.Errorf("cp_auth sent %v", f)
	}
	if loc := w.Header().Get("Location"); !strings.HasPrefix(loc, r.tuna.URL+"/pay/01TESTTID") {
		t.Errorf("redirected to %q, want PAY_URL", loc)
	}
	if status, _ := r.order(f.Get("ORDER_ID")); status != "awaiting" {
		t.Errorf("a new order is %s", status)
	}
}

func TestShop_Order_Refused(t *testing.T) {
	r := newShopRig(t)
	if w := r.do("POST", "/orders", url.Values{"product": {"nope"}}, nil, ""); w.Code != http.StatusBadRequest {
		t.Errorf("an unknown product: %d", w.Code)
	}
	r.tuna.answer("payment/cp_auth", `{"result":"FAIL","code":"ORDER_ID_DUPLICATE","data":{}}`)
	w := r.do("POST", "/orders", url.Values{"product": {"tea-01"}}, nil, "")
	if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "ORDER_ID_DUPLICATE") {
		t.Errorf("a refused cp_auth: %d %s", w.Code, w.Body)
	}
	if len(r.tuna.sent("payment/cp_auth")) != 1 {
		t.Errorf("cp_auth was sent for an unknown product")
	}
}

// The return URL is typed by anyone: only RESULT=SUCCESS bills, only the
// order's own price is billed, and a FAIL is taken from TUNA, not the query.
func TestShop_Return(t *testing.T) {
	tests := []struct {
		name, query        string // after TID=…
		bill               string // bill's answer; "" leaves the default (PAID)
		lookup, lookupCode string
		bills              int
		status, code       string
	}{
		{"success bills the order's price", "&RESULT=SUCCESS&AMOUNT=1&P_PRICE=1&amount=1", "", "READY", "", 1, "paid", ""},
		{"fail does not bill", "&RESULT=FAIL&CODE=OTP_LOCKED", "", "FAILED", "OTP_LOCKED", 0, "failed", "OTP_LOCKED"},
		{"a forged fail changes nothing", "&RESULT=FAIL&CODE=BILL_DECLINED", "", "USER_AUTHED", "", 0, "awaiting", ""},
		{"no result does not bill", "&AMOUNT=5000", "", "READY", "", 0, "awaiting", ""},
		{"lower-case success does not bill", "&RESULT=success", "", "READY", "", 0, "awaiting", ""},
		{"declined", "&RESULT=SUCCESS", `{"result":"FAIL","code":"BILL_DECLINED","tid":"%s","data":{"STATUS":"FAILED"}}`,
			"FAILED", "BILL_DECLINED", 1, "failed", "BILL_DECLINED"},
		{"unknown is pending", "&RESULT=SUCCESS", `{"result":"FAIL","code":"BILL_UNKNOWN","tid":"%s","data":{"STATUS":"UNKNOWN"}}`,
			"UNKNOWN", "", 1, "pending", ""},
		{"no answer is pending", "&RESULT=SUCCESS", `not json %s`, "UNKNOWN", "", 1, "pending", ""},
		{"not verified still waits", "&RESULT=SUCCESS", `{"result":"FAIL","code":"NOT_VERIFIED","tid":"%s","data":{}}`,
			"USER_AUTHED", "", 1, "awaiting", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newShopRig(t)
			if tt.bill != "" {
				r.tuna.answer("payment/bill", tt.bill)
			}
			r.tuna.lookupSays(tt.lookup, tt.lookupCode)
			id, tid := r.buy("tea-01")
			w := r.do("GET", "/return?TID="+tid+tt.query, nil, nil, "")
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/orders/"+id {
				t.Fatalf("GET /return: %d %q", w.Code, w.Header().Get("Location"))
			}
			bills := r.tuna.sent("payment/bill")
			if len(bills) != tt.bills {
				t.Fatalf("%d bills, want %d", len(bills), tt.bills)
			}
			for _, b := range bills {
				if b.Get("AMOUNT") != "5000" || b.Get("TID") != tid || b.Get("CP_ID") != cpID || b.Get("CP_PWD") != cpPwd {
					t.Errorf("bill sent %v", b)
				}
			}
			if status, code := r.order(id); status != tt.status || code != tt.code {
				t.Errorf("order %s %q, want %s %q", status, code, tt.status, tt.code)
			}
		})
	}
}

func TestShop_Return_OnlyOnce(t *testing.T) {
	r := newShopRig(t)
	_, tid := r.buy("mug-01")
	for range 3 {
		r.do("GET", "/return?TID="+tid+"&RESULT=SUCCESS", nil, nil, "")
	}
	if bills := r.tuna.sent("payment/bill"); len(bills) != 1 || bills[0].Get("AMOUNT") != "12000" {
		t.Errorf("bills %v, want one of 12000", bills)
	}
	w := r.do("GET", "/return?TID=01TESTTID99999999999999999&RESULT=SUCCESS", nil, nil, "")
	if w.Code != http.StatusNotFound || len(r.tuna.sent("payment/bill")) != 1 {
		t.Errorf("an unknown TID: %d, %d bills", w.Code, len(r.tuna.sent("payment/bill")))
	}
}

// A BILL_UNKNOWN is settled through the lookup API: the order page asks.
func TestShop_Pending_SettledByLookup(t *testing.T) {
	r := newShopRig(t)
	r.tuna.answer("payment/bill", `{"result":"FAIL","code":"BILL_UNKNOWN","tid":"%s","data":{"STATUS":"UNKNOWN"}}`)
	r.tuna.lookupSays("UNKNOWN", "")
	id, tid := r.buy("tea-01")
	r.do("GET", "/return?TID="+tid+"&RESULT=SUCCESS", nil, nil, "")
	if status, _ := r.order(id); status != "pending" {
		t.Fatalf("after BILL_UNKNOWN: %s", status)
	}
	r.tuna.lookupSays("FAILED", "BILL_NET_CANCELLED")
	if status, code := r.order(id); status != "failed" || code != "BILL_NET_CANCELLED" {
		t.Errorf("after resolution: %s %s", status, code)
	}
	if n := len(r.tuna.sent("payment/bill")); n != 1 {
		t.Errorf("%d bills", n)
	}
}

// A bill that never reached TUNA (still VERIFIED) is sent again.
func TestShop_Pending_BillsAgain(t *testing.T) {
	r := newShopRig(t)
	r.tuna.answer("payment/bill", `{"result":"FAIL","code":"TID_BUSY","tid":"%s","data":{}}`)
	id, tid := r.buy("tea-01")
	r.do("GET", "/return?TID="+tid+"&RESULT=SUCCESS", nil, nil, "")
	r.tuna.answer("payment/bill", paid)
	r.tuna.lookupSays("VERIFIED", "")
	if status, _ := r.order(id); status != "paid" {
		t.Errorf("after the second bill: %s", status)
	}
	if bills := r.tuna.sent("payment/bill"); len(bills) != 2 || bills[1].Get("AMOUNT") != "5000" {
		t.Errorf("bills %v", bills)
	}
}

func TestShop_Cancel(t *testing.T) {
	r := newShopRig(t)
	id, tid := r.buy("tea-01")
	if w := r.do("POST", "/orders/"+id+"/cancel", url.Values{}, nil, ""); w.Code != http.StatusSeeOther || len(r.tuna.sent("cancel/cancel")) != 0 {
		t.Fatalf("an unpaid order was cancelled at TUNA")
	}
	r.do("GET", "/return?TID="+tid+"&RESULT=SUCCESS", nil, nil, "")
	page := r.do("GET", "/orders/"+id, nil, nil, "").Body.String()
	if !strings.Contains(page, `action="/orders/`+id+`/cancel"`) || !strings.Contains(page, "결제 완료") {
		t.Fatalf("a paid order's page: %s", page)
	}

	r.tuna.answer("cancel/cancel", `{"result":"FAIL","code":"CANCEL_REFUSED","tid":"","data":{}}`)
	r.do("POST", "/orders/"+id+"/cancel", url.Values{}, nil, "")
	if status, _ := r.order(id); status != "paid" || !strings.Contains(r.do("GET", "/orders/"+id, nil, nil, "").Body.String(), "CANCEL_REFUSED") {
		t.Errorf("a refused cancel: %s", status)
	}

	r.tuna.answer("cancel/cancel", `{"result":"SUCCESS","code":"OK","tid":"%s","data":{"TYPE":"CANCEL","STATUS":"CANCELLED"}}`)
	r.do("POST", "/orders/"+id+"/cancel", url.Values{}, nil, "")
	if status, _ := r.order(id); status != "cancelled" {
		t.Errorf("after the cancel: %s", status)
	}
	for _, c := range r.tuna.sent("cancel/cancel") {
		if c.Get("O_TID") != tid || c.Get("IDEMPOTENCY_KEY") != "cancel-"+id || c.Has("AMOUNT") || c.Get("CP_PWD") != cpPwd {
			t.Errorf("cancel sent %v", c)
		}
	}
}

func TestShop_NotFound(t *testing.T) {
	r := newShopRig(t)
	for _, path := range []string{"/orders/order-1", "/nope"} {
		if w := r.do("GET", path, nil, nil, ""); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, w.Code)
		}
	}
}
