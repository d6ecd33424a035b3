package paymenttest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

func roundTripEvents() []*payment.Event {
	delivered := SampleEvent("msg_delivered", Epoch)
	delivered.Status, delivered.DeliveredAt, delivered.LastError = payment.EventDelivered, Epoch.Add(time.Second), ""
	failed := SampleEvent("msg_failed", time.Now()) // with a monotonic reading
	failed.Status, failed.Attempts, failed.LastError = payment.EventFailed, 9, "dial tcp: connection refused"
	binary := SampleEvent("msg_binary", Epoch)
	binary.Body = []byte("\x00\xff not JSON, \"kept\" as it is \\u0000")
	return []*payment.Event{SampleEvent("msg_full", Epoch), delivered, failed, binary, {ID: "msg_minimal"}}
}

func testEventRoundTrip(t *testing.T, s payment.Store) {
	for _, e := range roundTripEvents() {
		t.Run(e.ID, func(t *testing.T) {
			mustUpdate(t, s, func(tx payment.Tx) error {
				if err := tx.PutEvent(e); err != nil {
					return err
				}
				got, err := tx.Event(e.ID)
				if d := DiffEvent(e, got); err == nil && d != "" {
					t.Errorf("Event in the same Update: %s", d)
				}
				return err
			})
			if d := DiffEvent(e, readEvent(t, s, e.ID)); d != "" {
				t.Fatalf("Event after Update: %s", d)
			}
		})
	}
}

func readEvent(t *testing.T, s payment.Store, id string) *payment.Event {
	t.Helper()
	var e *payment.Event
	mustView(t, s, func(tx payment.Tx) (err error) {
		e, err = tx.Event(id)
		return err
	})
	return e
}

// An event written in an Update that fails is gone: from Event, the due
// list and the listing alike. It is the outbox's half of "the event is
// written with the status change, or not at all".
func testEventRollback(t *testing.T, s payment.Store) {
	p := SamplePayment("tid-rollback", Epoch)
	err := s.Update(t.Context(), func(tx payment.Tx) error {
		if err := putAll(tx, p, SampleEvent("msg_rolled_back", Epoch)); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Update: err %v, want fn's error", err)
	}
	err = s.View(t.Context(), func(tx payment.Tx) error { return second(tx.Event("msg_rolled_back")) })
	if !errors.Is(err, payment.ErrNotFound) {
		t.Errorf("Event after a rolled-back Update: err %v, want ErrNotFound", err)
	}
	assertEmpty(t, s)
}

// dueAt is a PENDING event due at Epoch plus d.
func dueAt(id string, d time.Duration) *payment.Event {
	e := SampleEvent(id, Epoch)
	e.NextAt = Epoch.Add(d)
	return e
}

func testDueEventsOrder(t *testing.T, s payment.Store) {
	delivered, failed := dueAt("msg_delivered", -time.Hour), dueAt("msg_failed", -time.Hour)
	delivered.Status, failed.Status = payment.EventDelivered, payment.EventFailed
	zero := dueAt("msg_zero", 0)
	zero.NextAt = time.Time{}
	// Stored out of order; b and c are due at the same instant, d one
	// nanosecond after now, and zero at the zero time.
	seed(t, s, dueAt("msg_c", 0), dueAt("msg_later", time.Hour), dueAt("msg_a", -2*time.Second),
		dueAt("msg_d", time.Nanosecond), delivered, dueAt("msg_b", 0), failed, zero)
	for _, tc := range []struct {
		now   time.Time
		limit int
		want  []string
	}{
		{Epoch, 0, []string{"msg_zero", "msg_a", "msg_b", "msg_c"}},
		{Epoch, 2, []string{"msg_zero", "msg_a"}},
		{Epoch.Add(time.Nanosecond), 10, []string{"msg_zero", "msg_a", "msg_b", "msg_c", "msg_d"}},
		{Epoch.Add(time.Hour), 0, []string{"msg_zero", "msg_a", "msg_b", "msg_c", "msg_d", "msg_later"}},
		{time.Time{}.Add(-time.Second), 0, nil},
	} {
		got, err := s.DueEvents(t.Context(), tc.now, tc.limit)
		if err != nil {
			t.Fatalf("DueEvents: %v", err)
		}
		if !slices.Equal(eventIDs(got), tc.want) || got == nil {
			t.Errorf("DueEvents(%v, %d) = %v, want %v (non-nil)", tc.now, tc.limit, eventIDs(got), tc.want)
		}
	}
	got, _ := s.DueEvents(t.Context(), Epoch, 1)
	if len(got) != 1 || DiffEvent(zero, &got[0]) != "" {
		t.Errorf("DueEvents returned %+v, want msg_zero whole", got)
	}
}

func eventIDs(events []payment.Event) []string {
	var ids []string
	for _, e := range events {
		ids = append(ids, e.ID)
	}
	return ids
}

// Moving an event's NextAt, or ending it, moves or drops its due entry:
// an event is never listed twice, nor once it is no longer PENDING.
func testDueEventsIndex(t *testing.T, s payment.Store) {
	seed(t, s, dueAt("msg_a", 0), dueAt("msg_b", time.Second), dueAt("msg_c", 2*time.Second))
	change := func(id string, fn func(e *payment.Event)) {
		mustUpdate(t, s, func(tx payment.Tx) error {
			e, err := tx.Event(id)
			if err != nil {
				return err
			}
			fn(e)
			return tx.PutEvent(e)
		})
	}
	change("msg_a", func(e *payment.Event) { e.NextAt = Epoch.Add(3 * time.Second) })
	change("msg_b", func(e *payment.Event) { e.Status = payment.EventDelivered })
	change("msg_c", func(e *payment.Event) { e.Status = payment.EventFailed })
	change("msg_c", func(e *payment.Event) { e.Status, e.NextAt = payment.EventPending, Epoch })
	got, err := s.DueEvents(t.Context(), Epoch.Add(time.Hour), 0)
	if err != nil || !slices.Equal(eventIDs(got), []string{"msg_c", "msg_a"}) {
		t.Fatalf("DueEvents = %v, %v; want [msg_c msg_a]", eventIDs(got), err)
	}
}

func testEventsFilter(t *testing.T, s payment.Store) {
	at := func(id, cp, tid string, d time.Duration, status payment.EventStatus) *payment.Event {
		e := SampleEvent(id, Epoch.Add(d))
		e.CPID, e.TID, e.Status = cp, tid, status
		return e
	}
	seed(t, s, at("msg_2", "CP1", "tid-x", 2*time.Second, payment.EventDelivered),
		at("msg_1", "CP1", "tid-x", time.Second, payment.EventPending),
		at("msg_4", "CP2", "tid-y", 3*time.Second, payment.EventFailed),
		at("msg_3", "CP2", "tid-z", 3*time.Second, payment.EventPending), // same time as msg_4: by ID
		at("msg_5", "CP1", "tid-w", time.Nanosecond, payment.EventPending))
	for _, tc := range []struct {
		f    payment.EventFilter
		want []string
	}{
		{payment.EventFilter{}, []string{"msg_4", "msg_3", "msg_2", "msg_1", "msg_5"}},
		{payment.EventFilter{Limit: 2}, []string{"msg_4", "msg_3"}},
		{payment.EventFilter{Status: payment.EventPending}, []string{"msg_3", "msg_1", "msg_5"}},
		{payment.EventFilter{CPID: "CP1"}, []string{"msg_2", "msg_1", "msg_5"}},
		{payment.EventFilter{TID: "tid-x"}, []string{"msg_2", "msg_1"}},
		{payment.EventFilter{CPID: "CP1", Status: payment.EventPending, Limit: 1}, []string{"msg_1"}},
		{payment.EventFilter{CPID: "CP2", TID: "tid-x"}, nil},
		{payment.EventFilter{TID: "tid\x00"}, nil},
	} {
		got, err := s.Events(t.Context(), tc.f)
		if err != nil {
			t.Fatalf("Events(%+v): %v", tc.f, err)
		}
		if !slices.Equal(eventIDs(got), tc.want) || got == nil {
			t.Errorf("Events(%+v) = %v, want %v (non-nil)", tc.f, eventIDs(got), tc.want)
		}
	}
}

// errClaimed refuses a claim of an event another sender has.
var errClaimed = errors.New("paymenttest: claimed by another sender")

// 20 senders claim one due event at once, as the dispatchers do: exactly
// one gets it. A store whose Event does not lock in an Update lets two
// senders send the same attempt.
func testConcurrentEventClaim(t *testing.T, s payment.Store) {
	seed(t, s, dueAt("msg_claim", 0))
	const senders = 20
	var won, lost atomic.Int32
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			switch err := s.Update(t.Context(), claim("msg_claim", i)); {
			case err == nil:
				won.Add(1)
			case errors.Is(err, errClaimed):
				lost.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	e := readEvent(t, s, "msg_claim")
	if won.Load() != 1 || lost.Load() != senders-1 || e.Attempts != 3 {
		t.Fatalf("%d claims won, %d lost, %d attempts; want 1, %d, 3", won.Load(), lost.Load(), e.Attempts, senders-1)
	}
	if due, err := s.DueEvents(t.Context(), Epoch, 0); err != nil || len(due) != 0 {
		t.Fatalf("DueEvents after the claim = %v, %v; want none", eventIDs(due), err)
	}
}

// claim moves the event's NextAt past Epoch if it is due at Epoch.
func claim(id string, sender int) func(payment.Tx) error {
	return func(tx payment.Tx) error {
		e, err := tx.Event(id)
		if err != nil {
			return err
		}
		if e.NextAt.After(Epoch) {
			return errClaimed
		}
		e.NextAt, e.LastError = Epoch.Add(time.Minute), fmt.Sprint("claimed by ", sender)
		e.Attempts++
		return tx.PutEvent(e)
	}
}
