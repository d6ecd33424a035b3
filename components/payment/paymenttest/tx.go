package paymenttest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

func testUpdateSeesOwnWrites(t *testing.T, s payment.Store) {
	p := SamplePayment("tid-own", Epoch)
	mustUpdate(t, s, func(tx payment.Tx) error {
		for _, status := range []payment.Status{payment.StatusUnknown, payment.StatusPaid} {
			p.Status = status
			if err := seesPayment(tx, p); err != nil {
				return err
			}
		}
		for _, used := range []int64{5000, 6000} {
			if err := seesLimit(tx, &payment.Limit{Phone: p.Phone, Month: p.BillMonth, Used: used}); err != nil {
				return err
			}
		}
		if err := seesRows(tx, SampleMerchant(p.CPID, Epoch), SampleOTP(p.TID, Epoch)); err != nil {
			return err
		}
		return seesEvent(tx, SampleEvent("msg_own", Epoch))
	})
	if got := unresolved(t, s); len(got) != 0 {
		t.Errorf("Unresolved = %v after the payment was put back PAID, want none", got)
	}
}

// seesPayment puts p and reads it back, by TID and by order.
func seesPayment(tx payment.Tx, p *payment.Payment) error {
	if err := tx.PutPayment(p); err != nil {
		return err
	}
	got, err := tx.Payment(p.TID)
	if err != nil {
		return err
	}
	if d := DiffPayment(p, got); d != "" {
		return fmt.Errorf("Payment after PutPayment %s: %s", p.Status, d)
	}
	if got, err = tx.PaymentByOrder(p.CPID, p.OrderID); err != nil || got.Status != p.Status {
		return fmt.Errorf("PaymentByOrder after PutPayment %s: %+v, %v", p.Status, got, err)
	}
	return nil
}

func seesLimit(tx payment.Tx, l *payment.Limit) error {
	if err := tx.PutLimit(l); err != nil {
		return err
	}
	got, err := tx.Limit(l.Phone, l.Month)
	if err == nil && *got != *l {
		err = fmt.Errorf("Limit after PutLimit = %+v, want %+v", *got, *l)
	}
	return err
}

func seesRows(tx payment.Tx, m *payment.Merchant, o *payment.OTP) error {
	if err := putAll(tx, m, o); err != nil {
		return err
	}
	gm, err := tx.Merchant(m.ID)
	if err != nil {
		return err
	}
	if d := DiffMerchant(m, gm); d != "" {
		return fmt.Errorf("Merchant after PutMerchant: %s", d)
	}
	gotOTP, err := tx.OTP(o.TID)
	if err == nil && DiffOTP(o, gotOTP) != "" {
		err = fmt.Errorf("OTP after PutOTP: %s", DiffOTP(o, gotOTP))
	}
	return err
}

// seesEvent puts e, reads it back, and puts it again delivered.
func seesEvent(tx payment.Tx, e *payment.Event) error {
	for _, status := range []payment.EventStatus{payment.EventPending, payment.EventDelivered} {
		e.Status = status
		if err := tx.PutEvent(e); err != nil {
			return err
		}
		got, err := tx.Event(e.ID)
		if err != nil {
			return err
		}
		if d := DiffEvent(e, got); d != "" {
			return fmt.Errorf("Event after PutEvent %s: %s", status, d)
		}
	}
	return nil
}

// seedRollback stores the rows dirty then changes.
func seedRollback(t *testing.T, s payment.Store) {
	t.Helper()
	seed(t, s, SamplePayment("tid-1", Epoch), SampleMerchant("CP0001", Epoch), SampleOTP("tid-1", Epoch),
		&payment.Limit{Phone: "01012345678", Month: "2026-03", Used: 15000}, SampleEvent("msg_1", Epoch))
}

// dirty changes every kind of row seedRollback stored, adds one of each
// and a payment that would take tid-1's order and be unresolved, and
// delivers the event (taking it out of the due index).
func dirty(tx payment.Tx) error {
	p, err := tx.Payment("tid-1")
	if err != nil {
		return err
	}
	p.Status, p.Amount = payment.StatusUnknown, 1
	newer := SamplePayment("tid-2", Epoch.Add(time.Hour))
	newer.Cancels[1].Status = payment.CancelPending
	l, err := tx.Limit("01012345678", "2026-03")
	if err != nil {
		return err
	}
	l.Used += 1000
	o := SampleOTP("tid-1", Epoch)
	o.Used = true
	m := SampleMerchant("CP0001", Epoch)
	m.Name = "changed"
	e, err := tx.Event("msg_1")
	if err != nil {
		return err
	}
	e.Status, e.NextAt, e.Attempts = payment.EventDelivered, Epoch, 3
	return putAll(tx, p, newer, l, &payment.Limit{Phone: "01099998888", Month: "2026-03", Held: 1},
		o, SampleOTP("tid-2", Epoch), m, SampleMerchant("CP0002", Epoch), e, SampleEvent("msg_2", Epoch))
}

func testUpdateRollback(t *testing.T, s payment.Store) {
	seedRollback(t, s)
	before := snapshot(t, s)
	err := s.Update(t.Context(), func(tx payment.Tx) error {
		if err := dirty(tx); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errAbort)
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Update: err %v, want fn's error", err)
	}
	assertUnchanged(t, s, before)
}

func testUpdatePanic(t *testing.T, s payment.Store) {
	seedRollback(t, s)
	before := snapshot(t, s)
	got := catch(func() {
		_ = s.Update(t.Context(), func(tx payment.Tx) error {
			if err := dirty(tx); err != nil {
				return err
			}
			panic(errAbort)
		})
	})
	if got != errAbort {
		t.Fatalf("recovered %v, want fn's panic to go on", got)
	}
	assertNotLocked(t, s)
	assertUnchanged(t, s, before)
}

func catch(fn func()) (v any) {
	defer func() { v = recover() }()
	fn()
	return nil
}

// assertNotLocked fails if a writer cannot start within 10s.
func assertNotLocked(t *testing.T, s payment.Store) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), func(tx payment.Tx) error {
			_, err := tx.Payment("tid-1")
			return err
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Update after a panic: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Update after a panic still waits after 10s: the store stayed locked")
	}
}

// assertUnchanged fails if s differs from before, its indexes included.
func assertUnchanged(t *testing.T, s payment.Store, before state) {
	t.Helper()
	if d := diffState(before, snapshot(t, s)); d != "" {
		t.Errorf("aborted Update changed the store: %s", d)
	}
	mustView(t, s, func(tx payment.Tx) error {
		if tid, err := orderTID(tx, "CP0001", "order-tid-1"); err != nil || tid != "tid-1" {
			t.Errorf("PaymentByOrder after an aborted Update = %q, %v; want tid-1", tid, err)
		}
		return nil
	})
}

func testUpdateCanceledContext(t *testing.T, s payment.Store) {
	c, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Update(c, func(tx payment.Tx) error { return tx.PutPayment(SamplePayment("tid-late", Epoch)) })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a canceled context: err %v, want context.Canceled", err)
	}
	assertEmpty(t, s)
}

func testViewReadOnly(t *testing.T, s payment.Store) {
	rows := []any{
		SamplePayment("tid-view", Epoch), &payment.Limit{Phone: "01012345678", Month: "2026-03", Used: 1},
		SampleMerchant("CP0001", Epoch), SampleOTP("tid-view", Epoch), SampleEvent("msg_view", Epoch),
	}
	for _, r := range rows {
		if err := s.View(t.Context(), func(tx payment.Tx) error { return putAll(tx, r) }); err == nil {
			t.Errorf("Put of a %T in View succeeded", r)
		}
		_ = s.View(t.Context(), func(tx payment.Tx) error { _ = putAll(tx, r); return nil })
	}
	assertEmpty(t, s)
}
