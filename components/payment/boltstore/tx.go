package boltstore

import (
	"errors"
	"fmt"

	"github.com/tunapay/tuna/components/payment"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// tx is the payment.Tx of one bbolt transaction. Reads decode a fresh copy
// and Puts encode at once, so nothing the caller holds aliases the store.
// done guards against use after the transaction: a closed bbolt transaction
// may point into memory that is no longer mapped.
type tx struct {
	btx  *bolt.Tx
	done bool
	// ref1 and refs hold the order fields of each payment this transaction
	// read or wrote, so that PutPayment after Payment (every update) does
	// not decode the stored payment again: only this transaction writes to
	// it until it ends. ref1 is the first payment's (most transactions
	// touch one, and need no map), refs the others'.
	ref1 orderRef
	refs map[string]orderRef
	dec  *decoded // the store's decoded payments
}

func (t *tx) end() { t.done = true }

// read decodes the value under key in the bucket named name.
func (t *tx) read(name []byte, key string, v any) error {
	if t.done {
		return ErrTxDone
	}
	return get(t.btx.Bucket(name), []byte(key), v)
}

// write checks that t may write, then stores v under key.
func (t *tx) write(name, key []byte, v any) error {
	if err := t.writable(); err != nil {
		return err
	}
	return put(t.btx.Bucket(name), key, v)
}

func (t *tx) writable() error {
	if t.done {
		return ErrTxDone
	}
	if !t.btx.Writable() {
		return bolterrors.ErrTxNotWritable
	}
	return nil
}

// Limit returns the use of phone in month, zero if none. Errors name the
// month, never the phone.
func (t *tx) Limit(phone, month string) (*payment.Limit, error) {
	k, err := limitKey(phone, month)
	if err != nil {
		return nil, fmt.Errorf("boltstore: limit in %q: %w", month, err)
	}
	l := payment.Limit{Phone: phone, Month: month}
	err = t.read(bucketLimits, string(k), &l)
	if err != nil && !errors.Is(err, payment.ErrNotFound) {
		return nil, fmt.Errorf("boltstore: limit in %q: %w", month, err)
	}
	return &l, nil
}

func (t *tx) PutLimit(l *payment.Limit) error {
	if l == nil || l.Phone == "" || l.Month == "" {
		return fmt.Errorf("boltstore: put limit: phone and month required: %w", ErrInvalidKey)
	}
	k, err := limitKey(l.Phone, l.Month)
	if err == nil {
		err = t.write(bucketLimits, k, l)
	}
	if err != nil {
		return fmt.Errorf("boltstore: put limit in %q: %w", l.Month, err)
	}
	return nil
}

func (t *tx) Merchant(id string) (*payment.Merchant, error) {
	var m payment.Merchant
	if err := t.read(bucketMerchants, id, &m); err != nil {
		return nil, fmt.Errorf("boltstore: merchant %q: %w", id, err)
	}
	return &m, nil
}

func (t *tx) PutMerchant(m *payment.Merchant) error {
	if m == nil || m.ID == "" {
		return fmt.Errorf("boltstore: put merchant: empty id: %w", ErrInvalidKey)
	}
	if err := t.write(bucketMerchants, []byte(m.ID), m); err != nil {
		return fmt.Errorf("boltstore: put merchant %q: %w", m.ID, err)
	}
	return nil
}

func (t *tx) OTP(tid string) (*payment.OTP, error) {
	var o payment.OTP
	if err := t.read(bucketOTPs, tid, &o); err != nil {
		return nil, fmt.Errorf("boltstore: otp of %q: %w", tid, err)
	}
	return &o, nil
}

func (t *tx) PutOTP(o *payment.OTP) error {
	if o == nil || o.TID == "" {
		return fmt.Errorf("boltstore: put otp: empty tid: %w", ErrInvalidKey)
	}
	if err := t.write(bucketOTPs, []byte(o.TID), o); err != nil {
		return fmt.Errorf("boltstore: put otp of %q: %w", o.TID, err)
	}
	return nil
}
