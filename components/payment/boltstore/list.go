package boltstore

import (
	"context"

	"github.com/tunapay/tuna/components/payment"
	bolt "go.etcd.io/bbolt"
)

// Unresolved lists the TIDs of the unresolved index, sorted: it never reads
// the ledger.
func (s *Store) Unresolved(ctx context.Context) ([]string, error) {
	tids := []string{}
	err := s.view(ctx, func(btx *bolt.Tx) error {
		return btx.Bucket(bucketUnresolved).ForEach(func(k, _ []byte) error {
			tids = append(tids, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return tids, nil
}

// Merchants lists every merchant, sorted by id.
func (s *Store) Merchants(ctx context.Context) ([]payment.Merchant, error) {
	return listAll[payment.Merchant](ctx, s, bucketMerchants)
}

// Payments lists every payment, sorted by TID.
func (s *Store) Payments(ctx context.Context) ([]payment.Payment, error) {
	return listAll[payment.Payment](ctx, s, bucketPayments)
}

// Limits lists every limit, sorted by month, then phone.
func (s *Store) Limits(ctx context.Context) ([]payment.Limit, error) {
	return listAll[payment.Limit](ctx, s, bucketLimits)
}

func listAll[T any](ctx context.Context, s *Store, name []byte) ([]T, error) {
	var out []T
	err := s.view(ctx, func(btx *bolt.Tx) (err error) {
		out, err = list[T](btx, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// view runs fn in a read-only bbolt transaction.
func (s *Store) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	return mapErr(s.db.View(fn))
}
