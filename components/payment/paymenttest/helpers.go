package paymenttest

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/tunapay/tuna/components/payment"
)

// errAbort is what the suite's functions return to abort an Update.
var errAbort = errors.New("paymenttest: abort")

func mustUpdate(t *testing.T, s payment.Store, fn func(payment.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustView(t *testing.T, s payment.Store, fn func(payment.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

// seed stores rows in one Update: payments, limits, merchants, OTPs and
// events.
func seed(t *testing.T, s payment.Store, rows ...any) {
	t.Helper()
	mustUpdate(t, s, func(tx payment.Tx) error { return putAll(tx, rows...) })
}

func putAll(tx payment.Tx, rows ...any) error {
	for _, r := range rows {
		var err error
		switch r := r.(type) {
		case *payment.Payment:
			err = tx.PutPayment(r)
		case *payment.Limit:
			err = tx.PutLimit(r)
		case *payment.Merchant:
			err = tx.PutMerchant(r)
		case *payment.OTP:
			err = tx.PutOTP(r)
		case *payment.Event:
			err = tx.PutEvent(r)
		default:
			panic(fmt.Sprintf("paymenttest: cannot put a %T", r))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readPayment reads tid in a View.
func readPayment(t *testing.T, s payment.Store, tid string) *payment.Payment {
	t.Helper()
	var p *payment.Payment
	mustView(t, s, func(tx payment.Tx) (err error) {
		p, err = tx.Payment(tid)
		return err
	})
	return p
}

func readLimit(t *testing.T, s payment.Store, phone, month string) *payment.Limit {
	t.Helper()
	var l *payment.Limit
	mustView(t, s, func(tx payment.Tx) (err error) {
		l, err = tx.Limit(phone, month)
		return err
	})
	return l
}

func unresolved(t *testing.T, s payment.Store) []string {
	t.Helper()
	tids, err := s.Unresolved(t.Context())
	if err != nil {
		t.Fatalf("Unresolved: %v", err)
	}
	return slices.Sorted(slices.Values(tids))
}

func orderTID(tx payment.Tx, cpID, orderID string) (string, error) {
	p, err := tx.PaymentByOrder(cpID, orderID)
	if err != nil {
		return "", err
	}
	return p.TID, nil
}
