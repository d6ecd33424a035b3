package shop_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tunapay/tuna/examples/demoshop/shop"
)

// sign is the documented algorithm (docs/api.md, "Checking the signature"),
// written out again here so that the shop is checked against it.
func sign(secret, id string, ts int64, body string) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		panic(err)
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.%s", id, ts, body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func hookHeader(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

// The worked example of docs/api.md, as printed there.
func TestVerifyWebhook_DocumentedExample(t *testing.T) {
	const (
		docSecret = "whsec_hMMNNN/Ol5Vz96mPQfbQmXLRouT0qhisyP7liJTgBOc="
		body      = `{"type":"payment.paid","timestamp":"2026-03-10T12:00:05+09:00","data":{"tid":"01KBZ8E2M1XQ7T3V9WJ4NQ5R6S","order_id":"order-1001","status":"PAID","amount":5000,"cancelled_amount":0,"refunded_amount":0,"remaining_amount":5000,"product":{"id":"tea-01","name":"Green tea"},"carrier":"SKT","phone":"010****5678","created_at":"2026-03-10T11:58:40+09:00","updated_at":"2026-03-10T12:00:05+09:00","paid_at":"2026-03-10T12:00:05+09:00","cancels":[]}}`
		sig       = "v1,wAYmbMbDKHxGQYSHg68Am2r2loxM87bXuhVmMOoCBPU="
	)
	h := hookHeader("msg_2dVbRjvHMoNSO7E_ER93", 1773111605, sig)
	if err := shop.VerifyWebhook(docSecret, h, []byte(body), time.Unix(1773111605+30, 0)); err != nil {
		t.Fatal(err)
	}
	if got := "v1," + sign(docSecret, "msg_2dVbRjvHMoNSO7E_ER93", 1773111605, body); got != sig {
		t.Fatalf("the documented algorithm gives %s, the document %s", got, sig)
	}
}

func TestVerifyWebhook(t *testing.T) {
	const (
		id   = "msg_p5jXN8AQM9LWM0D4loKWxJek"
		ts   = int64(1773111605)
		body = `{"type":"payment.cancelled","data":{"tid":"01KBZ8E2M1XQ7T3V9WJ4NQ5R6S","status":"CANCELLED"}}`
	)
	good := "v1," + sign(secret, id, ts, body)
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another merchant's 32-byte key!!"))
	now := time.Unix(ts, 0)
	tests := []struct {
		name   string
		secret string
		header http.Header
		body   string
		now    time.Time
		want   error
	}{
		{"genuine", secret, hookHeader(id, ts, good), body, now, nil},
		{"one of several", secret, hookHeader(id, ts, "v1,bm90IGl0 "+good+" v2,whatever"), body, now, nil},
		{"4m59s late", secret, hookHeader(id, ts, good), body, now.Add(4*time.Minute + 59*time.Second), nil},
		{"secret without prefix", strings.TrimPrefix(secret, "whsec_"), hookHeader(id, ts, good), body, now, nil},
		{"wrong signature", secret, hookHeader(id, ts, "v1,"+sign(secret, id, ts, body+" ")), body, now, shop.ErrWebhookSignature},
		{"body changed", secret, hookHeader(id, ts, good), strings.Replace(body, "CANCELLED", "PAID", 1), now, shop.ErrWebhookSignature},
		{"id changed", secret, hookHeader("msg_other", ts, good), body, now, shop.ErrWebhookSignature},
		{"timestamp changed", secret, hookHeader(id, ts+1, good), body, now, shop.ErrWebhookSignature},
		{"wrong version", secret, hookHeader(id, ts, "v1a"+good[2:]), body, now, shop.ErrWebhookSignature},
		{"no version", secret, hookHeader(id, ts, good[3:]), body, now, shop.ErrWebhookSignature},
		{"wrong secret", other, hookHeader(id, ts, good), body, now, shop.ErrWebhookSignature},
		{"old timestamp", secret, hookHeader(id, ts, good), body, now.Add(5*time.Minute + time.Second), shop.ErrWebhookTimestamp},
		{"future timestamp", secret, hookHeader(id, ts, good), body, now.Add(-6 * time.Minute), shop.ErrWebhookTimestamp},
		{"no id", secret, hookHeader("", ts, good), body, now, shop.ErrWebhookHeaders},
		{"no signature", secret, hookHeader(id, ts, ""), body, now, shop.ErrWebhookHeaders},
		{"bad timestamp", secret, http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {"soon"}, "Webhook-Signature": {good}}, body, now, shop.ErrWebhookHeaders},
		{"no secret", "", hookHeader(id, ts, good), body, now, shop.ErrWebhookSecret},
		{"secret not base64", "whsec_not*base64", hookHeader(id, ts, good), body, now, shop.ErrWebhookSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := shop.VerifyWebhook(tt.secret, tt.header, []byte(tt.body), tt.now); !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// Whatever comes in, an event passes only with the genuine signature.
func FuzzVerifyWebhook(f *testing.F) {
	const ts = int64(1773111605)
	f.Add("msg_1", "1773111605", "v1,"+sign(secret, "msg_1", ts, "{}"), []byte("{}"))
	f.Add("msg_1", "1773111605", "v1,", []byte(""))
	f.Add("", "-1", "v1,a v1,b", []byte("x"))
	f.Fuzz(func(t *testing.T, id, tstr, sigs string, body []byte) {
		h := http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {tstr}, "Webhook-Signature": {sigs}}
		if shop.VerifyWebhook(secret, h, body, time.Unix(ts, 0)) != nil {
			return
		}
		mac := hmac.New(sha256.New, mustKey(secret))
		mac.Write([]byte(id + "." + tstr + "."))
		mac.Write(body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		for _, s := range strings.Fields(sigs) {
			if s == want {
				return
			}
		}
		t.Fatalf("accepted %q without the genuine signature %q", sigs, want)
	})
}

func mustKey(s string) []byte {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
	if err != nil {
		panic(err)
	}
	return k
}

// The endpoint: signed events move the order; repeats, forgeries and late
// events do not.
func TestShop_Webhook(t *testing.T) {
	r := newShopRig(t)
	id, tid := r.buy("tea-01")
	event := func(status, failCode string) string {
		return fmt.Sprintf(`{"type":"payment.x","timestamp":"2026-03-10T12:00:05+09:00","data":{"tid":%q,"order_id":%q,"status":%q,"fail_code":%q}}`,
			tid, id, status, failCode)
	}
	now := time.Now().Unix()
	post := func(msgID string, ts int64, body, sig string) int {
		if sig == "" {
			sig = "v1," + sign(secret, msgID, ts, body)
		}
		return r.do("POST", "/webhooks", nil, hookHeader(msgID, ts, sig), body).Code
	}
	steps := []struct {
		name  string
		post  func() int
		code  int
		order string // the order's status after the step
	}{
		{"paid", func() int { return post("msg_1", now, event("PAID", ""), "") }, 204, "paid"},
		{"a repeat is ignored", func() int { return post("msg_1", now, event("CANCELLED", ""), "") }, 204, "paid"},
		{"bad signature", func() int { return post("msg_2", now, event("CANCELLED", ""), "v1,"+sign(secret, "msg_2", now, "{}")) }, 401, "paid"},
		{"old", func() int { return post("msg_3", now-600, event("CANCELLED", ""), "") }, 401, "paid"},
		{"no headers", func() int { return r.do("POST", "/webhooks", nil, nil, event("CANCELLED", "")).Code }, 400, "paid"},
		{"not JSON", func() int { return post("msg_4", now, "CANCELLED", "") }, 400, "paid"},
		{"another shop's TID", func() int { return post("msg_5", now, strings.ReplaceAll(event("CANCELLED", ""), tid, "01OTHER"), "") }, 204, "paid"},
		{"partly cancelled", func() int { return post("msg_6", now, event("PARTIAL_CANCELLED", ""), "") }, 204, "partially_cancelled"},
		{"cancelled", func() int { return post("msg_7", now, event("CANCELLED", ""), "") }, 204, "cancelled"},
		{"a late paid does not undo it", func() int { return post("msg_8", now, event("PAID", ""), "") }, 204, "cancelled"},
	}
	for _, s := range steps {
		if code := s.post(); code != s.code {
			t.Errorf("%s: HTTP %d, want %d", s.name, code, s.code)
		}
		if status, _ := r.order(id); status != s.order {
			t.Errorf("%s: the order is %s, want %s", s.name, status, s.order)
		}
	}
}

func TestShop_Webhook_FailedEvent(t *testing.T) {
	r := newShopRig(t)
	id, tid := r.buy("tea-01")
	body := fmt.Sprintf(`{"type":"payment.failed","data":{"tid":%q,"status":"FAILED","fail_code":"BILL_NOT_CHARGED"}}`, tid)
	now := time.Now().Unix()
	if code := r.do("POST", "/webhooks", nil, hookHeader("msg_1", now, "v1,"+sign(secret, "msg_1", now, body)), body).Code; code != 204 {
		t.Fatalf("HTTP %d", code)
	}
	if status, code := r.order(id); status != "failed" || code != "BILL_NOT_CHARGED" {
		t.Errorf("the order is %s %s", status, code)
	}
}

// Without a secret the shop takes no webhooks at all.
func TestShop_Webhook_Off(t *testing.T) {
	f := newFakeTUNA(t)
	h := shop.New(shop.Options{TUNA: f.URL, CPID: cpID, CPPassword: cpPwd, PublicURL: shopURL}).Handler()
	req := httptest.NewRequest("POST", "/webhooks", strings.NewReader("{}"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusNotFound {
		t.Errorf("POST /webhooks without a secret: %d", w.Code)
	}
}
