package boltstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tunapay/tuna/components/payment"
)

// orderRef is the part of a stored payment the order index needs.
type orderRef struct {
	TID       string    `json:"tid"`
	CPID      string    `json:"cp_id"`
	OrderID   string    `json:"order_id"`
	CreatedAt time.Time `json:"created_at"`
}

// key is the ref's order index key, nil when it has no order id.
func (r *orderRef) key() []byte {
	if r == nil {
		return nil
	}
	k, _ := paymentOrderKey(r.CPID, r.OrderID) // stored refs were checked on Put
	return k
}

// paymentOrderKey is the order index key of a payment: nil without an
// order id, which is not indexed.
func paymentOrderKey(cpID, orderID string) ([]byte, error) {
	if orderID == "" {
		return nil, nil
	}
	return orderKey(cpID, orderID)
}

func (t *tx) Payment(tid string) (*payment.Payment, error) {
	p, err := t.payment(tid)
	if err != nil {
		return nil, fmt.Errorf("boltstore: payment %q: %w", tid, err)
	}
	t.remember(p)
	return p, nil
}

// payment decodes the stored payment tid, or copies what the store
// remembers those very bytes decode to.
func (t *tx) payment(tid string) (*payment.Payment, error) {
	if t.done {
		return nil, ErrTxDone
	}
	raw := t.btx.Bucket(bucketPayments).Get([]byte(tid))
	if raw == nil {
		return nil, payment.ErrNotFound
	}
	if p, ok := t.dec.get(tid, raw); ok {
		return p, nil
	}
	p := new(payment.Payment)
	if err := json.Unmarshal(raw, p); err != nil {
		return nil, err
	}
	if p.TID == tid {
		t.dec.add(bytes.Clone(raw), p) // raw lives only as long as the transaction
	}
	return p, nil
}

// remember keeps p's order fields as stored now (see tx.ref1).
func (t *tx) remember(p *payment.Payment) {
	r := orderRef{TID: p.TID, CPID: p.CPID, OrderID: p.OrderID, CreatedAt: p.CreatedAt}
	if t.ref1.TID == "" || t.ref1.TID == p.TID {
		t.ref1 = r
		return
	}
	if t.refs == nil {
		t.refs = make(map[string]orderRef, 1)
	}
	t.refs[p.TID] = r
}

// remembered returns the order fields remember kept for tid.
func (t *tx) remembered(tid string) (orderRef, bool) {
	if t.ref1.TID != "" && t.ref1.TID == tid {
		return t.ref1, true
	}
	r, ok := t.refs[tid]
	return r, ok
}

// PaymentByOrder returns the payment the order index names: of the
// payments with that order id, the one created last.
func (t *tx) PaymentByOrder(cpID, orderID string) (*payment.Payment, error) {
	tid, err := t.orderTID(cpID, orderID)
	if err != nil {
		return nil, fmt.Errorf("boltstore: payment of order %q of %q: %w", orderID, cpID, err)
	}
	return t.Payment(tid)
}

func (t *tx) orderTID(cpID, orderID string) (string, error) {
	if t.done {
		return "", ErrTxDone
	}
	k, err := paymentOrderKey(cpID, orderID)
	if err != nil || k == nil {
		return "", payment.ErrNotFound // never indexed
	}
	tid := t.btx.Bucket(bucketOrders).Get(k)
	if tid == nil {
		return "", payment.ErrNotFound
	}
	return string(tid), nil
}

// PutPayment stores p and brings both indexes up to date. Every check comes
// before the first write, so a failed Put writes nothing even if the caller
// ignores its error.
func (t *tx) PutPayment(p *payment.Payment) error {
	if p == nil || p.TID == "" {
		return fmt.Errorf("boltstore: put payment: empty tid: %w", ErrInvalidKey)
	}
	if err := t.putPayment(p); err != nil {
		return fmt.Errorf("boltstore: put payment %q: %w", p.TID, err)
	}
	return nil
}

func (t *tx) putPayment(p *payment.Payment) error {
	if err := t.writable(); err != nil {
		return err
	}
	key, err := paymentOrderKey(p.CPID, p.OrderID)
	if err != nil {
		return err
	}
	old, err := t.ref([]byte(p.TID))
	if err != nil {
		return err
	}
	raw, err := marshalPayment(p)
	if err != nil {
		return err
	}
	if err := t.btx.Bucket(bucketPayments).Put([]byte(p.TID), raw); err != nil {
		return err
	}
	if err := t.indexOrder(old.key(), key, p); err != nil {
		return err
	}
	if err := t.indexUnresolved(p); err != nil {
		return err
	}
	t.remember(p)
	if d, ok := asDecoded(p); ok {
		t.dec.add(raw, &d) // bbolt only reads raw too
	}
	return nil
}

// ref returns the order fields of the stored payment tid; nil if none.
func (t *tx) ref(tid []byte) (*orderRef, error) {
	if r, ok := t.remembered(string(tid)); ok {
		return &r, nil
	}
	data := t.btx.Bucket(bucketPayments).Get(tid)
	if data == nil {
		return nil, nil
	}
	var r orderRef
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode stored payment: %w", err)
	}
	return &r, nil
}

// indexOrder points key at p unless it names a payment created after p:
// writing back an older payment of a reused order id must not take the
// order from the newer one. An entry of p's previous order, if the order
// changed, is dropped.
func (t *tx) indexOrder(oldKey, key []byte, p *payment.Payment) error {
	orders := t.btx.Bucket(bucketOrders)
	if oldKey != nil && !bytes.Equal(oldKey, key) && string(orders.Get(oldKey)) == p.TID {
		if err := orders.Delete(oldKey); err != nil {
			return err
		}
	}
	if key == nil {
		return nil
	}
	cur := orders.Get(key)
	switch {
	case string(cur) == p.TID:
		return nil // as it is: a Put would only make bbolt write the page again
	case cur != nil:
		other, err := t.ref(bytes.Clone(cur))
		if err != nil || (other != nil && other.CreatedAt.After(p.CreatedAt)) {
			return err
		}
	}
	return orders.Put(key, []byte(p.TID))
}

// indexUnresolved keeps p's entry exactly while p.Unresolved().
func (t *tx) indexUnresolved(p *payment.Payment) error {
	b := t.btx.Bucket(bucketUnresolved)
	if p.Unresolved() {
		if b.Get([]byte(p.TID)) != nil {
			return nil // as it is
		}
		return b.Put([]byte(p.TID), []byte{})
	}
	return b.Delete([]byte(p.TID))
}
