package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// sqlLease takes or renews a lease in one statement, timed by the
// database's clock so that the servers' clocks need not agree. A row comes
// back only if the lease was free, expired or the holder's already.
const sqlLease = `INSERT INTO leases (name, holder, until) VALUES ($1, $2, now() + $3 * interval '1 microsecond')
	ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
	WHERE leases.holder = EXCLUDED.holder OR leases.until < now()
	RETURNING holder`

// Lease gives holder the named lease for ttl if it is free, expired or
// already holder's (which renews it), and reports whether holder has it.
func (s *Store) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := s.usable(ctx); err != nil {
		return false, err
	}
	if !validKey(name, holder) {
		return false, fmt.Errorf("pgstore: lease %q: %w", name, ErrInvalidKey)
	}
	var got string
	err := s.pool.QueryRow(ctx, sqlLease, name, holder, ttl.Microseconds()).Scan(&got)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, s.dbErr(fmt.Sprintf("lease %q", name), err)
	}
	return true, nil
}
