// Package pgstore is the payment.Store on PostgreSQL, for several server
// instances sharing one ledger. An Update is a READ COMMITTED transaction
// that locks every row it reads, and the absence of every row it did not
// find, so a check and the write that follows it cannot interleave with
// another instance's; a View is one REPEATABLE READ snapshot. The schema
// is created by numbered migrations embedded in the binary.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tunapay/tuna/components/payment"
)

var _ payment.Store = (*Store)(nil)

// Errors of the store. Test them with errors.Is.
var (
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("pgstore: store closed")
	// ErrInvalidKey: a Put* was given an empty key, or a key PostgreSQL
	// text cannot hold (a NUL, or invalid UTF-8).
	ErrInvalidKey = errors.New("pgstore: invalid key")
	// ErrInvalidValue: a Put* was given a row with a NUL in a string,
	// which jsonb cannot store. Nothing was sent: the transaction goes on.
	ErrInvalidValue = errors.New("pgstore: value jsonb cannot store")
	// ErrReadOnly: a Put* in a View.
	ErrReadOnly = errors.New("pgstore: put in a read-only transaction")
	// ErrTxDone: a Tx was used after its Update or View returned.
	ErrTxDone = errors.New("pgstore: transaction has ended")
	// ErrInvalidSchema: Options.Schema is not a name PostgreSQL keeps as
	// given.
	ErrInvalidSchema = errors.New("pgstore: invalid schema name")
)

// Options configure Open and Migrate. A nil *Options means defaults.
type Options struct {
	// Schema is the PostgreSQL schema that holds the store, created if
	// missing; "" means "public". It is used as given, quoted: case
	// matters. Every statement runs with the search_path set to it alone,
	// so several stores can share a database.
	Schema string
	// MaxConns caps the connection pool; 0 means pgxpool's default (the
	// greater of 4 and the number of CPUs). An Update holds one connection
	// for as long as fn runs.
	MaxConns int32
}

// defaultConnectTimeout bounds a connection attempt when the URL sets no
// connect_timeout, so an unreachable server fails Open instead of hanging.
const defaultConnectTimeout = 10 * time.Second

// Store is the payment.Store on a PostgreSQL connection pool.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	closed atomic.Bool
}

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN), checks that it answers, and applies the migrations it lacks.
func Open(ctx context.Context, url string, opts *Options) (*Store, error) {
	pool, schema, err := connect(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	if _, err := migrate(ctx, pool, schema); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool, schema: schema}, nil
}

// connect opens a pool whose connections search only the schema, and pings
// it.
func connect(ctx context.Context, url string, opts *Options) (*pgxpool.Pool, string, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	schema, err := schemaName(o.Schema)
	if err != nil {
		return nil, "", err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, "", fmt.Errorf("pgstore: %w", err) // pgx hides the password
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	// A startup parameter rather than a SET after connecting: no extra
	// round trip, and it stays the session's default through RESET.
	cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{schema}.Sanitize()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("pgstore: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		c := cfg.ConnConfig
		return nil, "", fmt.Errorf("pgstore: cannot reach PostgreSQL at %s:%d, database %q: %w", c.Host, c.Port, c.Database, err)
	}
	return pool, schema, nil
}

// schemaName is name, or "public" if empty. PostgreSQL would cut a name
// longer than 63 bytes, silently, and cannot hold a NUL.
func schemaName(name string) (string, error) {
	switch {
	case name == "":
		return "public", nil
	case len(name) > 63 || !validKey(name):
		return "", fmt.Errorf("%w: %q", ErrInvalidSchema, name)
	}
	return name, nil
}

// Close closes the pool, waiting for the transactions in flight. Later
// calls fail with ErrClosed; closing twice is harmless.
func (s *Store) Close() error {
	if !s.closed.Swap(true) {
		s.pool.Close()
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

// dbErr wraps an error of the database or the pool, as ErrClosed if Close
// won a race with the caller.
func (s *Store) dbErr(op string, err error) error {
	if s.closed.Load() {
		return fmt.Errorf("%w: %s: %w", ErrClosed, op, err)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}
