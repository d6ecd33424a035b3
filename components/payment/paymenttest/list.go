package paymenttest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

// state is everything a store lists. Payments and limits are sorted here:
// the contract promises an order only for merchants.
type state struct {
	payments   []payment.Payment
	limits     []payment.Limit
	merchants  []payment.Merchant
	unresolved []string
	events     []payment.Event // newest first, as Events lists them
	due        []string        // the IDs DueEvents lists at farFuture
}

// farFuture is when every PENDING event is due.
var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func snapshot(t *testing.T, s payment.Store) state {
	t.Helper()
	var st state
	var errs [5]error
	var due []payment.Event
	st.payments, errs[0] = s.Payments(t.Context())
	st.limits, errs[1] = s.Limits(t.Context())
	st.merchants, errs[2] = s.Merchants(t.Context())
	st.events, errs[3] = s.Events(t.Context(), payment.EventFilter{})
	due, errs[4] = s.DueEvents(t.Context(), farFuture, 0)
	for _, err := range errs {
		if err != nil {
			t.Fatalf("listing: %v", err)
		}
	}
	st.unresolved = unresolved(t, s)
	st.due = eventIDs(due)
	slices.SortFunc(st.payments, func(a, b payment.Payment) int { return cmp.Compare(a.TID, b.TID) })
	slices.SortFunc(st.limits, compareLimits)
	return st
}

func compareLimits(a, b payment.Limit) int {
	return cmp.Or(cmp.Compare(a.Month, b.Month), cmp.Compare(a.Phone, b.Phone))
}

// diffState describes the first difference between two states, or "".
func diffState(want, got state) string {
	if d := diffList(want.payments, got.payments, DiffPayment); d != "" {
		return "payments: " + d
	}
	if d := diffList(want.merchants, got.merchants, DiffMerchant); d != "" {
		return "merchants: " + d
	}
	if !slices.Equal(want.limits, got.limits) {
		return fmt.Sprintf("limits %+v, want %+v", got.limits, want.limits)
	}
	if !slices.Equal(want.unresolved, got.unresolved) {
		return fmt.Sprintf("unresolved %v, want %v", got.unresolved, want.unresolved)
	}
	if d := diffList(want.events, got.events, DiffEvent); d != "" {
		return "events: " + d
	}
	if !slices.Equal(want.due, got.due) {
		return fmt.Sprintf("due events %v, want %v", got.due, want.due)
	}
	return ""
}

func diffList[T any](want, got []T, diff func(w, g *T) string) string {
	if len(want) != len(got) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if d := diff(&want[i], &got[i]); d != "" {
			return fmt.Sprintf("[%d]: %s", i, d)
		}
	}
	return ""
}

func assertEmpty(t *testing.T, s payment.Store) {
	t.Helper()
	if d := diffState(state{}, snapshot(t, s)); d != "" {
		t.Errorf("store not empty: %s", d)
	}
}

func testListEmpty(t *testing.T, s payment.Store) {
	assertEmpty(t, s)
}

func testListAll(t *testing.T, s payment.Store) {
	want := state{
		payments: []payment.Payment{
			*SamplePayment("tid-a", Epoch), *SamplePayment("tid-b", Epoch), *SamplePayment("tid-c", Epoch),
		},
		limits: []payment.Limit{
			{Phone: "01011111111", Month: "2026-02", Used: 3},
			{Phone: "01011111111", Month: "2026-03", Used: 1},
			{Phone: "01022222222", Month: "2026-03", Held: 2},
		},
		merchants: []payment.Merchant{
			*SampleMerchant("CP0001", Epoch), *SampleMerchant("CP0002", Epoch), *SampleMerchant("CP0010", Epoch),
		},
	}
	// Stored out of order, so a listing in insertion order fails.
	seed(t, s, &want.payments[2], &want.payments[0], &want.payments[1],
		&want.limits[2], &want.limits[0], &want.limits[1],
		&want.merchants[1], &want.merchants[2], &want.merchants[0])
	// snapshot leaves merchants in the store's order: by id.
	if d := diffState(want, snapshot(t, s)); d != "" {
		t.Errorf("listings: %s", d)
	}
}
