package engine

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// pool lends runtimes to steps. It keeps min runtimes warm, grows to max
// under load, and makes a step wait (on its request context) beyond that.
// A runtime that did not stop when interrupted is dropped, not returned, and
// a fresh one replaces it on demand. A step holds its runtime while its
// components wait on stores and carriers, so max is sized for the steps in
// flight, not for the CPUs; once a burst is over, runtimes beyond min that
// stayed idle for idleTTL are let go (checked as steps come and go).
type pool struct {
	slots   chan struct{} // one token per runtime that may exist or be lent
	min     int
	mu      sync.Mutex
	idle    []idleVM // a stack: the most recently used on top
	now     func() time.Time
	newVM   func() (*vm, error)
	created atomic.Int64
	inUse   atomic.Int64
	dropped atomic.Int64
	waits   func(time.Duration) // observes how long Get waited, may be nil
}

func newPool(min, max int, now func() time.Time, newVM func() (*vm, error)) (*pool, error) {
	if max < min {
		max = min
	}
	p := &pool{slots: make(chan struct{}, max), min: min, now: now, newVM: newVM}
	t := now()
	for i := 0; i < min; i++ {
		v, err := newVM()
		if err != nil {
			return nil, err
		}
		p.created.Add(1)
		p.idle = append(p.idle, idleVM{v, t})
	}
	return p, nil
}

// idleTTL is how long a runtime beyond the pool's min may stay unused.
const idleTTL = time.Minute

func (p *pool) get(ctx context.Context) (*vm, error) {
	start := time.Now()
	select {
	case p.slots <- struct{}{}:
	default:
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ErrPoolTimeout
		}
	}
	if p.waits != nil {
		p.waits(time.Since(start))
	}
	p.inUse.Add(1)
	if v := p.takeIdle(); v != nil {
		return v, nil
	}
	v, err := p.newVM()
	if err != nil {
		p.release()
		return nil, err
	}
	p.created.Add(1)
	return v, nil
}

func (p *pool) takeIdle() *vm {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	v := p.idle[n-1].v
	p.idle = p.idle[:n-1]
	return v
}

// idleVM is a runtime in the pool and when it was put back.
type idleVM struct {
	v     *vm
	since time.Time
}

// put returns v for the next step, and lets go of the runtime at the bottom
// of the stack if it has not been used for idleTTL.
func (p *pool) put(v *vm) {
	now := p.now()
	var stale *vm
	p.mu.Lock()
	p.idle = append(p.idle, idleVM{v, now})
	if len(p.idle) > p.min && now.Sub(p.idle[0].since) > idleTTL {
		stale = p.idle[0].v
		p.idle = slices.Delete(p.idle, 0, 1)
	}
	p.mu.Unlock()
	p.release()
	if stale != nil {
		p.created.Add(-1)
		close(stale.jobs) // its worker goroutine ends
	}
}

// drop gives up on v, which did not stop in time: its slot is free at once,
// so a fresh runtime can serve the next step while v's goroutine is still
// stuck in Go code. v is never used again.
func (p *pool) drop(v *vm) {
	p.created.Add(-1)
	p.dropped.Add(1)
	p.release()
	go func() {
		<-v.done
		close(v.jobs)
	}()
}

func (p *pool) release() {
	p.inUse.Add(-1)
	<-p.slots
}

// PoolStats are the runtime pool's figures.
type PoolStats struct {
	Max     int   `json:"max"`
	Created int64 `json:"created"`
	InUse   int64 `json:"in_use"`
	Dropped int64 `json:"dropped"` // runtimes replaced after they did not stop in time
}

func (p *pool) stats() PoolStats {
	return PoolStats{Max: cap(p.slots), Created: p.created.Load(), InUse: p.inUse.Load(), Dropped: p.dropped.Load()}
}
