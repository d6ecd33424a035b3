package pgstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tunapay/tuna/components/payment"
)

// Retries of a transaction that lost a deadlock (or, at a stricter
// isolation, a serialization conflict): PostgreSQL aborted it and the same
// fn on fresh reads is expected to pass.
const (
	maxAttempts  = 10
	firstBackoff = 2 * time.Millisecond
	maxBackoff   = 100 * time.Millisecond
)

// rollbackTimeout bounds the rollback of an ended transaction, which runs
// even when the caller's context is done.
const rollbackTimeout = 5 * time.Second

var (
	updateOptions = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}
	viewOptions   = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
)

// Update runs fn in one READ COMMITTED transaction whose reads lock what
// they read. When PostgreSQL aborts it for a deadlock or a serialization
// failure, fn runs again, up to 10 times in all. An error from fn rolls
// everything back and is returned as is. A panic in fn rolls back too, and
// goes on.
func (s *Store) Update(ctx context.Context, fn func(payment.Tx) error) error {
	return s.run(ctx, updateOptions, fn)
}

// View runs fn in a REPEATABLE READ, READ ONLY transaction: one snapshot
// of every row. Its Put* fail with ErrReadOnly and lock nothing.
func (s *Store) View(ctx context.Context, fn func(payment.Tx) error) error {
	return s.run(ctx, viewOptions, fn)
}

func (s *Store) run(ctx context.Context, opts pgx.TxOptions, fn func(payment.Tx) error) error {
	for attempt := 1; ; attempt++ {
		if err := s.usable(ctx); err != nil {
			return err
		}
		again, err := s.attempt(ctx, opts, fn)
		if !again || attempt == maxAttempts {
			return err
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return err
		}
	}
}

// attempt runs fn once in a transaction; again reports that it failed for
// a conflict worth a retry.
func (s *Store) attempt(ctx context.Context, opts pgx.TxOptions, fn func(payment.Tx) error) (again bool, err error) {
	pg, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return retryable(err), s.dbErr("begin", err)
	}
	t := newTx(ctx, s, pg, opts.AccessMode != pgx.ReadOnly)
	defer t.end()
	fnErr := fn(t)
	switch {
	case retryable(t.err):
		// fn may have turned the failure into an error of its own: its
		// decision rests on a read that failed, so it does not stand.
		return true, errors.Join(fnErr, s.dbErr("aborted", t.err))
	case fnErr != nil:
		return false, fnErr
	case t.err != nil:
		// fn went on past an error that aborted the transaction: the
		// commit would only roll back.
		return false, s.dbErr("transaction aborted", t.err)
	}
	if err := pg.Commit(ctx); err != nil {
		return retryable(err), s.dbErr("commit", err)
	}
	return false, nil
}

// end closes the transaction unless it committed: fn returned an error, or
// panicked and the panic goes on once the rollback is done.
func (t *tx) end() {
	t.done = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(t.ctx), rollbackTimeout)
	defer cancel()
	_ = t.pg.Rollback(ctx) // after a commit, a harmless ErrTxClosed
}

// retryable reports whether err is PostgreSQL's serialization_failure or
// deadlock_detected.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// backoff is the pause before attempt+1: doubling from firstBackoff up to
// maxBackoff, jittered down to half so that the losers spread out.
func backoff(attempt int) time.Duration {
	d := min(firstBackoff<<(attempt-1), maxBackoff)
	return d/2 + rand.N(d/2)
}

func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pgstore: waiting to retry: %w", ctx.Err())
	}
}
