package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/tunapay/tuna/components/carrier/sim"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"
	"github.com/tunapay/tuna/examples/demoshop/shop"
)

// swappable lets a test start a server before its handler exists (the
// shop's URL is needed to register its webhook before TUNA starts).
type swappable struct {
	mu sync.Mutex
	h  http.Handler
}

func (s *swappable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.h
	s.mu.Unlock()
	h.ServeHTTP(w, r)
}

// registerShopWebhook prepares a data folder: the demo merchant with a
// webhook to url; it returns the signing secret.
func registerShopWebhook(t *testing.T, dir, url string) string {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(dir, "payment.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	key, err := serverKey(filepath.Join(dir, "server.key"))
	if err != nil {
		t.Fatal(err)
	}
	carrier, _ := sim.New(nil)
	defer carrier.Close()
	svc, err := payment.New(payment.Options{Store: store, Carrier: carrier, Key: key, Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.EnsureDemoMerchant(context.Background()); err != nil {
		t.Fatal(err)
	}
	secret, err := svc.SetWebhook(context.Background(), payment.DemoID, url)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// The demo shop end to end: an order, the window, the return confirmed by
// bill, then a cancel made at TUNA behind the shop's back, which the shop
// learns only from a signed webhook.
func TestE2E_DemoShopWithWebhooks(t *testing.T) {
	shopSrv := &swappable{h: http.NotFoundHandler()}
	ts := httptest.NewServer(shopSrv)
	defer ts.Close()
	dir := t.TempDir()
	secret := registerShopWebhook(t, dir, ts.URL+"/webhooks")
	l := startLiveWith(t, func(c *config) { c.Data = dir })
	s := shop.New(shop.Options{TUNA: l.base, CPID: "demo", CPPassword: "demo1234", WebhookSecret: secret, PublicURL: ts.URL})
	shopSrv.mu.Lock()
	shopSrv.h = s.Handler()
	shopSrv.mu.Unlock()

	b := newBrowser(t)
	code, page, h := b.do("POST", ts.URL+"/orders", url.Values{"product": {"tea-01"}})
	pay, _ := url.Parse(h.Get("Location"))
	if code != 303 || !strings.HasPrefix(pay.Path, "/pay/") {
		t.Fatalf("order %d %q: %s", code, h.Get("Location"), page)
	}
	tid := strings.TrimPrefix(pay.Path, "/pay/")
	const phone = "01033334444"
	_, page, _ = b.do("GET", l.base+pay.Path, nil)
	_, page, _ = b.do("POST", l.base+pay.Path+"/user", url.Values{"csrf": {token(t, page)}, "name": {"김철수"},
		"phone_number": {phone}, "carrier": {"KT"}, "birth": {"19851231"}, "gender": {"M"}})
	code, _, h = b.do("POST", l.base+pay.Path+"/otp", url.Values{"csrf": {token(t, page)}, "OTP": {l.otp(phone)}})
	if code != 303 {
		t.Fatalf("otp: %d", code)
	}
	code, _, h = b.do("GET", h.Get("Location"), nil) // the shop's /return: it bills
	order := h.Get("Location")
	if code != 303 || !strings.HasPrefix(order, "/orders/") {
		t.Fatalf("return %d %q", code, order)
	}
	if status := orderStatus(t, b, ts.URL+order); status != "paid" {
		t.Fatalf("order %s after the return", status)
	}
	expect(t, l.step("cancel/cancel", "CP_ID", "demo", "CP_PWD", "demo1234", "O_TID", tid), "SUCCESS", "OK")
	deadline := time.Now().Add(20 * time.Second)
	for orderStatus(t, b, ts.URL+order) != "cancelled" {
		if time.Now().After(deadline) {
			t.Fatal("the shop never learned of the cancel: no verified webhook")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func orderStatus(t *testing.T, b *browser, u string) string {
	t.Helper()
	_, page, _ := b.do("GET", u, nil)
	i := strings.Index(page, `data-status="`)
	if i < 0 {
		t.Fatalf("no status on %s", page)
	}
	rest := page[i+len(`data-status="`):]
	return rest[:strings.IndexByte(rest, '"')]
}
