package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tunapay/tuna/components/payment"
)

// Unresolved lists, by TID, the payments whose unresolved column is set:
// a walk of the partial index, never of the ledger.
func (s *Store) Unresolved(ctx context.Context) ([]string, error) {
	return list(ctx, s, "unresolved", `SELECT tid FROM payments WHERE unresolved ORDER BY tid`, pgx.RowTo[string])
}

// Merchants lists every merchant, by id.
func (s *Store) Merchants(ctx context.Context) ([]payment.Merchant, error) {
	return list(ctx, s, "merchants", `SELECT data FROM merchants ORDER BY id`, pgx.RowTo[payment.Merchant])
}

// Payments lists every payment, by TID.
func (s *Store) Payments(ctx context.Context) ([]payment.Payment, error) {
	return list(ctx, s, "payments", `SELECT data FROM payments ORDER BY tid`, pgx.RowTo[payment.Payment])
}

// Limits lists every limit that was put, by month, then phone; not the
// placeholders that Updates locked and left zero.
func (s *Store) Limits(ctx context.Context) ([]payment.Limit, error) {
	return list(ctx, s, "limits",
		`SELECT phone, month, used, held FROM limits WHERE stored ORDER BY month, phone`,
		pgx.RowToStructByPos[payment.Limit])
}

// list runs one query, so one snapshot, and collects its rows: an empty,
// non-nil slice if none.
func list[T any](ctx context.Context, s *Store, what, q string, row pgx.RowToFunc[T], args ...any) ([]T, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	rows, _ := s.pool.Query(ctx, q, args...) // an error comes back from CollectRows
	out, err := pgx.CollectRows(rows, row)
	if err != nil {
		return nil, s.dbErr("list "+what, err)
	}
	return out, nil
}
