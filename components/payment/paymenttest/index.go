package paymenttest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

// orderPayment is a payment of cp's order created at created.
func orderPayment(tid, cp, order string, created time.Time) *payment.Payment {
	p := SamplePayment(tid, created)
	p.CPID, p.OrderID = cp, order
	return p
}

// wantOrder fails unless PaymentByOrder(cp, order) is the payment wantTID
// ("" for ErrNotFound).
func wantOrder(t *testing.T, s payment.Store, cp, order, wantTID, when string) {
	t.Helper()
	var tid string
	var err error
	mustView(t, s, func(tx payment.Tx) error { tid, err = orderTID(tx, cp, order); return nil })
	switch {
	case wantTID == "" && !errors.Is(err, payment.ErrNotFound):
		t.Errorf("%s: PaymentByOrder(%q, %q) = %q, %v; want ErrNotFound", when, cp, order, tid, err)
	case wantTID != "" && (err != nil || tid != wantTID):
		t.Errorf("%s: PaymentByOrder(%q, %q) = %q, %v; want %s", when, cp, order, tid, err, wantTID)
	}
}

// The latest payment of an order is the one created last: writing back an
// older one (recovery resolving it) must not take the order back.
func testPaymentByOrderLatest(t *testing.T, s payment.Store) {
	first := orderPayment("tid-first", "CP0001", "o-1", Epoch)
	second := orderPayment("tid-second", "CP0001", "o-1", Epoch.Add(time.Minute))
	seed(t, s, first)
	wantOrder(t, s, "CP0001", "o-1", "tid-first", "one payment")
	seed(t, s, second)
	wantOrder(t, s, "CP0001", "o-1", "tid-second", "a newer payment")
	first.Status = payment.StatusFailed
	seed(t, s, first)
	wantOrder(t, s, "CP0001", "o-1", "tid-second", "the older payment written back")
	third := orderPayment("tid-third", "CP0001", "o-1", Epoch.Add(time.Hour))
	seed(t, s, third)
	wantOrder(t, s, "CP0001", "o-1", "tid-third", "a third payment")
	noOrder := orderPayment("tid-no-order", "CP0001", "", Epoch.Add(2*time.Hour))
	seed(t, s, noOrder)
	wantOrder(t, s, "CP0001", "o-1", "tid-third", "a payment without an order id")
	wantOrder(t, s, "CP0001", "", "", "empty order id")
}

// Order ids are the merchant's own: the same id at two merchants, or ids
// that would collide if cp and order were simply concatenated, are apart.
func testPaymentByOrderMerchants(t *testing.T, s payment.Store) {
	rows := []*payment.Payment{
		orderPayment("tid-cp1", "CP1", "o-1", Epoch),
		orderPayment("tid-cp2", "CP2", "o-1", Epoch),
		orderPayment("tid-cp1-2x", "CP1", "2x", Epoch),
		orderPayment("tid-cp12-x", "CP12", "x", Epoch),
	}
	seed(t, s, rows[0], rows[1], rows[2], rows[3])
	for _, p := range rows {
		wantOrder(t, s, p.CPID, p.OrderID, p.TID, "merchants apart")
	}
	wantOrder(t, s, "CP3", "o-1", "", "another merchant")
	wantOrder(t, s, "CP", "12x", "", "a concatenation")
}

// A payment written again with another order id leaves its old order,
// whether it was read first in that transaction, written twice in it, or
// written in an earlier one.
func testPaymentByOrderMoves(t *testing.T, s payment.Store) {
	seed(t, s, orderPayment("tid-move", "CP0001", "o-1", Epoch))
	mustUpdate(t, s, func(tx payment.Tx) error {
		p, err := tx.Payment("tid-move")
		if err != nil {
			return err
		}
		p.OrderID = "o-2"
		if err := tx.PutPayment(p); err != nil {
			return err
		}
		p.OrderID = "o-3" // written twice in one transaction
		return tx.PutPayment(p)
	})
	wantOrder(t, s, "CP0001", "o-1", "", "read, then moved twice")
	wantOrder(t, s, "CP0001", "o-2", "", "the order between")
	wantOrder(t, s, "CP0001", "o-3", "tid-move", "the last order")
	seed(t, s, orderPayment("tid-move", "CP0001", "o-4", Epoch)) // written without a read
	wantOrder(t, s, "CP0001", "o-3", "", "moved without a read")
	wantOrder(t, s, "CP0001", "o-4", "tid-move", "the new order")
	seed(t, s, orderPayment("tid-move", "CP0001", "", Epoch))
	wantOrder(t, s, "CP0001", "o-4", "", "its order id removed")
}

func testUnresolvedIndex(t *testing.T, s payment.Store) {
	paid := SamplePayment("tid-paid", Epoch)
	unknown := SamplePayment("tid-unknown", Epoch)
	unknown.Status = payment.StatusUnknown
	pending := SamplePayment("tid-pending", Epoch)
	pending.Cancels[1].Status, pending.Cancels[1].FailCode = payment.CancelPending, ""
	failed := SamplePayment("tid-failed", Epoch)
	failed.Status, failed.Cancels = payment.StatusFailed, nil
	seed(t, s, paid, unknown, pending, failed)
	wantUnresolved(t, s, "seeded", "tid-pending", "tid-unknown")

	unknown.Status = payment.StatusPaid
	seed(t, s, unknown)
	wantUnresolved(t, s, "UNKNOWN resolved", "tid-pending")
	paid.Cancels = append(paid.Cancels, payment.Cancel{ID: "c-new", Amount: 100, Status: payment.CancelPending})
	seed(t, s, paid)
	wantUnresolved(t, s, "cancel sent", "tid-paid", "tid-pending")
	pending.Cancels[1].Status = payment.CancelDone
	paid.Cancels[len(paid.Cancels)-1].Status = payment.CancelFailed
	seed(t, s, pending, paid)
	wantUnresolved(t, s, "cancels resolved")
}

func wantUnresolved(t *testing.T, s payment.Store, when string, want ...string) {
	t.Helper()
	got := unresolved(t, s)
	if !slices.Equal(got, want) {
		t.Errorf("%s: Unresolved = %v, want %v", when, got, want)
	}
}
