package bill_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/carrier/sim"
	"github.com/tunapay/tuna/components/componentstest"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"

	_ "github.com/tunapay/tuna/components/bill"
	_ "github.com/tunapay/tuna/components/carrier"
	_ "github.com/tunapay/tuna/components/cp"
	_ "github.com/tunapay/tuna/components/otp"
	_ "github.com/tunapay/tuna/components/rm"
	_ "github.com/tunapay/tuna/components/user"
)

// jsWorld binds the six payment components, built by their registered
// factories as the server builds them, on one runtime.
func jsWorld(t testing.TB) (*componentstest.Runtime, *sim.Simulator) {
	t.Helper()
	rt := componentstest.New(t)
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "p.db"), &boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	carrier, _ := sim.New(&sim.Options{Now: rt.Call.Clock})
	svc, err := payment.New(payment.Options{Store: store, Carrier: carrier, Key: []byte(strings.Repeat("k", 32)),
		Now: rt.Call.Clock, CarrierSettle: -1})
	if err != nil {
		t.Fatal(err)
	}
	shared := components.NewShared()
	shared.Put(payment.SharedKey, svc)
	shared.Put("store", store)
	shared.Put("carrier", carrier)
	t.Cleanup(func() { shared.Close() })
	if err := svc.EnsureDemoMerchant(rt.Call.Context()); err != nil {
		t.Fatal(err)
	}
	for _, r := range components.Registered() {
		c, err := r.New(components.Env{Shared: shared, Now: rt.Call.Clock})
		if err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
		rt.Bind(r.Name, c)
	}
	rt.Call.TID = "01KTESTTESTTESTTESTTESTTES"
	return rt, carrier
}

// The components in the order the payment scripts call them.
func TestComponents_ThroughJS(t *testing.T) {
	rt, carrier := jsWorld(t)
	rt.Export(`var user = {name: "홍길동", phone_number: "01012345678", carrier: "KT", birth: "19900101", gender: "F"};
		var cp = CP.authenticate("demo", "demo1234")`)
	if got := rt.Export(`CP.authenticate("demo", "wrong")`); got != nil {
		t.Fatalf("a wrong password authenticates: %v", got)
	}
	steps := []struct{ src, want string }{
		{`JSON.stringify(cp)`, `{"id":"demo","name":"Demo Shop"}`},
		{`BILL.register({productId: "p", productName: "Tea", price: 5000}, cp.id).ok`, `true`},
		{`JSON.stringify(USER.checkRisk(user))`, `{"code":"OK","message":"success","ok":true,"remaining":300000}`},
		{`USER.checkCarrier(user).ok`, `true`},
		{`OTP.send(user).phone`, `010****5678`},
	}
	for _, s := range steps {
		if got := toString(rt.Export(s.src)); got != s.want {
			t.Fatalf("%s = %s, want %s", s.src, got, s.want)
		}
	}
	sms, _ := carrier.LastSMS(rt.Call.Context(), "01012345678")
	wrong := "000000"
	if sms.OTP == wrong {
		wrong = "000001"
	}
	if got := rt.Export(`OTP.verify("` + wrong + `").code`); got != "OTP_MISMATCH" {
		t.Fatalf("a wrong OTP: %v", got)
	}
	if got := rt.Export(`OTP.verify("` + sms.OTP + `").ok`); got != true {
		t.Fatalf("the right OTP: %v", got)
	}
	bill := rt.Export(`BILL.charge(cp.id, 5000)`).(map[string]any)
	if bill["ok"] != true || bill["status"] != "PAID" || bill["amount"] != float64(5000) {
		t.Fatalf("charge %v", bill)
	}
	if got := rt.Export(`RM.remaining("01012345678")`); got != float64(295000) {
		t.Fatalf("remaining %v", got)
	}
	rt.Call.TID = "01KCANCELCANCELCANCELCANCE"
	cancel := rt.Export(`BILL.cancel({cpId: cp.id, oTid: "01KTESTTESTTESTTESTTESTTES", amount: 1000})`).(map[string]any)
	if cancel["ok"] != true || cancel["type"] != "CANCEL" || cancel["remainingAmount"] != float64(4000) {
		t.Fatalf("cancel %v", cancel)
	}
	if got := rt.Export(`BILL.lookup(cp.id, "01KTESTTESTTESTTESTTESTTES").status`); got != "PARTIAL_CANCELLED" {
		t.Fatalf("lookup %v", got)
	}
	if got := rt.Export(`BILL.lookup("other", "01KTESTTESTTESTTESTTESTTES")`); got != nil {
		t.Fatalf("another merchant's lookup %v", got)
	}
	if got := rt.Export(`CARRIER.name("LGU") + "/" + CARRIER.carriers().length`); got != "LG U+/6" {
		t.Fatalf("carrier %v", got)
	}
}

func TestComponents_BadArguments(t *testing.T) {
	rt, _ := jsWorld(t)
	for src, want := range map[string]string{
		`BILL.register({price: 0}, "demo")`:     "order.price",
		`BILL.register({price: "12a"}, "demo")`: "order.price",
		`BILL.cancel({oTid: "X", amount: -5})`:  "req.amount",
		`USER.checkRisk({name: "a"})`:           "user.",
		`OTP.send({})`:                          "user.",
		`CARRIER.name("NOPE")`:                  "unknown carrier",
		`BILL.charge("demo", 1.5)`:              "whole number",
	} {
		if got := rt.Throws(src); !strings.Contains(got, want) {
			t.Errorf("%s threw %q, want it to mention %q", src, got, want)
		}
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return ""
}
