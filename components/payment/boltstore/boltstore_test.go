package boltstore_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/boltstore"
	"github.com/tunapay/tuna/components/payment/paymenttest"
)

func open(t testing.TB, path string, opts *boltstore.Options) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestStore_Contract(t *testing.T) {
	paymenttest.Run(t, func(t *testing.T) payment.Store {
		return open(t, filepath.Join(t.TempDir(), "payment.db"), nil)
	})
}

func TestStore_Reopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payment.db")
	p := paymenttest.SamplePayment("tid-durable", paymenttest.Epoch)
	p.Status = payment.StatusUnknown
	m := paymenttest.SampleMerchant(p.CPID, paymenttest.Epoch)
	o := paymenttest.SampleOTP(p.TID, paymenttest.Epoch)
	l := &payment.Limit{Phone: p.Phone, Month: p.BillMonth, Used: 15000, Held: 100}
	s := open(t, path, nil)
	mustUpdate(t, s, func(tx payment.Tx) error { return putAll(tx, p, m, o, l) })
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open(t, path, nil)
	mustView(t, s, func(tx payment.Tx) error { return checkRows(t, tx, p, m, o, l) })
	if got, err := s.Unresolved(t.Context()); err != nil || !slices.Equal(got, []string{p.TID}) {
		t.Errorf("Unresolved after reopen = %v, %v; want [%s]", got, err, p.TID)
	}
}

func putAll(tx payment.Tx, p *payment.Payment, m *payment.Merchant, o *payment.OTP, l *payment.Limit) error {
	return errors.Join(tx.PutPayment(p), tx.PutMerchant(m), tx.PutOTP(o), tx.PutLimit(l))
}

func checkRows(t *testing.T, tx payment.Tx, p *payment.Payment, m *payment.Merchant, o *payment.OTP, l *payment.Limit) error {
	gp, err := tx.PaymentByOrder(p.CPID, p.OrderID)
	if err != nil {
		return err
	}
	gm, err := tx.Merchant(m.ID)
	if err != nil {
		return err
	}
	gotOTP, err := tx.OTP(o.TID)
	if err != nil {
		return err
	}
	gl, err := tx.Limit(l.Phone, l.Month)
	if err != nil {
		return err
	}
	for name, d := range map[string]string{
		"payment":  paymenttest.DiffPayment(p, gp),
		"merchant": paymenttest.DiffMerchant(m, gm),
		"otp":      paymenttest.DiffOTP(o, gotOTP),
	} {
		if d != "" {
			t.Errorf("%s after reopen: %s", name, d)
		}
	}
	if *gl != *l {
		t.Errorf("limit after reopen = %+v, want %+v", *gl, *l)
	}
	return nil
}

func mustUpdate(t *testing.T, s *boltstore.Store, fn func(payment.Tx) error) {
	t.Helper()
	if err := s.Update(t.Context(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustView(t *testing.T, s *boltstore.Store, fn func(payment.Tx) error) {
	t.Helper()
	if err := s.View(t.Context(), fn); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func TestStore_Close_ErrClosed(t *testing.T) {
	paymenttest.CheckClosed(t, open(t, filepath.Join(t.TempDir(), "payment.db"), nil), boltstore.ErrClosed)
}

func second[T any](_ T, err error) error { return err }

func TestStore_Open_Locked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payment.db")
	open(t, path, nil)
	const timeout = 100 * time.Millisecond
	start := time.Now()
	s, err := boltstore.Open(path, &boltstore.Options{OpenTimeout: timeout})
	if err == nil {
		_ = s.Close()
		t.Fatal("second Open of a file in use succeeded")
	}
	if !errors.Is(err, boltstore.ErrLocked) {
		t.Errorf("second Open: err %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited > 10*timeout {
		t.Errorf("second Open failed after %s, want about %s", waited, timeout)
	}
}
