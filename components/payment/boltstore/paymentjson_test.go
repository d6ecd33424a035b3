package boltstore

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/paymenttest"
)

// sameAsJSON fails unless marshalPayment(p) is json.Marshal(p), byte for
// byte, error for error.
func sameAsJSON(t testing.TB, name string, p *payment.Payment) {
	t.Helper()
	want, wantErr := json.Marshal(p)
	got, err := marshalPayment(p)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%s: error %v, json.Marshal's %v", name, err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %s\nwant %s", name, got, want)
	}
}

// Strings JSON writes as they are and strings it escapes, one kind each.
var jsonStrings = []string{
	"", "plain", "결제 ✓ 휴대폰", "quote \" and \\ backslash", "<script>&amp;</script>",
	"\x00\x01\x1f \b\f\n\r\t", "\x7f del", "line\u2028para\u2029", "bad \xff\xfe bytes",
	"\ufffd replacement", "emoji 😀", "\xed\xa0\x80 surrogate",
	"&", "<", ">", "\"", "\\", "\x1f", "\u2028", "\xff",
}

func TestMarshalPayment_SameAsJSON(t *testing.T) {
	times := timeShapes(t)
	for name, at := range times {
		var p payment.Payment
		fill(t, reflect.ValueOf(&p).Elem(), at)
		sameAsJSON(t, "times "+name, &p)
	}

	// Every string field, all at once and one at a time, each kind.
	var p payment.Payment
	fill(t, reflect.ValueOf(&p).Elem(), times["monotonic"])
	for _, s := range jsonStrings {
		q := p
		q.Cancels = append([]payment.Cancel(nil), p.Cancels...)
		for _, f := range stringFields(reflect.ValueOf(&q).Elem(), "") {
			f.SetString(s)
		}
		sameAsJSON(t, "all strings "+s, &q)
		for name := range stringFields(reflect.ValueOf(&p).Elem(), "") {
			q := p
			q.Cancels = append([]payment.Cancel(nil), p.Cancels...)
			stringFields(reflect.ValueOf(&q).Elem(), "")[name].SetString(s)
			sameAsJSON(t, name+" "+s, &q)
		}
	}

	// Numbers, flags and the cancels' presence.
	for _, n := range []int64{0, -1, 1 << 62, -1 << 63} {
		q := p
		q.Amount, q.Cancelled, q.Refunded = n, n, n
		q.Cancels = []payment.Cancel{{Amount: n, RequestedAt: times["utc"]()}}
		sameAsJSON(t, "numbers", &q)
	}
	q := p
	q.NetCancelled, q.NetCancelling, q.Cancels = false, false, []payment.Cancel{}
	sameAsJSON(t, "no flags, empty cancels", &q)
	q.Cancels = nil
	sameAsJSON(t, "nil cancels", &q)
	sameAsJSON(t, "zero payment", &payment.Payment{})
	sameAsJSON(t, "sample", paymenttest.SamplePayment("tid-sample", time.Now()))
}

func FuzzMarshalPayment(f *testing.F) {
	for _, s := range jsonStrings {
		f.Add(s, s, int64(1000), int64(1795000000123456789), 540, true)
	}
	f.Add("", "", int64(-5), int64(0), -330, false)
	f.Fuzz(func(t *testing.T, a, b string, n, nanos int64, offsetMin int, flag bool) {
		at := time.Unix(0, nanos).In(time.FixedZone("", offsetMin*60))
		p := paymenttest.SamplePayment(a, at)
		p.ProductName, p.FailMessage, p.OrderID, p.Amount = b, a, b, n
		p.CreatedAt, p.PaidAt, p.NetCancelled = at, at, flag
		p.Cancels = []payment.Cancel{{ID: b, Reason: a, Amount: n, RequestedAt: at, DoneAt: at}}
		sameAsJSON(t, "fuzz", p)
	})
}

// BenchmarkMarshalPayment is the encoding of a payment on each update: one
// as a payment flow leaves it (no cancels, plain strings), and the contract
// tests' sample (three cancels, a product name JSON escapes).
func BenchmarkMarshalPayment(b *testing.B) {
	flow := paymenttest.SamplePayment("01JTIDTIDTIDTIDTIDTIDTIDTI", time.Now())
	flow.ProductName, flow.Cancels, flow.Cancelled, flow.Refunded = "튜나 프리미엄 월간", nil, 0, 0
	for name, p := range map[string]*payment.Payment{"flow": flow, "sample": paymenttest.SamplePayment("01JTIDTIDTIDTIDTIDTIDTIDTI", time.Now())} {
		b.Run(name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = json.Marshal(p)
			}
		})
		b.Run(name+"/marshalPayment", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = marshalPayment(p)
			}
		})
	}
}
