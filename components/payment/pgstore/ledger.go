package pgstore

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tunapay/tuna/components/payment"
)

const (
	// sqlByOrder repeats the partial index's predicate: a generic plan of
	// a prepared statement cannot infer it from order_id = $2.
	sqlByOrder = `SELECT data FROM payments WHERE cp_id = $1 AND order_id = $2 AND order_id <> ''
		ORDER BY created_at DESC, created_ns DESC, tid DESC LIMIT 1`
	sqlPaymentRef = `SELECT cp_id, order_id, created_at, created_ns FROM payments WHERE tid = $1 FOR UPDATE`
	sqlPutPayment = `INSERT INTO payments (tid, cp_id, order_id, created_at, created_ns, unresolved, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tid) DO UPDATE SET cp_id = EXCLUDED.cp_id, order_id = EXCLUDED.order_id,
			created_at = EXCLUDED.created_at, created_ns = EXCLUDED.created_ns,
			unresolved = EXCLUDED.unresolved, data = EXCLUDED.data`
)

// orderRef is what decides which payment of an order PaymentByOrder finds.
type orderRef struct {
	cpID, orderID string
	created       time.Time
}

func refOf(p *payment.Payment) *orderRef {
	return &orderRef{cpID: p.CPID, orderID: p.OrderID, created: p.CreatedAt}
}

func (r *orderRef) same(o *orderRef) bool {
	return r.cpID == o.cpID && r.orderID == o.orderID && r.created.Equal(o.created)
}

// splitCreated is t to the microsecond, as timestamptz keeps it, and the
// nanoseconds below.
func splitCreated(t time.Time) (time.Time, int16) {
	at := t.Truncate(time.Microsecond)
	return at, int16(t.Sub(at))
}

func (t *tx) Payment(tid string) (*payment.Payment, error) {
	var p payment.Payment
	ok, err := t.get(payments, tid, &p)
	if err == nil && t.write {
		t.refs[tid] = nil
		if ok {
			t.refs[tid] = refOf(&p)
		}
	}
	if err = found(ok, err); err != nil {
		return nil, fmt.Errorf("pgstore: payment %q: %w", tid, err)
	}
	return &p, nil
}

// PaymentByOrder returns, of the payments with that order id, the one
// created last. In an Update it first takes the pair's advisory lock,
// which every write that could change the answer takes too.
func (t *tx) PaymentByOrder(cpID, orderID string) (*payment.Payment, error) {
	p, err := t.paymentByOrder(cpID, orderID)
	if err != nil {
		return nil, fmt.Errorf("pgstore: payment of order %q of %q: %w", orderID, cpID, err)
	}
	return p, nil
}

func (t *tx) paymentByOrder(cpID, orderID string) (*payment.Payment, error) {
	if err := t.usable(); err != nil {
		return nil, err
	}
	if orderID == "" || !validKey(cpID, orderID) {
		return nil, payment.ErrNotFound // never indexed, or never stored
	}
	q, keys := sqlByOrder, []int64(nil)
	if t.write {
		q, keys = sqlByOrder+" FOR UPDATE", t.orderLocks(&orderRef{cpID: cpID, orderID: orderID})
	}
	var data []byte
	err := t.batch(lockStmts(keys), []any{&data}, q, cpID, orderID)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	t.hold(keys)
	if err != nil {
		return nil, payment.ErrNotFound
	}
	var p payment.Payment
	if err := decode(data, &p); err != nil {
		return nil, err
	}
	if t.write {
		t.refs[p.TID], t.locked[payments.kind+"\x00"+p.TID] = refOf(&p), true
	}
	return &p, nil
}

// orderLocks is the advisory locks of the orders in refs that this
// transaction does not hold yet.
func (t *tx) orderLocks(refs ...*orderRef) []int64 {
	var keys []int64
	for _, r := range refs {
		if r.orderID == "" {
			continue
		}
		k := lockKey(t.s.schema, "order", r.cpID, r.orderID)
		if !t.held[k] && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// PutPayment stores p and its index columns. Every check comes before the
// first statement, so a refused Put leaves the transaction usable.
func (t *tx) PutPayment(p *payment.Payment) error {
	if p == nil || p.TID == "" {
		return fmt.Errorf("pgstore: put payment: empty tid: %w", ErrInvalidKey)
	}
	if err := t.putPayment(p); err != nil {
		return fmt.Errorf("pgstore: put payment %q: %w", p.TID, err)
	}
	return nil
}

// putPayment locks what the write may change before writing: the TID, as
// put does, and the order the payment joins or leaves, unless it is the
// payment this transaction read, written back with the same order and
// creation time — the common case, which so takes no order lock and
// cannot deadlock with Register holding the order and waiting for the
// payment's row.
func (t *tx) putPayment(p *payment.Payment) error {
	if !validKey(p.TID, p.CPID, p.OrderID) {
		return ErrInvalidKey
	}
	data, err := encode(p)
	if err != nil {
		return err
	}
	if err := t.writable(); err != nil {
		return err
	}
	old, known := t.refs[p.TID]
	if !known {
		if old, err = t.storedRef(p.TID); err != nil {
			return err
		}
	}
	ref := refOf(p)
	var keys []int64
	switch {
	case old == nil:
		keys = t.orderLocks(ref)
	case !old.same(ref):
		keys = t.orderLocks(old, ref)
	}
	at, ns := splitCreated(p.CreatedAt)
	err = t.batch(lockStmts(keys), nil, sqlPutPayment, p.TID, p.CPID, p.OrderID, at, ns, p.Unresolved(), data)
	if err != nil {
		return err
	}
	t.hold(keys)
	t.refs[p.TID] = ref
	return nil
}

// storedRef locks tid (its row, or its absence) and returns its order
// fields as stored: nil if no payment has that TID.
func (t *tx) storedRef(tid string) (*orderRef, error) {
	k := lockKey(t.s.schema, payments.kind, tid)
	var r orderRef
	var ns int16
	err := t.batch(lockStmts([]int64{k}), []any{&r.cpID, &r.orderID, &r.created, &ns}, sqlPaymentRef, tid)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	t.held[k], t.locked[payments.kind+"\x00"+tid] = true, true
	if err != nil {
		t.refs[tid] = nil
		return nil, nil
	}
	r.created = r.created.Add(time.Duration(ns))
	t.refs[tid] = &r
	return &r, nil
}
