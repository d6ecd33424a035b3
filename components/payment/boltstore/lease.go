package boltstore

import (
	"context"
	"sync"
	"time"
)

// leases are kept in memory: a bbolt file is open in one process at a time,
// so a lease is only ever contended within that process, and one left by a
// crashed predecessor must not outlive it.
type leases struct {
	mu sync.Mutex
	m  map[string]leaseHold
}

type leaseHold struct {
	holder string
	until  time.Time
}

// Lease implements payment.Store.
func (s *Store) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := s.usable(ctx); err != nil {
		return false, err
	}
	s.leases.mu.Lock()
	defer s.leases.mu.Unlock()
	if s.leases.m == nil {
		s.leases.m = map[string]leaseHold{}
	}
	now := time.Now()
	if cur, ok := s.leases.m[name]; ok && cur.holder != holder && now.Before(cur.until) {
		return false, nil
	}
	s.leases.m[name] = leaseHold{holder: holder, until: now.Add(ttl)}
	return true, nil
}
