package boltstore

import (
	"bytes"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/tunapay/tuna/components/payment"
)

// decodedMax bounds the decoded payments a store keeps: far more than the
// payments in flight (a flow reads its payment again within seconds to
// minutes), a few MiB at most.
const decodedMax = 2048

// decoded remembers, for the payments this store last wrote or decoded, the
// exact bytes they are stored as and the Payment those bytes decode to.
// Every update of a payment reads back what the previous update wrote, and
// the updates run one after another in the group commit; with this, such a
// read costs a comparison of bytes and a copy instead of a JSON decode.
//
// An entry is used only when the bytes in the file are byte-identical to
// its own, and what it holds is what decoding them gives, so it cannot go
// stale: a rolled-back write, an eviction or a format change only cost a
// decode. The stored format stays JSON.
type decoded struct {
	mu sync.Mutex
	m  map[string]*decodedPayment
}

// decodedPayment is never changed once made: readers copy p.
type decodedPayment struct {
	raw []byte
	p   payment.Payment
}

// get returns a copy of the payment raw decodes to, if remembered.
func (d *decoded) get(tid string, raw []byte) (*payment.Payment, bool) {
	d.mu.Lock()
	e := d.m[tid]
	d.mu.Unlock()
	if e == nil || !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	p := e.p
	p.Cancels = slices.Clone(e.p.Cancels)
	return &p, true
}

// add remembers that raw decodes to p, keeping a copy of p. raw must not
// change afterwards.
func (d *decoded) add(raw []byte, p *payment.Payment) {
	e := &decodedPayment{raw: raw, p: *p}
	e.p.Cancels = slices.Clone(p.Cancels)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = make(map[string]*decodedPayment)
	}
	if _, ok := d.m[p.TID]; !ok && len(d.m) >= decodedMax {
		for k := range d.m { // an arbitrary one: Go's map order
			delete(d.m, k)
			break
		}
	}
	d.m[p.TID] = e
}

// asDecoded returns what decoding p's JSON gives back: p with each time as
// its JSON text reads (no monotonic reading, the location time.UnmarshalJSON
// picks for the offset). ok is false when that is not all: a string that is
// not valid UTF-8 (JSON rewrites it) or a time JSON cannot carry.
// TestDecoded_SameAsJSON fills every field by reflection and compares with
// json.Unmarshal, so a field added to Payment or Cancel is covered or fails.
func asDecoded(p *payment.Payment) (out payment.Payment, ok bool) {
	out = *p
	out.Cancels = slices.Clone(p.Cancels)
	ok = validUTF8(p.TID, p.CPID, p.OrderID, p.ProductID, p.ProductName, p.ReturnURL, string(p.Status),
		p.UserName, p.Phone, p.Carrier, p.RiskChecked, p.IdentityChecked, p.BillMonth, p.FailCode, p.FailMessage) &&
		reread(&out.CreatedAt, false) && reread(&out.UpdatedAt, false) && reread(&out.ExpiresAt, false) &&
		reread(&out.ChargeStartedAt, true) && reread(&out.PaidAt, true)
	for i := range out.Cancels {
		c := &out.Cancels[i]
		ok = ok && validUTF8(c.ID, string(c.Type), c.Reason, c.IdempotencyKey, string(c.Status), c.FailCode) &&
			reread(&c.RequestedAt, false) && reread(&c.DoneAt, true)
	}
	return out, ok
}

func validUTF8(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// reread replaces *t with what its JSON decodes to. omitZero is the
// field's omitzero tag: such a field whose time IsZero, in any location, is
// left out and decodes to the zero Time.
func reread(t *time.Time, omitZero bool) bool {
	if *t == (time.Time{}) || omitZero && t.IsZero() {
		*t = time.Time{}
		return true
	}
	// MarshalJSON and UnmarshalJSON are these two with quotes around the
	// text; a buffer on the stack spares their allocation.
	var buf [64]byte
	b, err := t.AppendText(buf[:0])
	if err != nil {
		return false
	}
	var u time.Time
	if err := u.UnmarshalText(b); err != nil {
		return false
	}
	*t = u
	return true
}
