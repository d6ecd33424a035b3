package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tunapay/tuna/components/payment"
)

// tx is the payment.Tx of one PostgreSQL transaction. Reads decode a fresh
// copy and Puts encode at once, so nothing the caller holds aliases the
// store.
//
// In an Update, every read locks: a row it finds with FOR UPDATE; a key it
// does not find with an advisory lock on the key, which every insert of the
// key takes first (see put and PutPayment). So a row read as missing stays
// missing until the transaction ends, as bbolt's single writer guarantees.
type tx struct {
	s     *Store
	ctx   context.Context
	pg    pgx.Tx
	write bool
	// locked names the rows (kind \x00 key) whose row or absence this
	// transaction has locked: they need no advisory lock on a Put.
	locked map[string]bool
	// held is the advisory locks taken, which last until the end.
	held map[int64]bool
	// refs is the order fields of the payments this transaction has
	// locked, as stored now: nil for a payment that is not.
	refs map[string]*orderRef
	// err is the first database error: PostgreSQL has aborted the
	// transaction and refuses every statement until it ends.
	err  error
	done bool
}

func newTx(ctx context.Context, s *Store, pg pgx.Tx, write bool) *tx {
	return &tx{s: s, ctx: ctx, pg: pg, write: write,
		locked: map[string]bool{}, held: map[int64]bool{}, refs: map[string]*orderRef{}}
}

// table is a table of JSON rows under one key column.
type table struct {
	kind string // its name, and the kind of its advisory locks
	get  string // the row of key $1
	lock string // the same, FOR UPDATE
	put  string // stores data $2 under key $1
}

func newTable(name, key string) table {
	get := "SELECT data FROM " + name + " WHERE " + key + " = $1"
	return table{kind: name, get: get, lock: get + " FOR UPDATE",
		put: "INSERT INTO " + name + " (" + key + ", data) VALUES ($1, $2) " +
			"ON CONFLICT (" + key + ") DO UPDATE SET data = EXCLUDED.data"}
}

var (
	payments  = newTable("payments", "tid") // its put is sqlPutPayment's
	merchants = newTable("merchants", "id")
	otps      = newTable("otps", "tid")
)

func (t *tx) usable() error {
	if t.done {
		return ErrTxDone
	}
	if t.err != nil {
		return fmt.Errorf("transaction aborted by an earlier error: %w", t.err)
	}
	return nil
}

func (t *tx) writable() error {
	if err := t.usable(); err != nil {
		return err
	}
	if !t.write {
		return ErrReadOnly
	}
	return nil
}

// check records err if it aborted the transaction: any error but no row.
func (t *tx) check(err error) error {
	if err != nil && !errors.Is(err, pgx.ErrNoRows) && t.err == nil {
		t.err = err
	}
	return err
}

// stmt is one statement of a batch.
type stmt struct {
	sql  string
	args []any
}

func lockStmts(keys []int64) []stmt {
	out := make([]stmt, len(keys))
	for i, k := range keys {
		out[i] = stmt{sqlLock, []any{k}}
	}
	return out
}

// batch runs pre, then q, in one round trip, and scans q's row into dest,
// or runs q for its effect if dest is nil; pgx.ErrNoRows if q found none.
// In READ COMMITTED each statement sees what was committed before it
// began, so q after a lock sees what the lock's last holder wrote.
func (t *tx) batch(pre []stmt, dest []any, q string, args ...any) error {
	if len(pre) == 0 {
		if dest == nil {
			_, err := t.pg.Exec(t.ctx, q, args...)
			return t.check(err)
		}
		return t.check(t.pg.QueryRow(t.ctx, q, args...).Scan(dest...))
	}
	b := &pgx.Batch{}
	for _, s := range pre {
		b.Queue(s.sql, s.args...)
	}
	b.Queue(q, args...)
	br := t.pg.SendBatch(t.ctx, b)
	err := readBatch(br, len(pre), dest)
	if cerr := br.Close(); cerr != nil && (err == nil || errors.Is(err, pgx.ErrNoRows)) {
		err = cerr
	}
	return t.check(err)
}

func readBatch(br pgx.BatchResults, pre int, dest []any) error {
	for range pre {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	if dest == nil {
		_, err := br.Exec()
		return err
	}
	return br.QueryRow().Scan(dest...)
}

// get decodes the row of key in tab into v and reports whether there was
// one. In an Update it locks the row, or, if there is none, the key: a row
// committed while it waited for the key is then seen and locked.
func (t *tx) get(tab table, key string, v any) (bool, error) {
	if err := t.usable(); err != nil {
		return false, err
	}
	if !validKey(key) {
		return false, nil
	}
	if !t.write {
		return t.getRow(nil, tab.get, key, v)
	}
	found, err := t.getRow(nil, tab.lock, key, v)
	id := tab.kind + "\x00" + key
	if err == nil && !found && !t.locked[id] {
		k := lockKey(t.s.schema, tab.kind, key)
		if found, err = t.getRow(lockStmts([]int64{k}), tab.lock, key, v); err == nil {
			t.held[k] = true
		}
	}
	if err == nil {
		t.locked[id] = true
	}
	return found, err
}

func (t *tx) getRow(pre []stmt, q, key string, v any) (bool, error) {
	var data []byte
	err := t.batch(pre, []any{&data}, q, key)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, decode(data, v)
}

func decode(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode stored row: %w", err)
	}
	return nil
}

// put stores v under key in tab.
func (t *tx) put(tab table, key string, v any) error {
	if !validKey(key) {
		return ErrInvalidKey
	}
	data, err := encode(v)
	if err != nil {
		return err
	}
	return t.upsert(tab.kind, key, tab.put, key, data)
}

// upsert runs q, which inserts or updates the row of key in the table of
// kind. A key this transaction has not locked is locked first, as get
// locks a missing one, so that an insert waits for every transaction that
// saw the key missing.
func (t *tx) upsert(kind, key, q string, args ...any) error {
	if err := t.writable(); err != nil {
		return err
	}
	id := kind + "\x00" + key
	var keys []int64
	if !t.locked[id] {
		keys = append(keys, lockKey(t.s.schema, kind, key))
	}
	if err := t.batch(lockStmts(keys), nil, q, args...); err != nil {
		return err
	}
	t.hold(keys)
	t.locked[id] = true
	return nil
}

func (t *tx) hold(keys []int64) {
	for _, k := range keys {
		t.held[k] = true
	}
}

func (t *tx) Merchant(id string) (*payment.Merchant, error) {
	var m payment.Merchant
	if err := found(t.get(merchants, id, &m)); err != nil {
		return nil, fmt.Errorf("pgstore: merchant %q: %w", id, err)
	}
	return &m, nil
}

func (t *tx) PutMerchant(m *payment.Merchant) error {
	if m == nil || m.ID == "" {
		return fmt.Errorf("pgstore: put merchant: empty id: %w", ErrInvalidKey)
	}
	if err := t.put(merchants, m.ID, m); err != nil {
		return fmt.Errorf("pgstore: put merchant %q: %w", m.ID, err)
	}
	return nil
}

func (t *tx) OTP(tid string) (*payment.OTP, error) {
	var o payment.OTP
	if err := found(t.get(otps, tid, &o)); err != nil {
		return nil, fmt.Errorf("pgstore: otp of %q: %w", tid, err)
	}
	return &o, nil
}

func (t *tx) PutOTP(o *payment.OTP) error {
	if o == nil || o.TID == "" {
		return fmt.Errorf("pgstore: put otp: empty tid: %w", ErrInvalidKey)
	}
	if err := t.put(otps, o.TID, o); err != nil {
		return fmt.Errorf("pgstore: put otp of %q: %w", o.TID, err)
	}
	return nil
}

// found turns a missing row into payment.ErrNotFound.
func found(ok bool, err error) error {
	if err == nil && !ok {
		return payment.ErrNotFound
	}
	return err
}
