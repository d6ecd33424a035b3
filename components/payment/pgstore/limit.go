package pgstore

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tunapay/tuna/components/payment"
)

const (
	sqlLimit = `SELECT used, held FROM limits WHERE month = $1 AND phone = $2`
	// sqlLimitPlaceholder makes sure the row exists, so that a first use
	// in a month has a row to lock. It waits for a concurrent insert of
	// the same row to commit or roll back.
	sqlLimitPlaceholder = `INSERT INTO limits (month, phone) VALUES ($1, $2) ON CONFLICT DO NOTHING`
	sqlPutLimit         = `INSERT INTO limits (month, phone, used, held, stored) VALUES ($1, $2, $3, $4, true)
		ON CONFLICT (month, phone) DO UPDATE SET used = EXCLUDED.used, held = EXCLUDED.held, stored = true`
)

// Limit returns the use of phone in month, zero if none. In an Update it
// locks the row, inserting a placeholder if there is none yet. Errors name
// the month, never the phone.
func (t *tx) Limit(phone, month string) (*payment.Limit, error) {
	l := &payment.Limit{Phone: phone, Month: month}
	if err := t.limit(l); err != nil {
		return nil, fmt.Errorf("pgstore: limit in %q: %w", month, err)
	}
	return l, nil
}

func (t *tx) limit(l *payment.Limit) error {
	if err := t.usable(); err != nil {
		return err
	}
	if !validKey(l.Phone, l.Month) {
		return ErrInvalidKey
	}
	if l.Phone == "" || l.Month == "" {
		return nil // PutLimit refuses it: it stays zero, with no lock needed
	}
	var pre []stmt
	q := sqlLimit
	if t.write {
		pre, q = []stmt{{sqlLimitPlaceholder, []any{l.Month, l.Phone}}}, sqlLimit+" FOR UPDATE"
	}
	err := t.batch(pre, []any{&l.Used, &l.Held}, q, l.Month, l.Phone)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	return err
}

func (t *tx) PutLimit(l *payment.Limit) error {
	if l == nil || l.Phone == "" || l.Month == "" {
		return fmt.Errorf("pgstore: put limit: phone and month required: %w", ErrInvalidKey)
	}
	err := ErrInvalidKey
	if validKey(l.Phone, l.Month) {
		err = t.putLimit(l)
	}
	if err != nil {
		return fmt.Errorf("pgstore: put limit in %q: %w", l.Month, err)
	}
	return nil
}

// putLimit needs no advisory lock: a transaction that read the row as
// missing holds its placeholder, which the insert waits for.
func (t *tx) putLimit(l *payment.Limit) error {
	if err := t.writable(); err != nil {
		return err
	}
	return t.batch(nil, nil, sqlPutLimit, l.Month, l.Phone, l.Used, l.Held)
}
