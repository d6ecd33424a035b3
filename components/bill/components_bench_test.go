package bill_test

import (
	"fmt"
	"testing"

	"github.com/dop251/goja"

	"github.com/tunapay/tuna/components/componentstest"
	"github.com/tunapay/tuna/engine"
)

// BenchmarkComponent is each component call as a script makes it: a
// compiled one-line program run on a runtime with the six components
// bound, over the payment service on bbolt without fsync (the store's
// durable cost is BenchmarkStore_Update's) and the in-process carrier.
// Calls that change a payment get a prepared payment each, so every
// iteration does the real work (no replay, no limit reached).
//
//	go test -run '^$' -bench Component -benchmem ./components/bill
func BenchmarkComponent(b *testing.B) {
	for _, bc := range []struct {
		name, src string
		prepare   string // the last call made on each prepared payment
	}{
		{"CP.authenticate", `CP.authenticate("demo", "demo1234")`, ""},
		{"BILL.register", `BILL.register({productId: "p", productName: "Tea", price: 1000}, "demo")`, "new"},
		{"USER.checkRisk", `USER.checkRisk(user)`, "register"},
		{"USER.checkCarrier", `USER.checkCarrier(user)`, "register"},
		{"OTP.send", `OTP.send(user)`, "checkCarrier"},
		{"OTP.verify", `OTP.verify(code)`, "send"},
		{"BILL.charge", `BILL.charge("demo", 1000)`, "verify"},
		{"RM.remaining", `RM.remaining("01012345678")`, ""},
		{"CARRIER.name", `CARRIER.name("LGU")`, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			rt, carrier := jsWorld(b)
			prog := goja.MustCompile(bc.name, bc.src, false)
			tids := make([]string, b.N)
			codes := make([]string, b.N)
			for i := range tids {
				tids[i] = engine.NewTID(componentstest.Epoch)
				if bc.prepare == "" || bc.prepare == "new" {
					continue
				}
				rt.Call.TID = tids[i]
				setUser(rt, i)
				for _, st := range prepSteps {
					if st.name == "verify" {
						rt.Export(fmt.Sprintf("var code = %q", codes[i]))
					}
					if got := rt.Export(st.src + `.ok`); got != true {
						b.Fatalf("preparing %s: %s is not ok", tids[i], st.src)
					}
					if st.name == "send" {
						sms, err := carrier.LastSMS(rt.Call.Context(), phone(i))
						if err != nil {
							b.Fatal(err)
						}
						codes[i] = sms.OTP
					}
					if st.name == bc.prepare {
						break
					}
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				rt.Call.TID = tids[i]
				if bc.prepare != "" {
					setUser(rt, i)
					rt.JS.Set("code", codes[i])
				}
				v, err := rt.JS.RunProgram(prog)
				if err != nil {
					b.Fatal(err)
				}
				if o, ok := v.Export().(map[string]any); ok && o["ok"] == false {
					b.Fatalf("%s: %v", bc.name, o)
				}
			}
		})
	}
}

// phone is the i-th payment's own number, so no monthly limit is reached.
func phone(i int) string { return fmt.Sprintf("0101%07d", i) }

func setUser(rt *componentstest.Runtime, i int) {
	_ = rt.JS.Set("user", map[string]any{"name": "홍길동", "phone_number": phone(i), "carrier": "KT",
		"birth": "19900101", "gender": "F"})
}

// prepSteps bring a payment, step by step, to where a benchmarked call
// needs it.
var prepSteps = []struct{ name, src string }{
	{"register", `BILL.register({productId: "p", productName: "Tea", price: 1000}, "demo")`},
	{"checkRisk", `USER.checkRisk(user)`},
	{"checkCarrier", `USER.checkCarrier(user)`},
	{"send", `OTP.send(user)`},
	{"verify", `OTP.verify(code)`},
}
