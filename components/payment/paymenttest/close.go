package paymenttest

import (
	"testing"

	"github.com/tunapay/tuna/components/payment"
)

func testClose(t *testing.T, s payment.Store) {
	seed(t, s, SamplePayment("tid-close", Epoch))
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
		{"DueEvents", second(s.DueEvents(t.Context(), Epoch, 10))},
		{"Events", second(s.Events(t.Context(), payment.EventFilter{}))},
	} {
		if tc.err == nil {
			t.Errorf("%s after Close succeeded", tc.op)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
