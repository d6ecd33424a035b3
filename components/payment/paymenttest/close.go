package paymenttest

import (
	"errors"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

func testClose(t *testing.T, s payment.Store) {
	seed(t, s, SamplePayment("tid-close", Epoch))
	CheckClosed(t, s, nil)
}

// CheckClosed closes s and checks that every operation then fails — with
// want, when a backend has a sentinel for it (nil: any error) — and that a
// second Close is harmless.
func CheckClosed(t *testing.T, s payment.Store, want error) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	noop := func(payment.Tx) error { return nil }
	for _, tc := range []struct {
		op  string
		err error
	}{
		{"Update", s.Update(t.Context(), noop)},
		{"View", s.View(t.Context(), noop)},
		{"Unresolved", second(s.Unresolved(t.Context()))},
		{"Merchants", second(s.Merchants(t.Context()))},
		{"Payments", second(s.Payments(t.Context()))},
		{"Limits", second(s.Limits(t.Context()))},
		{"Lease", second(s.Lease(t.Context(), "recovery", "a", time.Second))},
		{"DueEvents", second(s.DueEvents(t.Context(), Epoch, 10))},
		{"Events", second(s.Events(t.Context(), payment.EventFilter{}))},
	} {
		if tc.err == nil || want != nil && !errors.Is(tc.err, want) {
			t.Errorf("%s after Close: err %v, want %v", tc.op, tc.err, want)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// testUpdateErrorUnchanged: an error of fn comes back as that very value.
func testUpdateErrorUnchanged(t *testing.T, s payment.Store) {
	boom := errors.New("boom")
	if err := s.Update(t.Context(), func(payment.Tx) error { return boom }); err != boom {
		t.Errorf("Update: err %v, want fn's error itself", err)
	}
	if err := s.View(t.Context(), func(payment.Tx) error { return boom }); err != boom {
		t.Errorf("View: err %v, want fn's error itself", err)
	}
}

// CheckTxAfterEnd checks that a Tx kept past its Update fails every call
// with want (a backend's sentinel; nil: any error).
func CheckTxAfterEnd(t *testing.T, s payment.Store, want error) {
	t.Helper()
	var kept payment.Tx
	mustUpdate(t, s, func(tx payment.Tx) error { kept = tx; return nil })
	for _, tc := range []struct {
		op  string
		err error
	}{
		{"Payment", second(kept.Payment("tid"))},
		{"PaymentByOrder", second(kept.PaymentByOrder("CP0001", "o-1"))},
		{"Limit", second(kept.Limit("01012345678", "2026-03"))},
		{"Merchant", second(kept.Merchant("CP0001"))},
		{"OTP", second(kept.OTP("tid"))},
		{"PutPayment", kept.PutPayment(SamplePayment("tid", Epoch))},
		{"PutLimit", kept.PutLimit(&payment.Limit{Phone: "01012345678", Month: "2026-03"})},
		{"PutMerchant", kept.PutMerchant(SampleMerchant("CP0001", Epoch))},
		{"PutOTP", kept.PutOTP(SampleOTP("tid", Epoch))},
	} {
		if tc.err == nil || want != nil && !errors.Is(tc.err, want) {
			t.Errorf("%s after Update returned: err %v, want %v", tc.op, tc.err, want)
		}
	}
}
