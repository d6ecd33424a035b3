package components_test

import (
	"testing"

	"github.com/dop251/goja"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/componentstest"
)

// benchOutcome and benchCharged have the shape of the payment service's
// answers: an embedded outcome and a few fields.
type benchOutcome struct {
	OK      bool   `json:"ok"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

type benchCharged struct {
	benchOutcome
	Amount int64  `json:"amount"`
	PaidAt string `json:"paidAt"`
	Status string `json:"status"`
}

type benchComp struct{}

func (benchComp) Check(c *components.Call, user map[string]any) (benchCharged, error) {
	return benchCharged{benchOutcome{true, "OK", "success"}, int64(len(user)), "2026-11-21T00:00:00+09:00", "PAID"}, nil
}

func (benchComp) Name(c *components.Call, id, pwd string) any {
	return map[string]any{"id": id, "name": pwd}
}

// BenchmarkBridge: what crossing between JS and Go costs per component
// call: the arguments exported, the method called by reflection, its
// answer converted to a JS object and read.
func BenchmarkBridge(b *testing.B) {
	rt := componentstest.New(b).Bind("C", benchComp{})
	for name, src := range map[string]string{
		"struct-result": `var r = C.check({name: "kim", phone: "01012345678", carrier: "SKT", birth: "19900101", gender: "M"}); r.ok && r.amount`,
		"map-result":    `var r = C.name("cp1", "pw"); r.id`,
	} {
		b.Run(name, func(b *testing.B) {
			prog := goja.MustCompile("bench.js", src, true)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := rt.JS.RunProgram(prog); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
