package sim

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

func TestSimulator_Charge_TestNumbers(t *testing.T) {
	tests := []struct {
		name   string
		phone  string
		amount int64
		want   error               // Charge's answer, also on a repeat
		state  payment.ChargeState // Inquire once UnknownFor has passed
		status string
	}{
		{"normal", "01012345678", 1000, nil, payment.ChargeState{Charged: true, Amount: 1000}, StatusCharged},
		{"declined 004", PhoneDeclined, 1000, payment.ErrDeclined, payment.ChargeState{}, StatusDeclined},
		{"charged, unknown 005", PhoneChargedUnknown, 1000, payment.ErrCarrierUnknown, payment.ChargeState{Charged: true, Amount: 1000}, StatusCharged},
		{"not charged, unknown 006", PhoneNotChargedUnknown, 1000, payment.ErrCarrierUnknown, payment.ChargeState{}, StatusNotCharged},
		{"prepaid 008 charges", PhonePrepaid, 1000, nil, payment.ChargeState{Charged: true, Amount: 1000}, StatusCharged},
		{"identity test number charges", PhoneIdentityMismatch, 500, nil, payment.ChargeState{Charged: true, Amount: 500}, StatusCharged},
		{"zero amount", "01012345678", 0, payment.ErrDeclined, payment.ChargeState{}, StatusDeclined},
		{"negative amount", "01012345678", -5, payment.ErrDeclined, payment.ChargeState{}, StatusDeclined},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := newSim(t, nil)
			ctx := context.Background()
			for i := range 2 {
				if err := s.Charge(ctx, "T1", tt.phone, tt.amount); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
					t.Fatalf("Charge #%d = %v, want %v", i+1, err, tt.want)
				}
			}
			c.Advance(DefaultUnknownFor)
			st, err := s.Inquire(ctx, "T1")
			if err != nil || st != tt.state {
				t.Fatalf("Inquire = %+v, %v; want %+v", st, err, tt.state)
			}
			e := entry(t, s, "T1")
			if e.Status != tt.status || e.Phone != tt.phone || e.Amount != tt.amount || len(statement(t, s)) != 1 {
				t.Fatalf("statement %+v, want status %s", statement(t, s), tt.status)
			}
		})
	}
}

func TestSimulator_Charge_Idempotent(t *testing.T) {
	s, c := newSim(t, nil)
	ctx := context.Background()
	if err := s.Charge(ctx, "T1", "01012345678", 1000); err != nil {
		t.Fatal(err)
	}
	first := entry(t, s, "T1")
	c.Advance(time.Hour)
	if err := s.Charge(ctx, "T1", "01012345678", 1000); err != nil {
		t.Fatalf("repeat: %v", err)
	}
	for _, tt := range []struct {
		phone  string
		amount int64
	}{{"01012345678", 2000}, {"01087654321", 1000}} {
		if err := s.Charge(ctx, "T1", tt.phone, tt.amount); !errors.Is(err, ErrConflict) {
			t.Errorf("repeat with %s/%d: %v, want ErrConflict", tt.phone, tt.amount, err)
		}
	}
	if got := statement(t, s); len(got) != 1 || got[0].ChargedAt != first.ChargedAt || got[0].Amount != 1000 {
		t.Fatalf("statement after repeats: %+v", got)
	}
	if err := s.Charge(ctx, "", "01012345678", 1000); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty TID: %v", err)
	}
}

func TestSimulator_Charge_ConcurrentOnce(t *testing.T) {
	// The clock ticks on every reading, so a second charge would show in
	// ChargedAt even if it replaced the first.
	c := newClock()
	start := c.Now()
	tick := func() time.Time { c.Advance(time.Second); return c.Now() }
	path := filepath.Join(t.TempDir(), "carrier.db")
	s, _ := newSim(t, &Options{Path: path, Now: tick})
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() { errs[i] = s.Charge(context.Background(), "T1", "01012345678", 1000) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("charge %d: %v", i, err)
		}
	}
	st := statement(t, s)
	if len(st) != 1 || st[0].Amount != 1000 || st[0].Status != StatusCharged || !st[0].ChargedAt.Equal(start.Add(time.Second)) {
		t.Fatalf("statement %+v, want one charge of 1000 at %s", st, start.Add(time.Second))
	}
	if got := crashCopy(t, path); !reflect.DeepEqual(got, st) {
		t.Fatalf("the file holds %+v", got)
	}
}

func TestSimulator_Inquire_UnknownWindow(t *testing.T) {
	tests := []struct {
		unknownFor time.Duration
		window     time.Duration
	}{{0, DefaultUnknownFor}, {5 * time.Second, 5 * time.Second}, {-1, 0}}
	for _, tt := range tests {
		for _, phone := range []string{PhoneChargedUnknown, PhoneNotChargedUnknown} {
			t.Run(fmt.Sprintf("%s/%s", tt.unknownFor, phone), func(t *testing.T) {
				s, c := newSim(t, &Options{UnknownFor: tt.unknownFor})
				ctx := context.Background()
				_ = s.Charge(ctx, "T1", phone, 1000)
				if err := s.Charge(ctx, "T2", "01012345678", 1000); err != nil {
					t.Fatal(err)
				}
				if tt.window > 0 {
					c.Advance(tt.window - time.Nanosecond)
					if _, err := s.Inquire(ctx, "T1"); !errors.Is(err, payment.ErrCarrierUnknown) {
						t.Fatalf("Inquire inside the window: %v", err)
					}
					c.Advance(time.Nanosecond)
				}
				st, err := s.Inquire(ctx, "T1")
				if err != nil || st.Charged != (phone == PhoneChargedUnknown) {
					t.Fatalf("Inquire after the window = %+v, %v", st, err)
				}
			})
		}
	}
}

func TestSimulator_Inquire(t *testing.T) {
	s, _ := newSim(t, nil)
	ctx := context.Background()
	if st, err := s.Inquire(ctx, "never"); err != nil || st != (payment.ChargeState{}) {
		t.Fatalf("Inquire of a TID never seen = %+v, %v", st, err)
	}
	// Other TIDs answer at once while a 005 TID is unknown.
	_ = s.Charge(ctx, "T5", PhoneChargedUnknown, 1000)
	if err := s.Charge(ctx, "T1", "01012345678", 3000); err != nil {
		t.Fatal(err)
	}
	if err := s.Cancel(ctx, "T1", "C1", 1000); err != nil {
		t.Fatal(err)
	}
	if err := s.Refund(ctx, "T1", "R1", 500); err != nil {
		t.Fatal(err)
	}
	want := payment.ChargeState{Charged: true, Amount: 3000, Cancelled: 1000, Refunded: 500}
	if st, err := s.Inquire(ctx, "T1"); err != nil || st != want {
		t.Fatalf("Inquire = %+v, %v; want %+v", st, err, want)
	}
}

func TestSimulator_Statement_SortedByTID(t *testing.T) {
	s, _ := newSim(t, nil)
	ctx := context.Background()
	for _, tid := range []string{"T3", "T1", "T2"} {
		_ = s.Charge(ctx, tid, "01012345678", 100)
	}
	_ = s.Charge(ctx, "T0", PhoneDeclined, 100)
	var tids []string
	for _, e := range statement(t, s) {
		tids = append(tids, e.TID)
	}
	if fmt.Sprint(tids) != "[T0 T1 T2 T3]" {
		t.Fatalf("statement TIDs %v", tids)
	}
	// The statement is a copy.
	st := statement(t, s)
	st[1].Amount = 7
	if entry(t, s, "T1").Amount != 100 {
		t.Fatal("changing a statement changed the books")
	}
}
