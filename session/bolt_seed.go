package session

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// seedChunk is how many sessions one Seed transaction writes: large enough
// that a million sessions take a few dozen commits, small enough that a
// transaction's dirty pages stay tens of megabytes.
const seedChunk = 20000

// seedMu serialises Seed calls, which switch the file's fsync off and back.
var seedMu sync.Mutex

// SeedResult says what Seed wrote.
type SeedResult struct {
	Sessions    int   // sessions written
	RecordBytes int64 // the size of their records (header and body), keys not counted
}

// Seed writes n new sessions, gen(i) returning the i-th, as n Creates would:
// the same record at Version 1 (s.Version is set to 1) and the same expiry
// index entry, so Load, Save and Sweep treat them as any other session. It
// is for filling a table to measure it, on a store that serves no traffic:
// it commits seedChunk sessions per transaction with their keys sorted and
// skips fsync until one final commit that syncs them all, so a machine
// crash meanwhile may lose what it wrote (and what others wrote meanwhile).
//
// gen is called from one goroutine, in order. A TID that is already stored,
// or given twice, fails with ErrExists, and so does nothing of its
// transaction; the transactions committed before an error stay.
func (b *BoltStore) Seed(ctx context.Context, n int, gen func(i int) *Session) (res SeedResult, err error) {
	if b.closed.Load() {
		return res, ErrClosed
	}
	seedMu.Lock()
	defer seedMu.Unlock()
	synced, err := b.noSync()
	if err != nil {
		return res, mapBoltErr(err)
	}
	defer func() {
		// One commit with fsync as configured: fdatasync flushes every
		// earlier unsynced write of the file with it.
		if rerr := b.db.Update(func(*bolt.Tx) error { b.db.NoSync = !synced; return nil }); rerr != nil && err == nil {
			err = fmt.Errorf("session: seed: final sync: %w", mapBoltErr(rerr))
		}
	}()

	batch := make([]*Session, 0, min(n, seedChunk))
	ops := make([]*op, 0, min(n, seedChunk))
	defer func() {
		for _, o := range ops {
			putOp(o)
		}
	}()
	for start := 0; start < n; start += seedChunk {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if b.closed.Load() {
			return res, ErrClosed
		}
		batch = batch[:0]
		for i := start; i < min(n, start+seedChunk); i++ {
			s := gen(i)
			if err := checkTID(s.TID); err != nil {
				return res, err
			}
			batch = append(batch, s)
		}
		for len(ops) < len(batch) {
			ops = append(ops, getOp())
		}
		chunk := ops[:len(batch)]
		if err := prepareAll(batch, chunk); err != nil {
			return res, err
		}
		slices.SortFunc(chunk, func(x, y *op) int { return strings.Compare(x.tid, y.tid) })
		if err := b.writeSeed(chunk); err != nil {
			return res, err
		}
		for _, s := range batch {
			s.Version = 1
		}
		for _, o := range chunk {
			res.RecordBytes += int64(len(o.val))
		}
		res.Sessions += len(batch)
	}
	return res, nil
}

// noSync switches fsync off for the commits that follow and returns whether
// it was on. NoSync is only changed and read inside write transactions, so
// under bbolt's writer lock.
func (b *BoltStore) noSync() (synced bool, err error) {
	err = b.db.Update(func(*bolt.Tx) error {
		synced = !b.db.NoSync
		b.db.NoSync = true
		return nil
	})
	return synced, err
}

// prepareAll encodes each session into its op as Create does, spread over
// the CPUs.
func prepareAll(batch []*Session, ops []*op) error {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(batch)/256))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(batch)/workers, (w+1)*len(batch)/workers
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				if err := ops[i].prepare(batch[i], true); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// writeSeed writes the prepared creates in one transaction, through the
// committer's own check and apply.
func (b *BoltStore) writeSeed(ops []*op) error {
	err := b.db.Update(func(tx *bolt.Tx) error {
		sessions, index := writeBuckets(tx)
		for _, o := range ops {
			if _, err := check(sessions, o, nil); err != nil {
				return fmt.Errorf("session: seed %q: %w", o.tid, err)
			}
			if err := apply(sessions, index, o, nil); err != nil {
				return err
			}
		}
		return addCount(tx, int64(len(ops)))
	})
	if err != nil {
		return mapBoltErr(err)
	}
	return nil
}
