package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// Group commit: Create and Save queue an op and wait; one committer
// goroutine applies everything queued in a single write transaction, so one
// fsync serves every writer that arrived while the previous one ran. An idle
// store commits a lone op at once.

// maxPooledBuf keeps a rare huge session from pinning its buffer in the pool.
const maxPooledBuf = 64 << 10

// op is one queued Create or Save. The caller fills it and waits on done;
// the committer sets err (and the caller then reads version).
type op struct {
	create  bool
	tid     string
	want    uint64 // the stored version a Save expects
	version uint64 // the version written
	val     []byte // the record, a view of buf
	exp     []byte // the new expiry index key, nil if none
	err     error
	done    chan struct{}

	buf bytes.Buffer
	enc *json.Encoder
}

var opPool = sync.Pool{New: func() any {
	o := &op{done: make(chan struct{}, 1)}
	o.enc = json.NewEncoder(&o.buf)
	o.enc.SetEscapeHTML(false)
	return o
}}

func getOp() *op { return opPool.Get().(*op) }

func putOp(o *op) {
	if o.buf.Cap() > maxPooledBuf {
		return
	}
	o.tid, o.val, o.exp, o.err = "", nil, nil, nil
	opPool.Put(o)
}

// prepare encodes s into o, in the caller's goroutine so that encoding runs
// in parallel and the committer only checks and writes.
func (o *op) prepare(s *Session, create bool) error {
	o.create, o.tid, o.want, o.version = create, s.TID, s.Version, s.Version+1
	if create {
		o.want, o.version = 0, 1
	}
	h := headerOf(s, o.version)
	c := *s
	c.Version = o.version
	o.buf.Reset()
	b, ok := appendBinary(appendHeader(o.buf.AvailableBuffer(), h), &c)
	n := len(b)
	if ok {
		o.buf.Write(b)
	} else {
		h.format = formatJSON
		o.buf.Write(appendHeader(o.buf.AvailableBuffer(), h))
		if err := o.enc.Encode(&c); err != nil {
			return fmt.Errorf("session: encode %q: %w", s.TID, err)
		}
		n = o.buf.Len() - 1 // without Encode's newline
	}
	// The expiry key goes after the record in the same buffer; Put needs
	// both to stay valid until the commit returns.
	key := o.buf.Len()
	o.buf.Write(appendExpiryKey(o.buf.AvailableBuffer(), h, s.TID))
	o.val = o.buf.Bytes()[:n]
	if o.buf.Len() > key {
		o.exp = o.buf.Bytes()[key:]
	}
	return nil
}

// write queues s as a Create or Save and waits for its commit.
func (b *BoltStore) write(ctx context.Context, s *Session, create bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if create {
		if err := checkTID(s.TID); err != nil {
			return err
		}
	}
	o := getOp()
	defer putOp(o)
	if err := o.prepare(s, create); err != nil {
		return err
	}
	if err := b.enqueue(o); err != nil {
		return err
	}
	// The op is waited for even if ctx ends: once queued it may commit, and
	// the caller must learn whether it did.
	<-o.done
	if o.err == nil {
		s.Version = o.version
	}
	return o.err
}

func (b *BoltStore) enqueue(o *op) error {
	b.qmu.Lock()
	if b.closed.Load() {
		b.qmu.Unlock()
		return ErrClosed
	}
	b.queue = append(b.queue, o)
	b.qmu.Unlock()
	b.wakeCommitter()
	return nil
}

func (b *BoltStore) wakeCommitter() {
	select {
	case b.wake <- struct{}{}:
	default: // a wake is already pending
	}
}

// run is the committer. It exits once Close is seen, after committing what
// was queued before it, so no op is left waiting.
func (b *BoltStore) run() {
	defer close(b.stopped)
	var batch []*op
	for range b.wake {
		// As in internal/boltgroup: let the ready goroutines queue first.
		runtime.Gosched()
		b.qmu.Lock()
		batch, b.queue = b.queue, batch
		closed := b.closed.Load()
		b.qmu.Unlock()
		if len(batch) > 0 {
			b.commit(batch)
		}
		clear(batch)
		batch = batch[:0]
		if closed {
			return
		}
	}
}

// commit applies batch in one transaction and answers every op. An op whose
// precondition fails is skipped without touching the others; a failed write
// or commit fails them all, since nothing of the transaction is kept.
func (b *BoltStore) commit(batch []*op) {
	err := b.db.Update(func(tx *bolt.Tx) error {
		sessions, index := writeBuckets(tx)
		b.syncFreelist()
		var old []byte
		created := int64(0)
		for _, o := range batch {
			var err error
			if old, err = check(sessions, o, old[:0]); err != nil {
				o.err = err
				continue
			}
			if err := apply(sessions, index, o, old); err != nil {
				return err
			}
			if o.create {
				created++
			}
		}
		if created == 0 {
			return nil
		}
		return addCount(tx, created)
	})
	for _, o := range batch {
		if err != nil {
			o.err = fmt.Errorf("session: commit: %w", mapBoltErr(err))
		}
		o.done <- struct{}{}
	}
}

// check tests o's precondition against the stored record, reading only,
// and appends the stored record's expiry key to old.
func check(sessions *bolt.Bucket, o *op, old []byte) ([]byte, error) {
	v := sessions.Get([]byte(o.tid))
	switch {
	case o.create && v != nil:
		return old, ErrExists
	case o.create:
		return old, nil
	case v == nil:
		return old, ErrNotFound
	}
	h, err := readHeader(v)
	if err != nil {
		return old, fmt.Errorf("%w: %q", err, o.tid)
	}
	if h.version != o.want {
		return old, ErrConflict
	}
	return appendExpiryKey(old, h, o.tid), nil
}

// apply writes o's record and moves its expiry index entry from old.
func apply(sessions, index *bolt.Bucket, o *op, old []byte) error {
	if err := sessions.Put([]byte(o.tid), o.val); err != nil {
		return err
	}
	if bytes.Equal(old, o.exp) {
		return nil
	}
	if len(old) > 0 {
		if err := index.Delete(old); err != nil {
			return err
		}
	}
	if len(o.exp) > 0 {
		return index.Put(o.exp, []byte{})
	}
	return nil
}

// mapBoltErr turns bbolt's closed-database error into ErrClosed.
func mapBoltErr(err error) error {
	if errors.Is(err, errDatabaseNotOpen) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}
