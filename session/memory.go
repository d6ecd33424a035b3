package session

import (
	"context"
	"sync"
	"time"
)

var _ Store = (*Memory)(nil)

// MemoryOptions configure NewMemory. A nil *MemoryOptions means defaults.
type MemoryOptions struct {
	// Now is the clock that decides expiry; nil means time.Now.
	Now func() time.Time
}

// Memory is an in-process Store, the fake for tests. It keeps its own deep
// copies, so callers never share state with it. Hold is in-process only and
// ignores the lease.
type Memory struct {
	now   func() time.Time
	locks Locks

	mu       sync.RWMutex
	sessions map[string]*Session
	closed   bool
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts *MemoryOptions) *Memory {
	m := &Memory{now: time.Now, sessions: make(map[string]*Session)}
	if opts != nil && opts.Now != nil {
		m.now = opts.Now
	}
	return m
}

// Create stores s as a new session at Version 1 and sets s.Version to 1.
func (m *Memory) Create(ctx context.Context, s *Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkTID(s.TID); err != nil {
		return err
	}
	c := s.Clone()
	c.Version = 1
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if _, ok := m.sessions[s.TID]; ok {
		return ErrExists
	}
	m.sessions[s.TID] = c
	s.Version = 1
	return nil
}

// Load returns a copy of the session stored under tid.
func (m *Memory) Load(ctx context.Context, tid string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	s, ok := m.sessions[tid]
	closed := m.closed
	m.mu.RUnlock()
	switch {
	case closed:
		return nil, ErrClosed
	case !ok:
		return nil, ErrNotFound
	case expired(s, m.now()):
		return nil, ErrExpired
	}
	// Stored sessions are replaced, never changed in place, so s can be
	// copied outside the lock.
	return ownCopy(s), nil
}

// Save replaces the stored session if its version is still s.Version.
func (m *Memory) Save(ctx context.Context, s *Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := s.Clone()
	c.Version = s.Version + 1
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	old, ok := m.sessions[s.TID]
	switch {
	case !ok:
		return ErrNotFound
	case old.Version != s.Version:
		return ErrConflict
	}
	m.sessions[s.TID] = c
	s.Version = c.Version
	return nil
}

// Hold holds tid in this process; lease is ignored.
func (m *Memory) Hold(ctx context.Context, tid string, wait, lease time.Duration) (func(), error) {
	if m.isClosed() {
		return nil, ErrClosed
	}
	return m.locks.Hold(ctx, tid, wait)
}

// Sweep deletes the sessions that expired at or before cutoff.
func (m *Memory) Sweep(ctx context.Context, cutoff time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	n := 0
	for tid, s := range m.sessions {
		if sweepable(s, cutoff) {
			delete(m.sessions, tid)
			n++
		}
	}
	return n, nil
}

// Stats reports the session count; the byte size is unknown (-1).
func (m *Memory) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return Stats{Backend: "memory", Sessions: int64(len(m.sessions)), Bytes: -1}
}

// Close drops every session; later calls fail with ErrClosed. Closing twice
// is harmless.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.sessions = nil
	return nil
}

func (m *Memory) isClosed() bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.closed
}
