package session

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// maxFreeEntries bounds the entries Locks keeps for reuse, so a burst of
// distinct TIDs does not pin memory once it is over.
const maxFreeEntries = 256

// Locks is an in-process table of exclusive per-TID holds. The zero value is
// ready to use. Only TIDs that are held or waited on have an entry.
type Locks struct {
	mu   sync.Mutex
	held map[string]*lockEntry
	free []*lockEntry
}

// lockEntry is one TID's lock: a one-slot channel that is full while held,
// so waiters block on a send and are woken in order without polling.
type lockEntry struct {
	token chan struct{}
	refs  int // the holder and the waiters
	// gen is bumped on every acquire and release and never reset, even when
	// the entry is reused, so a second call of an old release is a no-op.
	gen uint64
}

// NewLocks returns an empty lock table.
func NewLocks() *Locks { return &Locks{} }

// Hold gives the caller tid exclusively until release is called. If another
// caller holds it, Hold waits up to wait, then fails with ErrBusy; if ctx is
// done first, the error matches both ErrBusy and ctx.Err(). release may be
// called more than once.
func (l *Locks) Hold(ctx context.Context, tid string, wait time.Duration) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBusy, err)
	}
	l.mu.Lock()
	e := l.ref(tid)
	select {
	case e.token <- struct{}{}:
		release = l.acquired(tid, e)
		l.mu.Unlock()
		return release, nil
	default:
	}
	l.mu.Unlock()
	if err := e.wait(ctx, wait); err != nil {
		l.mu.Lock()
		l.unref(tid, e)
		l.mu.Unlock()
		return nil, err
	}
	l.mu.Lock()
	release = l.acquired(tid, e)
	l.mu.Unlock()
	return release, nil
}

// wait blocks until the token is taken, wait passes or ctx is done.
func (e *lockEntry) wait(ctx context.Context, wait time.Duration) error {
	if wait <= 0 {
		return ErrBusy
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case e.token <- struct{}{}:
		return nil
	case <-t.C:
		return ErrBusy
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrBusy, ctx.Err())
	}
}

// ref returns tid's entry, creating it, and counts the caller in. l.mu is held.
func (l *Locks) ref(tid string) *lockEntry {
	e := l.held[tid]
	if e == nil {
		e = l.newEntry()
		if l.held == nil {
			l.held = make(map[string]*lockEntry)
		}
		l.held[tid] = e
	}
	e.refs++
	return e
}

func (l *Locks) newEntry() *lockEntry {
	if n := len(l.free); n > 0 {
		e := l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
		return e
	}
	return &lockEntry{token: make(chan struct{}, 1)}
}

// unref counts the caller out and drops the entry when nobody is left.
// l.mu is held.
func (l *Locks) unref(tid string, e *lockEntry) {
	e.refs--
	if e.refs > 0 {
		return
	}
	delete(l.held, tid)
	if len(l.free) < maxFreeEntries {
		l.free = append(l.free, e)
	}
}

// acquired records the new hold and returns its release. l.mu is held.
func (l *Locks) acquired(tid string, e *lockEntry) func() {
	e.gen++
	gen := e.gen
	return func() { l.release(tid, e, gen) }
}

func (l *Locks) release(tid string, e *lockEntry, gen uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e.gen != gen {
		return
	}
	e.gen++
	<-e.token
	l.unref(tid, e)
}
