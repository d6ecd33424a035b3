// Package boltstore is the embedded payment.Store: merchants, the ledger,
// monthly limits, OTPs and the webhook outbox in one bbolt file. bbolt has a single writer, so
// an Update holds every row it reads until it commits; the file lock makes
// the store single-process.
package boltstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/internal/boltgroup"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var _ payment.Store = (*Store)(nil)

// Errors of the store. Test them with errors.Is.
var (
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("boltstore: store closed")
	// ErrLocked: another process (or another Open in this one) holds the
	// file, and OpenTimeout passed.
	ErrLocked = errors.New("boltstore: file locked by another process")
	// ErrInvalidKey: a Put* was given an empty key, or a key part that
	// would make an index key ambiguous.
	ErrInvalidKey = errors.New("boltstore: invalid key")
	// ErrTxDone: a Tx was used after its Update or View returned.
	ErrTxDone = errors.New("boltstore: transaction has ended")
)

// Options configure Open. A nil *Options means defaults.
type Options struct {
	// NoSync skips fsync on commit. For benchmarks only: a crash may lose
	// or corrupt payments.
	NoSync bool
	// OpenTimeout is how long to wait for the file lock another process
	// holds; 0 means 1s.
	OpenTimeout time.Duration
}

// Store is the payment.Store on a bbolt file.
type Store struct {
	db     *bolt.DB
	closed atomic.Bool
	leases leases
	group  *boltgroup.Committer
	dec    decoded
}

// Open opens or creates the store at path. If another process has the file
// open, it fails with ErrLocked after opts.OpenTimeout.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      o.OpenTimeout,
		NoSync:       o.NoSync,
		FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (waited %s): %w", ErrLocked, path, o.OpenTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	if err := db.Update(createBuckets); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return &Store{db: db, group: boltgroup.New(db)}, nil
}

// Update runs fn in a bbolt read-write transaction, usually shared with
// the Updates queued meanwhile (group commit: internal/boltgroup): all of
// fn's writes land, or none, and Update returns once they are durable. fn
// may run more than once: when another fn of its batch fails, the batch
// runs again. An error from fn rolls back fn's writes and is returned as
// is. A panic in fn rolls back too and reaches the caller.
func (s *Store) Update(ctx context.Context, fn func(payment.Tx) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	err := s.group.Update(ctx, func(btx *bolt.Tx) error {
		appendFill(btx)
		t := &tx{btx: btx, dec: &s.dec}
		defer t.end()
		if err := fn(t); err != nil {
			return fnError{err}
		}
		return nil
	})
	var fe fnError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &fe):
		return fe.err
	case errors.Is(err, boltgroup.ErrClosed):
		return ErrClosed
	case ctx.Err() != nil && errors.Is(err, ctx.Err()):
		return err
	}
	return mapErr(err)
}

// fnError marks an error as fn's own, to return unchanged.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// View runs fn in a bbolt read-only transaction; its Put* fail.
func (s *Store) View(ctx context.Context, fn func(payment.Tx) error) error {
	return s.run(ctx, s.db.View, fn)
}

// run runs fn in a transaction begun by begin (db.Update or db.View). The
// context is checked again once the writer lock is held: a caller that gave
// up while waiting gets no write.
func (s *Store) run(ctx context.Context, begin func(func(*bolt.Tx) error) error, fn func(payment.Tx) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	var fnErr error
	err := begin(func(btx *bolt.Tx) error {
		if fnErr = ctx.Err(); fnErr != nil {
			return fnErr
		}
		t := &tx{btx: btx, dec: &s.dec}
		defer t.end()
		fnErr = fn(t)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return mapErr(err)
}

// Close closes the file. Later calls fail with ErrClosed; closing twice is
// harmless. bbolt waits for the transactions in flight.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.group.Close() // answers what is queued
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close: %w", err)
	}
	return nil
}

func (s *Store) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// mapErr wraps an error of bbolt's own, turning its closed-database error
// into ErrClosed (Close won a race with the caller).
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, bolterrors.ErrDatabaseNotOpen):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return fmt.Errorf("boltstore: %w", err)
}
