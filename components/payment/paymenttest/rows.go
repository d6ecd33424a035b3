package paymenttest

import (
	"errors"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

func roundTripPayments() []*payment.Payment {
	failed := SamplePayment("tid-failed", Epoch)
	failed.Status, failed.FailCode, failed.FailMessage = payment.StatusFailed, "E201", "한도 초과"
	failed.PaidAt, failed.Cancelled, failed.Refunded, failed.Cancels = time.Time{}, 0, 0, nil
	netCancelled := SamplePayment("tid-net", time.Now()) // with a monotonic reading
	netCancelled.Status, netCancelled.NetCancelled = payment.StatusCancelled, true
	pending := SamplePayment("tid-pending", Epoch)
	pending.Cancels[1].Status, pending.Cancels[1].FailCode = payment.CancelPending, ""
	return []*payment.Payment{
		SamplePayment("tid-full", Epoch), failed, netCancelled, pending,
		{TID: "tid-minimal"},
		{TID: "tid-unknown", CPID: "CP0002", Amount: 1, Status: payment.StatusUnknown, Cancels: []payment.Cancel{}},
	}
}

func testPaymentRoundTrip(t *testing.T, s payment.Store) {
	for _, p := range roundTripPayments() {
		t.Run(p.TID, func(t *testing.T) {
			mustUpdate(t, s, func(tx payment.Tx) error {
				if err := tx.PutPayment(p); err != nil {
					return err
				}
				got, err := tx.Payment(p.TID)
				if d := DiffPayment(p, got); err == nil && d != "" {
					t.Errorf("Payment in the same Update: %s", d)
				}
				return err
			})
			if d := DiffPayment(p, readPayment(t, s, p.TID)); d != "" {
				t.Fatalf("Payment after Update: %s", d)
			}
		})
	}
}

func testLimitRoundTrip(t *testing.T, s payment.Store) {
	want := []*payment.Limit{
		{Phone: "01012345678", Month: "2026-03", Used: 150000, Held: 15000},
		{Phone: "01012345678", Month: "2026-04", Used: 1},
		{Phone: "01099998888", Month: "2026-03", Held: 2},
	}
	seed(t, s, want[0], want[1], want[2])
	for _, w := range want {
		if got := readLimit(t, s, w.Phone, w.Month); *got != *w {
			t.Errorf("Limit(%s, %s) = %+v, want %+v", w.Phone, w.Month, *got, *w)
		}
	}
	zero := payment.Limit{Phone: "01011112222", Month: "2026-03"}
	if got := readLimit(t, s, zero.Phone, zero.Month); *got != zero {
		t.Errorf("Limit of an unknown phone = %+v, want %+v", *got, zero)
	}
}

func testMerchantRoundTrip(t *testing.T, s payment.Store) {
	for _, m := range []*payment.Merchant{
		SampleMerchant("CP0001", Epoch),
		{ID: "CP-minimal"},
	} {
		seed(t, s, m)
		var got *payment.Merchant
		mustView(t, s, func(tx payment.Tx) (err error) { got, err = tx.Merchant(m.ID); return err })
		if d := DiffMerchant(m, got); d != "" {
			t.Errorf("Merchant %s: %s", m.ID, d)
		}
	}
}

func testOTPRoundTrip(t *testing.T, s payment.Store) {
	used := SampleOTP("tid-used", Epoch)
	used.Used, used.Wrong = true, 0
	for _, o := range []*payment.OTP{SampleOTP("tid-otp", Epoch), used, {TID: "tid-minimal"}} {
		seed(t, s, o)
		var got *payment.OTP
		mustView(t, s, func(tx payment.Tx) (err error) { got, err = tx.OTP(o.TID); return err })
		if d := DiffOTP(o, got); d != "" {
			t.Errorf("OTP %s: %s", o.TID, d)
		}
	}
}

func testGetNotFound(t *testing.T, s payment.Store) {
	p := SamplePayment("tid-known", Epoch)
	seed(t, s, p, SampleMerchant("CP0001", Epoch), SampleOTP("tid-known", Epoch), SampleEvent("msg_known", Epoch))
	for _, tc := range []struct {
		name string
		get  func(tx payment.Tx) error
	}{
		{"Payment", func(tx payment.Tx) error { return second(tx.Payment("tid-unknown")) }},
		{"Merchant", func(tx payment.Tx) error { return second(tx.Merchant("CP-unknown")) }},
		{"OTP", func(tx payment.Tx) error { return second(tx.OTP("tid-unknown")) }},
		{"Event", func(tx payment.Tx) error { return second(tx.Event("msg_unknown")) }},
		{"PaymentByOrder", func(tx payment.Tx) error { return second(tx.PaymentByOrder(p.CPID, "order-unknown")) }},
		{"PaymentByOrder_OtherMerchant", func(tx payment.Tx) error { return second(tx.PaymentByOrder("CP0002", p.OrderID)) }},
		{"PaymentByOrder_Empty", func(tx payment.Tx) error { return second(tx.PaymentByOrder(p.CPID, "")) }},
	} {
		for _, run := range []func(fn func(payment.Tx) error) error{
			func(fn func(payment.Tx) error) error { return s.View(t.Context(), fn) },
			func(fn func(payment.Tx) error) error { return s.Update(t.Context(), fn) },
		} {
			if err := run(tc.get); !errors.Is(err, payment.ErrNotFound) {
				t.Errorf("%s: err %v, want ErrNotFound", tc.name, err)
			}
		}
	}
}

func second[T any](_ T, err error) error { return err }

func testPutEmptyKey(t *testing.T, s payment.Store) {
	for _, tc := range []struct {
		name string
		row  any
	}{
		{"Payment", &payment.Payment{CPID: "CP0001", OrderID: "o-1", Amount: 1000, Status: payment.StatusUnknown}},
		{"Limit_NoPhone", &payment.Limit{Month: "2026-03", Used: 1}},
		{"Limit_NoMonth", &payment.Limit{Phone: "01012345678", Used: 1}},
		{"Merchant", &payment.Merchant{Name: "no id"}},
		{"OTP", &payment.OTP{Phone: "01012345678"}},
		{"Event", &payment.Event{CPID: "CP0001", TID: "tid-1", Status: payment.EventPending}},
	} {
		err := s.Update(t.Context(), func(tx payment.Tx) error { return putAll(tx, tc.row) })
		if err == nil {
			t.Errorf("Put%s with an empty key succeeded", tc.name)
		}
	}
	assertEmpty(t, s)
}
