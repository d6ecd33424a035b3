package boltstore_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"
	"github.com/tunapay/tuna/components/payment/paymenttest"
)

func newStore(t *testing.T) *boltstore.Store {
	t.Helper()
	return open(t, filepath.Join(t.TempDir(), "payment.db"), nil)
}

func TestStore_Tx_AfterEnd(t *testing.T) {
	paymenttest.CheckTxAfterEnd(t, newStore(t), boltstore.ErrTxDone)
}

// A key part that would make an index key ambiguous is refused before
// anything is written, even if fn ignores the error and commits.
func TestStore_Put_InvalidKey(t *testing.T) {
	s := newStore(t)
	p := paymenttest.SamplePayment("tid-nul", paymenttest.Epoch)
	p.CPID = "CP\x00X"
	for _, tc := range []struct {
		name string
		put  func(tx payment.Tx) error
	}{
		{"Payment_CPNul", func(tx payment.Tx) error { return tx.PutPayment(p) }},
		{"Limit_MonthNul", func(tx payment.Tx) error {
			return tx.PutLimit(&payment.Limit{Phone: "01012345678", Month: "2026-03\x00"})
		}},
		{"Payment_Nil", func(tx payment.Tx) error { return tx.PutPayment(nil) }},
	} {
		var err error
		mustUpdate(t, s, func(tx payment.Tx) error { err = tc.put(tx); return nil })
		if !errors.Is(err, boltstore.ErrInvalidKey) {
			t.Errorf("%s: err %v, want ErrInvalidKey", tc.name, err)
		}
	}
	ps, _ := s.Payments(t.Context())
	ls, _ := s.Limits(t.Context())
	if len(ps)+len(ls) != 0 {
		t.Errorf("refused Puts stored %v and %v", ps, ls)
	}
}

// The contract leaves the order of Payments and Limits open; this store
// lists them by key.
func TestStore_List_Sorted(t *testing.T) {
	s := newStore(t)
	limits := []payment.Limit{
		{Phone: "01099999999", Month: "2026-02"}, {Phone: "01011111111", Month: "2026-03"},
		{Phone: "01022222222", Month: "2026-03"},
	}
	mustUpdate(t, s, func(tx payment.Tx) error {
		for _, i := range []int{2, 0, 1} {
			err := errors.Join(tx.PutLimit(&limits[i]),
				tx.PutPayment(paymenttest.SamplePayment(string(rune('a'+i)), paymenttest.Epoch)))
			if err != nil {
				return err
			}
		}
		return nil
	})
	ps, err := s.Payments(t.Context())
	if err != nil || len(ps) != 3 || ps[0].TID != "a" || ps[1].TID != "b" || ps[2].TID != "c" {
		t.Errorf("Payments not by TID: %v, %v", ps, err)
	}
	ls, err := s.Limits(t.Context())
	if err != nil || len(ls) != 3 || ls[0] != limits[0] || ls[1] != limits[1] || ls[2] != limits[2] {
		t.Errorf("Limits = %+v, %v; want by month, then phone: %+v", ls, err, limits)
	}
}
