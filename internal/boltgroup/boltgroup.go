// Package boltgroup is group commit for bbolt: the fns of concurrent
// Updates run one after the other in a shared read-write transaction, and
// one commit (one fsync) makes them all durable.
//
// bbolt has one writer and each commit costs an fsync, so a transaction per
// write caps a store at about one write per fsync. With a Committer, Update
// queues its fn and waits; one committer goroutine runs every fn queued
// meanwhile in a single transaction. An idle Committer commits a lone fn at
// once: no delay is added to wait for company (bbolt's DB.Batch waits up to
// MaxBatchDelay, which costs more than it saves below about 40 writers).
//
// A fn that fails aborts the shared transaction, since bbolt cannot undo
// part of one. The committer then runs the batch again without it. The
// failed fn's answer stands if it ran first in its batch (it then saw
// exactly the committed state); otherwise it runs again, alone, in its
// caller's goroutine. A panic in fn is never swallowed: that fn runs again
// alone in its caller's goroutine, and panics there. So fn may run more
// than once, and must have no effect outside the transaction that a second
// run would not make right.
package boltgroup

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// ErrClosed: Update was called after Close.
var ErrClosed = errors.New("boltgroup: committer closed")

// maxBatch bounds one transaction, so that a failing fn late in a huge
// batch does not make the committer redo an unbounded amount of work.
const maxBatch = 256

// Committer runs Updates on one bbolt file in shared transactions. The
// file's other writers, if any, simply take turns with it for bbolt's
// writer lock.
type Committer struct {
	db      *bolt.DB
	mu      sync.Mutex
	queue   []*call
	closed  bool
	wake    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// call is one queued Update; done gets one value when it is answered.
type call struct {
	ctx  context.Context
	fn   func(*bolt.Tx) error
	err  error
	solo bool // failed inside a batch: runs again alone
	done chan struct{}
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

// errAbort aborts a batch's transaction after one of its fns failed.
var errAbort = errors.New("boltgroup: batch aborted")

// New starts a Committer on db. Close stops it; db stays open.
func New(db *bolt.DB) *Committer {
	c := &Committer{db: db, wake: make(chan struct{}, 1), stopped: make(chan struct{})}
	go c.loop()
	return c
}

// Update runs fn in a read-write transaction, usually shared, and returns
// once fn's writes are durable, or fn's error (as is) with none of them. A
// context that ends while fn waits in the queue makes Update return its
// error without running fn; once queued, Update waits for its answer even
// if ctx ends, so that the caller learns whether fn committed. An error of
// bbolt's own (the commit failed) comes back as bbolt gave it.
func (c *Committer) Update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k := callPool.Get().(*call)
	k.ctx, k.fn = ctx, fn
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		put(k)
		return ErrClosed
	}
	c.queue = append(c.queue, k)
	c.mu.Unlock()
	c.signal()
	<-k.done
	err, solo := k.err, k.solo
	put(k)
	if solo {
		return c.db.Update(func(tx *bolt.Tx) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(tx)
		})
	}
	return err
}

func put(k *call) {
	k.ctx, k.fn, k.err, k.solo = nil, nil, nil, false
	callPool.Put(k)
}

func (c *Committer) signal() {
	select {
	case c.wake <- struct{}{}:
	default: // a wake is already pending
	}
}

// Close answers every Update queued before it, then stops the committer.
// Later Updates fail with ErrClosed. Closing twice is harmless.
func (c *Committer) Close() {
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.signal()
		<-c.stopped
	})
}

// loop is the committer goroutine.
func (c *Committer) loop() {
	defer close(c.stopped)
	var spare []*call
	for range c.wake {
		// Let the goroutines that are ready run first: under load some of
		// them are about to queue an Update, and joining this commit saves
		// them an fsync of their own. With nothing else ready it returns at
		// once, so an idle store adds no delay.
		runtime.Gosched()
		c.mu.Lock()
		batch := c.queue
		c.queue = spare
		closed := c.closed
		c.mu.Unlock()
		for i := 0; i < len(batch); i += maxBatch {
			c.commit(batch[i:min(i+maxBatch, len(batch))])
		}
		clear(batch)
		spare = batch[:0]
		if closed {
			return
		}
	}
}

// commit runs batch in one transaction and answers every call in it.
func (c *Committer) commit(batch []*call) {
	pending := batch
	for len(pending) > 0 {
		failed := -1
		var failErr error
		err := c.db.Update(func(tx *bolt.Tx) error {
			for i, k := range pending {
				if err := k.ctx.Err(); err != nil {
					k.err = err // it gave up: no write, nothing to undo
					continue
				}
				if err := safely(k.fn, tx); err != nil {
					failed, failErr = i, err
					return errAbort
				}
			}
			return nil
		})
		if failed < 0 {
			for _, k := range pending {
				if err != nil && k.err == nil {
					k.err = err
				}
				k.done <- struct{}{}
			}
			return
		}
		k := pending[failed]
		var p panicked
		if errors.As(failErr, &p) || failed > 0 {
			// A panic must reach its own caller; a later fn saw the
			// uncommitted writes of the fns before it.
			k.solo = true
		} else {
			k.err = failErr
		}
		k.done <- struct{}{}
		// The fns before it were rolled back with it: they run again.
		pending = append(pending[:failed:failed], pending[failed+1:]...)
	}
}

// panicked carries a panic out of a batch's fn.
type panicked struct{ v any }

func (p panicked) Error() string { return fmt.Sprintf("boltgroup: panic in Update: %v", p.v) }

func safely(fn func(*bolt.Tx) error, tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = panicked{r}
		}
	}()
	return fn(tx)
}
