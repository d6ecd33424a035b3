package paymenttest

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

// DiffPayment describes how got differs from want, or returns "". Times
// compare with Equal (a store may change their location and drops the
// monotonic reading), and nil and empty slices are the same.
func DiffPayment(want, got *payment.Payment) string {
	if want == nil || got == nil {
		return nilDiff(want == nil, got == nil)
	}
	w, g := normalPayment(want), normalPayment(got)
	if !reflect.DeepEqual(w, g) {
		return fmt.Sprintf("\n got %+v\nwant %+v", g, w)
	}
	return diffTimes(paymentTimes(want), paymentTimes(got))
}

// DiffMerchant is DiffPayment for merchants.
func DiffMerchant(want, got *payment.Merchant) string {
	if want == nil || got == nil {
		return nilDiff(want == nil, got == nil)
	}
	w, g := *want, *got
	w.CreatedAt, g.CreatedAt = time.Time{}, time.Time{}
	w.SecretHash, g.SecretHash = nilIfEmpty(w.SecretHash), nilIfEmpty(g.SecretHash)
	if !reflect.DeepEqual(w, g) {
		return fmt.Sprintf("\n got %+v\nwant %+v", g, w)
	}
	return diffTimes(map[string]time.Time{"CreatedAt": want.CreatedAt}, map[string]time.Time{"CreatedAt": got.CreatedAt})
}

// DiffOTP is DiffPayment for OTPs.
func DiffOTP(want, got *payment.OTP) string {
	if want == nil || got == nil {
		return nilDiff(want == nil, got == nil)
	}
	w, g := *want, *got
	w.ExpiresAt, g.ExpiresAt = time.Time{}, time.Time{}
	w.Hash, g.Hash = nilIfEmpty(w.Hash), nilIfEmpty(g.Hash)
	if !reflect.DeepEqual(w, g) {
		return fmt.Sprintf("\n got %+v\nwant %+v", g, w)
	}
	return diffTimes(map[string]time.Time{"ExpiresAt": want.ExpiresAt}, map[string]time.Time{"ExpiresAt": got.ExpiresAt})
}

// DiffEvent is DiffPayment for webhook events. Bodies compare byte for
// byte.
func DiffEvent(want, got *payment.Event) string {
	if want == nil || got == nil {
		return nilDiff(want == nil, got == nil)
	}
	w, g := *want, *got
	w.CreatedAt, w.NextAt, w.DeliveredAt = time.Time{}, time.Time{}, time.Time{}
	g.CreatedAt, g.NextAt, g.DeliveredAt = time.Time{}, time.Time{}, time.Time{}
	w.Body, g.Body = nilIfEmpty(w.Body), nilIfEmpty(g.Body)
	if !reflect.DeepEqual(w, g) {
		return fmt.Sprintf("\n got %+v\nwant %+v", g, w)
	}
	return diffTimes(eventTimes(want), eventTimes(got))
}

func eventTimes(e *payment.Event) map[string]time.Time {
	return map[string]time.Time{"CreatedAt": e.CreatedAt, "NextAt": e.NextAt, "DeliveredAt": e.DeliveredAt}
}

func nilDiff(wantNil, gotNil bool) string {
	if wantNil == gotNil {
		return ""
	}
	return fmt.Sprintf("got nil %v, want nil %v", gotNil, wantNil)
}

// normalPayment copies p with its times zeroed and no empty slice.
func normalPayment(p *payment.Payment) payment.Payment {
	c := *p
	c.CreatedAt, c.UpdatedAt, c.ExpiresAt = time.Time{}, time.Time{}, time.Time{}
	c.ChargeStartedAt, c.PaidAt = time.Time{}, time.Time{}
	c.Cancels = nil
	for _, x := range p.Cancels {
		x.RequestedAt, x.DoneAt = time.Time{}, time.Time{}
		c.Cancels = append(c.Cancels, x)
	}
	return c
}

func paymentTimes(p *payment.Payment) map[string]time.Time {
	m := map[string]time.Time{
		"CreatedAt": p.CreatedAt, "UpdatedAt": p.UpdatedAt, "ExpiresAt": p.ExpiresAt,
		"ChargeStartedAt": p.ChargeStartedAt, "PaidAt": p.PaidAt,
	}
	for i, c := range p.Cancels {
		m[fmt.Sprintf("Cancels[%d].RequestedAt", i)] = c.RequestedAt
		m[fmt.Sprintf("Cancels[%d].DoneAt", i)] = c.DoneAt
	}
	return m
}

// diffTimes names the first field, in name order, whose times differ.
func diffTimes(want, got map[string]time.Time) string {
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if !want[name].Equal(got[name]) {
			return fmt.Sprintf("%s = %v, want %v", name, got[name], want[name])
		}
	}
	return ""
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
