package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/paymenttest"
	"github.com/tunapay/tuna/internal/bolttest"
	bolt "go.etcd.io/bbolt"
)

var (
	timeType   = reflect.TypeFor[time.Time]()
	cancelType = reflect.TypeFor[payment.Cancel]()
)

// fill sets every field of the struct v points to, by reflection, so that a
// field added to Payment or Cancel is filled too; at gives each time. A
// kind it does not know fails the test: teach it, and asDecoded, the field.
func fill(t *testing.T, v reflect.Value, at func() time.Time) {
	t.Helper()
	for i := 0; i < v.NumField(); i++ {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case f.Type() == timeType:
			f.Set(reflect.ValueOf(at()))
		case f.Kind() == reflect.String:
			f.SetString("v-" + name + "-결제")
		case f.Kind() == reflect.Int64 || f.Kind() == reflect.Int:
			f.SetInt(int64(1000 + i))
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.Kind() == reflect.Slice && f.Type().Elem() == cancelType:
			s := reflect.MakeSlice(f.Type(), 2, 2)
			for j := 0; j < 2; j++ {
				fill(t, s.Index(j), at)
			}
			f.Set(s)
		default:
			t.Fatalf("fill: field %s of kind %s: teach fill and asDecoded this field", name, f.Type())
		}
	}
}

// strings lists a setter for every string field of p, its cancels' too.
func stringFields(v reflect.Value, path string) map[string]reflect.Value {
	out := map[string]reflect.Value{}
	for i := 0; i < v.NumField(); i++ {
		f, name := v.Field(i), path+v.Type().Field(i).Name
		switch {
		case f.Kind() == reflect.String:
			out[name] = f
		case f.Kind() == reflect.Slice && f.Type().Elem() == cancelType:
			for j := 0; j < f.Len(); j++ {
				for k, s := range stringFields(f.Index(j), fmt.Sprintf("%s[%d].", name, j)) {
					out[k] = s
				}
			}
		}
	}
	return out
}

// viaJSON is what the store gave back before it remembered anything.
func viaJSON(t *testing.T, p *payment.Payment) (payment.Payment, bool) {
	t.Helper()
	raw, err := json.Marshal(p)
	if err != nil {
		return payment.Payment{}, false
	}
	var out payment.Payment
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return out, true
}

// checkSame: whenever asDecoded accepts p, it is exactly what the JSON
// trip gives, to the location and the monotonic reading of each time.
func checkSame(t *testing.T, name string, p *payment.Payment) (accepted bool) {
	t.Helper()
	got, ok := asDecoded(p)
	want, encodes := viaJSON(t, p)
	if ok && !encodes {
		t.Errorf("%s: accepted a payment JSON cannot encode", name)
	}
	if ok && !reflect.DeepEqual(got, want) {
		t.Errorf("%s: asDecoded differs from the JSON trip:\n got %+v\nwant %+v", name, got, want)
	}
	return ok
}

// timeShapes are times in every shape JSON treats apart: locations, a
// monotonic reading, zeros, a year it cannot write, an offset in seconds.
func timeShapes(t *testing.T) map[string]func() time.Time {
	t.Helper()
	seoul, err := time.LoadLocation("Asia/Seoul")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 21, 18, 30, 15, 123456789, time.UTC)
	return map[string]func() time.Time{
		"utc":              func() time.Time { return base },
		"local":            func() time.Time { return base.Local() },
		"seoul":            func() time.Time { return base.In(seoul) },
		"whole second":     func() time.Time { return base.Truncate(time.Second).In(seoul) },
		"monotonic":        func() time.Time { return time.Now() },
		"monotonic seoul":  func() time.Time { return time.Now().In(seoul) },
		"fixed":            func() time.Time { return base.In(time.FixedZone("X", -5*3600-1800)) },
		"zero":             func() time.Time { return time.Time{} },
		"zero in seoul":    func() time.Time { return time.Time{}.In(seoul) },
		"year 10000":       func() time.Time { return time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"offset seconds":   func() time.Time { return base.In(time.FixedZone("LMT", 30472)) },
		"unix zero, local": func() time.Time { return time.Unix(0, 0) },
	}
}

func TestDecoded_SameAsJSON(t *testing.T) {
	times := timeShapes(t)
	for name, at := range times {
		var p payment.Payment
		fill(t, reflect.ValueOf(&p).Elem(), at)
		ok := checkSame(t, name, &p)
		if want := name != "year 10000"; ok != want {
			t.Errorf("%s: asDecoded accepted %v, want %v", name, ok, want)
		}
	}

	// Every string field, one at a time, not valid UTF-8: refused, or what
	// JSON makes of it.
	var p payment.Payment
	fill(t, reflect.ValueOf(&p).Elem(), times["monotonic seoul"])
	for name := range stringFields(reflect.ValueOf(&p).Elem(), "") {
		q := p
		q.Cancels = append([]payment.Cancel(nil), p.Cancels...)
		stringFields(reflect.ValueOf(&q).Elem(), "")[name].SetString("bad \xff\xfe byte")
		if checkSame(t, name+" not UTF-8", &q) {
			t.Errorf("%s not UTF-8: accepted", name)
		}
	}

	// The sample payments of the contract tests, and one with no cancels.
	s := paymenttest.SamplePayment("tid-sample", time.Now())
	if !checkSame(t, "sample", s) {
		t.Error("sample: refused")
	}
	s.Cancels = nil
	checkSame(t, "no cancels", s)
}

func newTestStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "payment.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// storedJSON is the payment as a plain decode of the file reads it.
func storedJSON(t *testing.T, s *Store, tid string) *payment.Payment {
	t.Helper()
	var p payment.Payment
	if err := s.db.View(func(btx *bolt.Tx) error {
		return json.Unmarshal(btx.Bucket(bucketPayments).Get([]byte(tid)), &p)
	}); err != nil {
		t.Fatal(err)
	}
	return &p
}

func readPayment(t *testing.T, s *Store, tid string) *payment.Payment {
	t.Helper()
	var p *payment.Payment
	if err := s.View(context.Background(), func(tx payment.Tx) (err error) {
		p, err = tx.Payment(tid)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

func putPayment(s *Store, p *payment.Payment, fail error) error {
	return s.Update(context.Background(), func(tx payment.Tx) error {
		if err := tx.PutPayment(p); err != nil {
			return err
		}
		return fail
	})
}

// A read after a write comes from what the store remembers, equals what a
// decode of the file gives, and is the caller's own copy.
func TestDecoded_Store(t *testing.T) {
	s := newTestStore(t)
	seoul, _ := time.LoadLocation("Asia/Seoul")
	p := paymenttest.SamplePayment("tid-1", time.Now().In(seoul))
	p.Cancels = []payment.Cancel{{ID: "c1", Type: payment.TypeCancel, Amount: 10, Status: payment.CancelPending, RequestedAt: time.Now()}}
	if err := putPayment(s, p, nil); err != nil {
		t.Fatal(err)
	}
	if s.dec.m["tid-1"] == nil {
		t.Fatal("a written payment is not remembered")
	}
	got := readPayment(t, s, "tid-1")
	if want := storedJSON(t, s, "tid-1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n got %+v\nwant %+v", got, want)
	}

	// The copy is the caller's: changing it, its cancels too, changes no
	// later read.
	got.Amount, got.Cancels[0].Amount = 1, 1
	if again := readPayment(t, s, "tid-1"); again.Amount != p.Amount || again.Cancels[0].Amount != 10 {
		t.Fatalf("a caller's change reached the store: amount %d, cancel %d", again.Amount, again.Cancels[0].Amount)
	}

	// A write that rolls back leaves its bytes remembered, and they do not
	// match the file's: the read decodes what is stored.
	q := *p
	q.Status, q.Amount = payment.StatusVerified, 777
	errFail := errors.New("roll back")
	if err := putPayment(s, &q, errFail); !errors.Is(err, errFail) {
		t.Fatalf("update: %v", err)
	}
	if got := readPayment(t, s, "tid-1"); got.Amount != p.Amount || got.Status != p.Status {
		t.Fatalf("after a rolled-back write read amount %d status %s, want %d %s", got.Amount, got.Status, p.Amount, p.Status)
	}

	// Bytes written past the store (an older file, a hand edit) are decoded,
	// then remembered.
	raw := []byte(`{"tid":"tid-1","cp_id":"CP","amount":5,"status":"PAID","created_at":"2026-01-02T03:04:05+09:00","updated_at":"2026-01-02T03:04:05Z","expires_at":"2026-01-02T03:04:05Z","cancelled":0,"refunded":0}`)
	if err := s.db.Update(func(btx *bolt.Tx) error { return btx.Bucket(bucketPayments).Put([]byte("tid-1"), raw) }); err != nil {
		t.Fatal(err)
	}
	if got := readPayment(t, s, "tid-1"); got.Amount != 5 || got.Status != payment.StatusPaid {
		t.Fatalf("after a write past the store read %+v", got)
	}
	if e := s.dec.m["tid-1"]; e == nil || string(e.raw) != string(raw) {
		t.Fatal("a decoded payment is not remembered")
	}
	if got, want := readPayment(t, s, "tid-1"), storedJSON(t, s, "tid-1"); !reflect.DeepEqual(got, want) {
		t.Fatalf("remembered decode\n got %+v\nwant %+v", got, want)
	}
}

func TestDecoded_Bounded(t *testing.T) {
	var d decoded
	for i := 0; i < decodedMax+100; i++ {
		d.add([]byte("x"), &payment.Payment{TID: fmt.Sprint("tid-", i)})
	}
	if len(d.m) != decodedMax {
		t.Fatalf("%d remembered, want at most %d", len(d.m), decodedMax)
	}
	d.add([]byte("y"), &payment.Payment{TID: "tid-7", Amount: 7})
	if p, ok := d.get("tid-7", []byte("y")); !ok || p.Amount != 7 || len(d.m) > decodedMax {
		t.Fatalf("replace: %v %v, %d remembered", p, ok, len(d.m))
	}
	if _, ok := d.get("tid-7", []byte("x")); ok {
		t.Fatal("other bytes matched")
	}
}

// BenchmarkPaymentRead is one read of a payment inside a transaction: the
// JSON decode the store used to do on every read, and the remembered copy.
func BenchmarkPaymentRead(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "payment.db"), &Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	p := paymenttest.SamplePayment("tid-bench", time.Now())
	if err := putPayment(s, p, nil); err != nil {
		b.Fatal(err)
	}
	for _, remembered := range []bool{false, true} {
		b.Run(fmt.Sprintf("remembered=%v", remembered), func(b *testing.B) {
			b.ReportAllocs()
			_ = s.db.View(func(btx *bolt.Tx) error {
				t := &tx{btx: btx, dec: &s.dec}
				for b.Loop() {
					if !remembered {
						s.dec.m = nil
					}
					if _, err := t.Payment("tid-bench"); err != nil {
						b.Fatal(err)
					}
				}
				return nil
			})
		})
	}
}

// Writing a payment back with its order and its unresolved state unchanged
// writes the payment's page only: an index entry put again as it was would
// make bbolt write its page again on every update.
func TestStore_IndexesUntouched(t *testing.T) {
	s := newTestStore(t)
	p := paymenttest.SamplePayment("tid-idx", time.Now())
	p.OrderID, p.Status = "order-1", payment.StatusUnknown
	if err := putPayment(s, p, nil); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{bucketOrders, bucketUnresolved} {
		err := s.db.Update(func(btx *bolt.Tx) error {
			tx := &tx{btx: btx, dec: &s.dec}
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			// A leaf node exists for the index only if something put or
			// deleted in it: bbolt materializes nodes on change.
			c := btx.Bucket(b).Cursor()
			k, _ := c.First()
			if k == nil {
				t.Fatalf("%s: empty", b)
			}
			st := btx.Stats()
			if n := st.GetNodeCount(); n > 1 {
				t.Errorf("%s: %d nodes changed by a put of an unchanged payment, want the payments bucket's only", b, n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// OTPs written in TID order fill the OTP bucket's pages as appendFill
// says, not half full as bbolt's default leaves them.
func TestStore_OTPFill(t *testing.T) {
	s := newTestStore(t)
	for i := 0; i < 2000; i += 100 {
		err := s.Update(context.Background(), func(tx payment.Tx) error {
			for j := i; j < i+100; j++ {
				o := paymenttest.SampleOTP(fmt.Sprintf("T%06d", j), time.Now())
				if err := tx.PutOTP(o); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	bolttest.LeafFill(t, s.db, bucketOTPs, 5, 0.75)
}

// A transaction that touches two payments remembers each one's order
// (the second one's in the map): moving the second one's order twice
// leaves exactly its last order indexed, and the first one's untouched.
func TestStore_TwoPaymentsOrders(t *testing.T) {
	s := newTestStore(t)
	p1, p2 := paymenttest.SamplePayment("tid-a", time.Now()), paymenttest.SamplePayment("tid-b", time.Now())
	p1.OrderID, p2.OrderID = "o-a", "o-b"
	for _, p := range []*payment.Payment{p1, p2} {
		if err := putPayment(s, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	err := s.Update(context.Background(), func(tx payment.Tx) error {
		a, err := tx.Payment("tid-a")
		if err != nil {
			return err
		}
		b, err := tx.Payment("tid-b")
		if err != nil {
			return err
		}
		for _, o := range []string{"o-b2", "o-b3"} {
			b.OrderID = o
			if err := tx.PutPayment(b); err != nil {
				return err
			}
		}
		return tx.PutPayment(a)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.db.View(func(btx *bolt.Tx) error {
		got := map[string]string{}
		_ = btx.Bucket(bucketOrders).ForEach(func(k, v []byte) error { got[string(k)] = string(v); return nil })
		want := map[string]string{p1.CPID + "\x00o-a": "tid-a", p2.CPID + "\x00o-b3": "tid-b"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("orders index %q, want %q", got, want)
		}
		return nil
	})
}
