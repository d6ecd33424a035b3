package pgstore_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/components/payment/paymenttest"
	"github.com/tunapay/tuna/components/payment/pgstore"
)

func TestStore_Tx_AfterEnd(t *testing.T) {
	paymenttest.CheckTxAfterEnd(t, newStore(t), pgstore.ErrTxDone)
}

func TestStore_View_PutReadOnly(t *testing.T) {
	s := newStore(t)
	mustView(t, s, func(tx payment.Tx) error {
		if err := tx.PutPayment(paymenttest.SamplePayment("tid", paymenttest.Epoch)); !errors.Is(err, pgstore.ErrReadOnly) {
			t.Errorf("PutPayment in a View: err %v, want ErrReadOnly", err)
		}
		return nil
	})
}

// What PostgreSQL text or jsonb cannot hold is refused before anything is
// sent, so the transaction goes on; a read by such a key finds nothing.
func TestStore_Put_Unstorable(t *testing.T) {
	s := newStore(t)
	nulName := paymenttest.SamplePayment("tid-nul", paymenttest.Epoch)
	nulName.ProductName = "a\x00b"
	nulCP := paymenttest.SamplePayment("tid-nul-cp", paymenttest.Epoch)
	nulCP.CPID = "CP\x00X"
	escaped := paymenttest.SamplePayment("tid-escaped", paymenttest.Epoch)
	escaped.ProductName = `\u0000 is six characters here`
	mustUpdate(t, s, func(tx payment.Tx) error {
		for _, tc := range []struct {
			name string
			err  error
			want error
		}{
			{"Payment_NULValue", tx.PutPayment(nulName), pgstore.ErrInvalidValue},
			{"Payment_NULKey", tx.PutPayment(nulCP), pgstore.ErrInvalidKey},
			{"Limit_NULMonth", tx.PutLimit(&payment.Limit{Phone: testPhone, Month: "2026-03\x00"}), pgstore.ErrInvalidKey},
			{"OTP_BadUTF8", tx.PutOTP(&payment.OTP{TID: "tid-\xff"}), pgstore.ErrInvalidKey},
			{"Merchant_Nil", tx.PutMerchant(nil), pgstore.ErrInvalidKey},
			{"Payment_NULRead", second(tx.Payment("tid\x00")), payment.ErrNotFound},
			{"PaymentByOrder_NULRead", second(tx.PaymentByOrder("CP\x00X", "order-tid-nul-cp")), payment.ErrNotFound},
			{"Limit_NULRead", second(tx.Limit(testPhone, "2026-03\x00")), pgstore.ErrInvalidKey},
		} {
			if !errors.Is(tc.err, tc.want) {
				t.Errorf("%s: err %v, want %v", tc.name, tc.err, tc.want)
			}
		}
		return tx.PutPayment(escaped)
	})
	ps, err := s.Payments(t.Context())
	if err != nil || len(ps) != 1 || paymenttest.DiffPayment(escaped, &ps[0]) != "" {
		t.Errorf("Payments = %+v, %v; want only %s, as it was", ps, err, escaped.TID)
	}
}

// A limit an Update only read is locked through a placeholder row, which
// is not listed; a zero limit that was put is.
func TestStore_Limit_Placeholder(t *testing.T) {
	s := newStore(t)
	mustUpdate(t, s, func(tx payment.Tx) error {
		l, err := tx.Limit(testPhone, testMonth)
		if err == nil && *l != (payment.Limit{Phone: testPhone, Month: testMonth}) {
			t.Errorf("Limit of a new phone = %+v, want zero", *l)
		}
		return err
	})
	if ls, err := s.Limits(t.Context()); err != nil || len(ls) != 0 {
		t.Errorf("Limits after a read = %+v, %v; want none", ls, err)
	}
	zero := payment.Limit{Phone: testPhone, Month: testMonth}
	mustUpdate(t, s, func(tx payment.Tx) error { return tx.PutLimit(&zero) })
	if ls, err := s.Limits(t.Context()); err != nil || !slices.Equal(ls, []payment.Limit{zero}) {
		t.Errorf("Limits after a Put = %+v, %v; want %+v", ls, err, zero)
	}
}

// PostgreSQL keeps microseconds; the order index keeps the nanoseconds too.
func TestStore_PaymentByOrder_Nanoseconds(t *testing.T) {
	s := newStore(t)
	older := paymenttest.SamplePayment("tid-b", paymenttest.Epoch)
	newer := paymenttest.SamplePayment("tid-a", paymenttest.Epoch.Add(time.Nanosecond))
	older.OrderID, newer.OrderID = "o-1", "o-1"
	for _, order := range [][]*payment.Payment{{older, newer}, {newer, older}} {
		mustUpdate(t, s, func(tx payment.Tx) error {
			return errors.Join(tx.PutPayment(order[0]), tx.PutPayment(order[1]))
		})
		mustView(t, s, func(tx payment.Tx) error {
			if p, err := tx.PaymentByOrder("CP0001", "o-1"); err != nil || p.TID != newer.TID {
				t.Errorf("PaymentByOrder = %v, %v; want %s, created 1ns later", p, err, newer.TID)
			}
			return nil
		})
	}
}

// Listings sort by bytes, whatever the database's collation.
func TestStore_List_ByteOrder(t *testing.T) {
	s := newStore(t)
	ids := []string{"a", "B", "_"}
	want := []string{"B", "_", "a"}
	mustUpdate(t, s, func(tx payment.Tx) error {
		for _, id := range ids {
			p := paymenttest.SamplePayment(id, paymenttest.Epoch)
			p.Status = payment.StatusUnknown
			err := errors.Join(tx.PutPayment(p), tx.PutMerchant(&payment.Merchant{ID: id}),
				tx.PutLimit(&payment.Limit{Phone: id, Month: testMonth}))
			if err != nil {
				return err
			}
		}
		return nil
	})
	ps, _ := s.Payments(t.Context())
	ms, _ := s.Merchants(t.Context())
	ls, _ := s.Limits(t.Context())
	un, _ := s.Unresolved(t.Context())
	var got [4][]string
	for i := range ids {
		got[0], got[1] = append(got[0], ps[i].TID), append(got[1], ms[i].ID)
		got[2] = append(got[2], ls[i].Phone)
	}
	got[3] = un
	for i, what := range []string{"Payments", "Merchants", "Limits", "Unresolved"} {
		if !slices.Equal(got[i], want) {
			t.Errorf("%s in order %q, want %q", what, got[i], want)
		}
	}
}

// Two Updates that lock two limits in opposite orders deadlock; PostgreSQL
// aborts one, which runs again and passes.
func TestStore_Update_RetriesDeadlock(t *testing.T) {
	s := newStore(t)
	var calls atomic.Int32
	var bothLocked sync.WaitGroup
	bothLocked.Add(2)
	cross := func(first, then string) func(payment.Tx) error {
		var once sync.Once
		return func(tx payment.Tx) error {
			calls.Add(1)
			a, err := tx.Limit(first, testMonth)
			if err != nil {
				return err
			}
			once.Do(func() { bothLocked.Done(); bothLocked.Wait() })
			b, err := tx.Limit(then, testMonth)
			if err != nil {
				return err
			}
			a.Used++
			b.Used++
			return errors.Join(tx.PutLimit(a), tx.PutLimit(b))
		}
	}
	var wg sync.WaitGroup
	for _, pair := range [][2]string{{"01011111111", "01022222222"}, {"01022222222", "01011111111"}} {
		wg.Go(func() {
			if err := s.Update(context.Background(), cross(pair[0], pair[1])); err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
	wg.Wait()
	if calls.Load() < 3 {
		t.Errorf("fn ran %d times; want a retry of the deadlock's loser", calls.Load())
	}
	ls, err := s.Limits(t.Context())
	if err != nil || len(ls) != 2 || ls[0].Used != 2 || ls[1].Used != 2 {
		t.Errorf("Limits = %+v, %v; want both used twice", ls, err)
	}
}

// An Update waiting for a lock gives up when its context does.
func TestStore_Update_ContextWhileWaiting(t *testing.T) {
	s := newStore(t)
	locked, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.Update(context.Background(), func(tx payment.Tx) error {
			_, err := tx.Limit(testPhone, testMonth)
			close(locked)
			<-release
			return err
		})
	}()
	defer close(release)
	<-locked
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Update(ctx, func(tx payment.Tx) error {
		_, err := tx.Limit(testPhone, testMonth)
		return err
	})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("Update waiting on a held row: err %v after %s; want DeadlineExceeded soon after 100ms", err, time.Since(start))
	}
}

// A write of a key another Update read as missing waits for that Update:
// the reader's check holds until it commits, as with a single writer.
// Writes the read cannot see do not wait.
func TestStore_Update_LocksWhatIsMissing(t *testing.T) {
	older := paymenttest.SamplePayment("tid-older", paymenttest.Epoch)
	older.OrderID = "o-1"
	put := func(rows ...any) func(payment.Tx) error {
		return func(tx payment.Tx) error { return putRows(tx, rows...) }
	}
	orderPayment := func(tid, order string, created time.Time) *payment.Payment {
		p := paymenttest.SamplePayment(tid, created)
		p.OrderID = order
		return p
	}
	later := paymenttest.Epoch.Add(time.Hour)
	for _, tc := range []struct {
		name  string
		seed  []any
		read  func(payment.Tx) error
		write func(payment.Tx) error
		wait  bool
	}{
		{"Payment", nil, wantMissing(func(tx payment.Tx) error { return second(tx.Payment("tid-x")) }),
			put(paymenttest.SamplePayment("tid-x", paymenttest.Epoch)), true},
		{"OTP", nil, wantMissing(func(tx payment.Tx) error { return second(tx.OTP("tid-x")) }),
			put(paymenttest.SampleOTP("tid-x", paymenttest.Epoch)), true},
		{"Merchant", nil, wantMissing(func(tx payment.Tx) error { return second(tx.Merchant("CP-x")) }),
			put(&payment.Merchant{ID: "CP-x"}), true},
		{"Limit", nil, func(tx payment.Tx) error { return second(tx.Limit(testPhone, testMonth)) },
			put(&payment.Limit{Phone: testPhone, Month: testMonth, Used: 1}), true},
		{"PaymentByOrder_Missing", nil, wantMissing(func(tx payment.Tx) error { return second(tx.PaymentByOrder("CP0001", "o-1")) }),
			put(orderPayment("tid-x", "o-1", later)), true},
		{"PaymentByOrder_Newer", []any{older}, func(tx payment.Tx) error { return second(tx.PaymentByOrder("CP0001", "o-1")) },
			put(orderPayment("tid-x", "o-1", later)), true},
		{"PaymentByOrder_OtherOrder", nil, wantMissing(func(tx payment.Tx) error { return second(tx.PaymentByOrder("CP0001", "o-1")) }),
			put(orderPayment("tid-x", "o-2", later)), false},
		{"OTP_OtherTID", nil, wantMissing(func(tx payment.Tx) error { return second(tx.OTP("tid-x")) }),
			put(paymenttest.SampleOTP("tid-y", paymenttest.Epoch)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newStore(t)
			if tc.seed != nil {
				mustUpdate(t, s, put(tc.seed...))
			}
			readerEnd, writerEnd := readThenWrite(t, s, tc.read, tc.write)
			if waited := !writerEnd.Before(readerEnd); waited != tc.wait {
				t.Errorf("the write waited for the reader: %v, want %v", waited, tc.wait)
			}
		})
	}
}

// readThenWrite runs read in an Update that stays open a while, and write
// in another once read has run; it returns when each fn ended.
func readThenWrite(t *testing.T, s *pgstore.Store, read, write func(payment.Tx) error) (readerEnd, writerEnd time.Time) {
	t.Helper()
	hasRead := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		var once sync.Once
		err := s.Update(context.Background(), func(tx payment.Tx) error {
			err := read(tx)
			once.Do(func() { close(hasRead) })
			time.Sleep(250 * time.Millisecond)
			readerEnd = time.Now()
			return err
		})
		if err != nil {
			t.Errorf("reader: %v", err)
		}
	}()
	<-hasRead
	mustUpdate(t, s, write)
	writerEnd = time.Now()
	<-readerDone
	return readerEnd, writerEnd
}

func wantMissing(read func(payment.Tx) error) func(payment.Tx) error {
	return func(tx payment.Tx) error {
		if err := read(tx); !errors.Is(err, payment.ErrNotFound) {
			return errors.Join(errors.New("want ErrNotFound"), err)
		}
		return nil
	}
}

func putRows(tx payment.Tx, rows ...any) error {
	var errs []error
	for _, r := range rows {
		switch r := r.(type) {
		case *payment.Payment:
			errs = append(errs, tx.PutPayment(r))
		case *payment.Limit:
			errs = append(errs, tx.PutLimit(r))
		case *payment.Merchant:
			errs = append(errs, tx.PutMerchant(r))
		case *payment.OTP:
			errs = append(errs, tx.PutOTP(r))
		}
	}
	return errors.Join(errs...)
}

// A payment written back with its order unchanged takes no order lock, so
// it cannot deadlock with a Register of the same order id, which holds the
// order and waits for the payment's row.
func TestStore_Update_WriteBackTakesNoOrderLock(t *testing.T) {
	s := newStore(t)
	p := paymenttest.SamplePayment("tid-1", paymenttest.Epoch)
	p.Status = payment.StatusUnknown
	mustUpdate(t, s, func(tx payment.Tx) error { return tx.PutPayment(p) })
	var calls atomic.Int32
	rowLocked, orderLocked := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // settle
		var once sync.Once
		err := s.Update(context.Background(), func(tx payment.Tx) error {
			calls.Add(1)
			p, err := tx.Payment("tid-1")
			if err != nil {
				return err
			}
			once.Do(func() { close(rowLocked); <-orderLocked })
			p.Status = payment.StatusPaid
			return tx.PutPayment(p)
		})
		if err != nil {
			t.Errorf("settle: %v", err)
		}
	})
	<-rowLocked
	wg.Go(func() { // register: its lock on the order is taken before it waits for the row
		err := s.Update(context.Background(), func(tx payment.Tx) error {
			calls.Add(1)
			p, err := tx.PaymentByOrder("CP0001", "order-tid-1")
			if err == nil && p.Status != payment.StatusPaid {
				t.Errorf("register read status %s, want the settled PAID", p.Status)
			}
			return err
		})
		if err != nil {
			t.Errorf("register: %v", err)
		}
	})
	time.Sleep(100 * time.Millisecond) // register holds the order lock by now
	close(orderLocked)
	wg.Wait()
	if calls.Load() != 2 {
		t.Errorf("fn ran %d times, want 2: no deadlock, no retry", calls.Load())
	}
}
