package engine

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// pool lends runtimes to steps. It keeps min runtimes warm, grows to max
// under load, and makes a step wait (on its request context) beyond that.
// A runtime that did not stop when interrupted is dropped, not returned, and
// a fresh one replaces it on demand.
type pool struct {
	slots   chan struct{} // one token per runtime that may exist or be lent
	mu      sync.Mutex
	idle    []*vm
	newVM   func() (*vm, error)
	created atomic.Int64
	inUse   atomic.Int64
	dropped atomic.Int64
	waits   func(time.Duration) // observes how long Get waited, may be nil
}

func newPool(min, max int, newVM func() (*vm, error)) (*pool, error) {
	if max < min {
		max = min
	}
	p := &pool{slots: make(chan struct{}, max), newVM: newVM}
	for i := 0; i < min; i++ {
		v, err := newVM()
		if err != nil {
			return nil, err
		}
		p.created.Add(1)
		p.idle = append(p.idle, v)
	}
	return p, nil
}

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
	v := p.idle[n-1]
	p.idle = p.idle[:n-1]
	return v
}

// put returns v for the next step.
func (p *pool) put(v *vm) {
	p.mu.Lock()
	p.idle = append(p.idle, v)
	p.mu.Unlock()
	p.release()
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
