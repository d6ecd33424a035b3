package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/internal/bolttest"
	bolt "go.etcd.io/bbolt"
)

func TestSimulator_ReopenRestoresBooks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carrier.db")
	c := newClock()
	s, err := New(&Options{Path: path, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_ = s.Charge(ctx, "T1", "01012345678", 1000)
	_ = s.Charge(ctx, "T5", PhoneChargedUnknown, 2000)
	_ = s.Charge(ctx, "T6", PhoneNotChargedUnknown, 3000)
	_ = s.Charge(ctx, "TD", PhoneDeclined, 4000)
	if err := s.Cancel(ctx, "T1", "C1", 200); err != nil {
		t.Fatal(err)
	}
	if err := s.Refund(ctx, "T1", "R1", 100); err != nil {
		t.Fatal(err)
	}
	before := statement(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = New(&Options{Path: path, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if after := statement(t, s); !reflect.DeepEqual(after, before) {
		t.Fatalf("statement after reopen\n%+v\nwant\n%+v", after, before)
	}
	checkIdempotentAfterReopen(t, s)
	if _, err := s.Inquire(ctx, "T5"); !errors.Is(err, payment.ErrCarrierUnknown) {
		t.Fatalf("the 005 window did not survive the reopen: %v", err)
	}
	c.Advance(DefaultUnknownFor)
	if st, err := s.Inquire(ctx, "T5"); err != nil || !st.Charged {
		t.Fatalf("Inquire T5 = %+v, %v", st, err)
	}
}

// checkIdempotentAfterReopen repeats the calls of
// TestSimulator_ReopenRestoresBooks: nothing applies twice.
func checkIdempotentAfterReopen(t *testing.T, s *Simulator) {
	t.Helper()
	ctx := context.Background()
	if err := s.Charge(ctx, "T1", "01012345678", 1000); err != nil {
		t.Fatalf("repeat charge: %v", err)
	}
	if err := s.Charge(ctx, "TD", PhoneDeclined, 4000); !errors.Is(err, payment.ErrDeclined) {
		t.Fatalf("repeat declined charge: %v", err)
	}
	if err := s.Cancel(ctx, "T1", "C1", 200); err != nil {
		t.Fatalf("repeat cancel: %v", err)
	}
	if err := s.Cancel(ctx, "T1", "C1", 300); !errors.Is(err, ErrConflict) {
		t.Fatalf("cancel ID reused after reopen: %v", err)
	}
	if done, err := s.InquireCancel(ctx, "T1", "R1"); err != nil || !done {
		t.Fatalf("InquireCancel R1 = %v, %v", done, err)
	}
	if st, err := s.Inquire(ctx, "T1"); err != nil || st != (payment.ChargeState{Charged: true, Amount: 1000, Cancelled: 200, Refunded: 100}) {
		t.Fatalf("Inquire T1 = %+v, %v", st, err)
	}
}

// Every change is on disk when the call returns: a copy of the file taken
// then, as a crash would leave it, holds the books so far.
func TestSimulator_DurableBeforeReturn(t *testing.T) {
	dir := t.TempDir()
	s, _ := newSim(t, &Options{Path: filepath.Join(dir, "carrier.db")})
	ctx := context.Background()
	steps := []func() error{
		func() error { return s.Charge(ctx, "T1", "01012345678", 1000) },
		func() error { return s.Cancel(ctx, "T1", "C1", 300) },
		func() error { return s.Refund(ctx, "T1", "R1", 700) },
		func() error { return s.Charge(ctx, "T2", PhoneDeclined, 1000) },
	}
	for i, step := range steps {
		if err := step(); err != nil && !errors.Is(err, payment.ErrDeclined) {
			t.Fatalf("step %d: %v", i, err)
		}
		if got, want := crashCopy(t, filepath.Join(dir, "carrier.db")), statement(t, s); !reflect.DeepEqual(got, want) {
			t.Fatalf("after step %d the file holds\n%+v\nwant\n%+v", i, got, want)
		}
	}
}

// crashCopy opens a copy of the file at path and returns its statement.
func crashCopy(t *testing.T, path string) []Entry {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(cp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(&Options{Path: cp})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return statement(t, s)
}

func TestNew_CorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carrier.db")
	if err := os.WriteFile(path, []byte("not a bbolt file, not at all, not even close to one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(&Options{Path: path}); err == nil {
		t.Fatal("a corrupt file opened")
	}
}

// With a file the books are in it alone: no memory per payment.
func TestSimulator_FileHoldsTheBooks(t *testing.T) {
	s, _ := newSim(t, &Options{Path: filepath.Join(t.TempDir(), "carrier.db")})
	ctx := context.Background()
	for i := range 20 {
		if err := s.Charge(ctx, fmt.Sprint("T", i), "01012345678", 1000); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Cancel(ctx, "T1", "C1", 400); err != nil {
		t.Fatal(err)
	}
	if len(s.charges) != 0 || len(s.cancels) != 0 {
		t.Fatalf("%d charges and %d cancels in memory", len(s.charges), len(s.cancels))
	}
	if st := statement(t, s); len(st) != 20 || st[1].TID != "T1" || st[1].Cancelled != 400 {
		t.Fatalf("statement %+v", st)
	}
	if ok, err := s.InquireCancel(ctx, "T1", "C1"); !ok || err != nil {
		t.Fatalf("InquireCancel: %v %v", ok, err)
	}
}

// A file written before the cancel index existed gets it on open.
func TestSimulator_OldFileGetsCancelIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carrier.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := Entry{TID: "T1", Phone: "01012345678", Amount: 1000, Status: StatusPartiallyCancelled,
		Cancelled: 300, Cancels: []CancelEntry{{ID: "C1", Type: payment.TypeCancel, Amount: 300}}}
	v, _ := json.Marshal(e)
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketCharges)
		if err != nil {
			return err
		}
		return b.Put([]byte("T1"), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	s, _ := newSim(t, &Options{Path: path})
	ctx := context.Background()
	if ok, err := s.InquireCancel(ctx, "T1", "C1"); !ok || err != nil {
		t.Fatalf("InquireCancel after open: %v %v", ok, err)
	}
	if err := s.Cancel(ctx, "T1", "C1", 300); err != nil {
		t.Fatalf("repeating the old cancel: %v", err)
	}
	if err := s.Cancel(ctx, "T2", "C1", 300); !errors.Is(err, ErrConflict) {
		t.Fatalf("its ID on another TID: %v, want a conflict", err)
	}
}

// Charges come in TID order: the charges bucket's pages are filled to 90 %
// when they split, not half full as bbolt's default leaves them.
func TestSimulator_ChargesFill(t *testing.T) {
	s, err := New(&Options{Path: filepath.Join(t.TempDir(), "carrier.db"), Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 1500; i++ {
		if err := s.Charge(context.Background(), fmt.Sprintf("T%06d", i), "01012345678", 1000); err != nil {
			t.Fatal(err)
		}
	}
	bolttest.LeafFill(t, s.db, bucketCharges, 5, 0.75)
}
