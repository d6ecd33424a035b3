package session

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var _ Store = (*BoltStore)(nil)

var (
	bucketSessions = []byte("sessions") // tid -> record
	bucketExpiry   = []byte("expiry")   // expiry nanos + tid -> empty
	bucketMeta     = []byte("meta")     // keyCount -> the number of sessions, uint64 big-endian
	keyCount       = []byte("sessions")
)

// appendFill is how full bbolt fills a page it splits in the expiry
// index: its keys begin with the expiry, so new ones land at the right-hand
// end, and a page, once split, only loses keys (a session's next step moves
// its key to the end; the sweep takes the oldest). bbolt's default (half
// full) left the index twice the size of what it holds. The
// sessions bucket keeps the default: a session grows with each step after
// it is created, and its page needs the room (filled to 90 % at a split,
// it ended 59 % full instead of 81 %).
const appendFill = 0.9

// writeBuckets returns the two buckets a write transaction changes.
func writeBuckets(tx *bolt.Tx) (sessions, index *bolt.Bucket) {
	sessions, index = tx.Bucket(bucketSessions), tx.Bucket(bucketExpiry)
	index.FillPercent = appendFill
	return sessions, index
}

var errDatabaseNotOpen = bolterrors.ErrDatabaseNotOpen

// sweepChunk bounds the deletions of one Sweep transaction, so a large sweep
// does not hold the writer lock (and the committer) for long.
const sweepChunk = 1000

// BoltOptions configure OpenBolt. A nil *BoltOptions means defaults.
type BoltOptions struct {
	// Now is the clock that decides expiry; nil means time.Now.
	Now func() time.Time
	// NoSync skips fsync on commit. For benchmarks only: a crash may lose
	// or corrupt sessions.
	NoSync bool
	// OpenTimeout is how long to wait for the file lock another process
	// holds; 0 means 1s.
	OpenTimeout time.Duration
}

// BoltStore is the embedded durable Store on a bbolt file. Writes are group
// committed. The file lock makes it single-process, so Hold is in-process
// and ignores the lease.
type BoltStore struct {
	db    *bolt.DB
	path  string
	now   func() time.Time
	locks Locks

	qmu     sync.Mutex
	queue   []*op
	closed  atomic.Bool // set under qmu
	wake    chan struct{}
	stopped chan struct{}
}

// OpenBolt opens or creates the store at path. If another process has the
// file open, it fails after opts.OpenTimeout.
func OpenBolt(path string, opts *BoltOptions) (*BoltStore, error) {
	var o BoltOptions
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = time.Second
	}
	db, err := openDB(path, &o)
	if err != nil {
		return nil, err
	}
	b := &BoltStore{
		db: db, path: path, now: o.Now,
		wake: make(chan struct{}, 1), stopped: make(chan struct{}),
	}
	go b.run()
	return b, nil
}

func openDB(path string, o *BoltOptions) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      o.OpenTimeout,
		NoSync:       o.NoSync,
		FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("session: open %s: locked by another process (waited %s): %w", path, o.OpenTimeout, err)
	}
	if err != nil {
		return nil, fmt.Errorf("session: open %s: %w", path, err)
	}
	if err := db.Update(createBuckets); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("session: open %s: %w", path, err)
	}
	return db, nil
}

func createBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketSessions, bucketExpiry, bucketMeta} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	if tx.Bucket(bucketMeta).Get(keyCount) == nil {
		// A file from before the count: count once, here.
		return addCount(tx, int64(tx.Bucket(bucketSessions).Stats().KeyN))
	}
	return nil
}

// addCount adds d to the stored session count. Every transaction that
// creates or deletes sessions calls it, so Stats reads one key instead of
// walking the table (which, at a million sessions, reads the whole file).
func addCount(tx *bolt.Tx, d int64) error {
	n := max(readCount(tx), 0)
	return tx.Bucket(bucketMeta).Put(keyCount, binary.BigEndian.AppendUint64(nil, uint64(max(n+d, 0))))
}

// readCount is the stored session count, -1 if there is none yet.
func readCount(tx *bolt.Tx) int64 {
	if v := tx.Bucket(bucketMeta).Get(keyCount); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	return -1
}

// Create stores s as a new session at Version 1 and sets s.Version to 1.
func (b *BoltStore) Create(ctx context.Context, s *Session) error {
	return b.write(ctx, s, true)
}

// Save stores s if the stored version is still s.Version, and increments
// s.Version.
func (b *BoltStore) Save(ctx context.Context, s *Session) error {
	return b.write(ctx, s, false)
}

// Load returns the session stored under tid.
func (b *BoltStore) Load(ctx context.Context, tid string) (*Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if b.closed.Load() {
		return nil, ErrClosed
	}
	now := unixNanos(b.now())
	var s *Session
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSessions).Get([]byte(tid))
		if v == nil {
			return ErrNotFound
		}
		h, err := readHeader(v)
		switch {
		case err != nil:
			return fmt.Errorf("%w: %q", err, tid)
		case h.expires && now >= h.exp:
			return ErrExpired
		}
		s, err = decodeRecord(v, h)
		return err
	})
	if err != nil {
		return nil, mapBoltErr(err)
	}
	if s.Data == nil {
		s.Data = map[string]any{}
	}
	if s.Steps == nil {
		s.Steps = map[string]*StepRecord{}
	}
	return s, nil
}

// Hold holds tid in this process; lease is ignored.
func (b *BoltStore) Hold(ctx context.Context, tid string, wait, lease time.Duration) (func(), error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	return b.locks.Hold(ctx, tid, wait)
}

// Sweep deletes the sessions that expired at or before cutoff, walking the
// expiry index in chunks of sweepChunk per transaction.
func (b *BoltStore) Sweep(ctx context.Context, cutoff time.Time) (int, error) {
	total := 0
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		if b.closed.Load() {
			return total, ErrClosed
		}
		n, more, err := b.sweepOnce(unixNanos(cutoff))
		total += n
		if err != nil || !more {
			return total, mapBoltErr(err)
		}
	}
}

// sweepOnce deletes up to sweepChunk expired sessions and reports whether
// more index entries may be due.
func (b *BoltStore) sweepOnce(cutoff int64) (n int, more bool, err error) {
	err = b.db.Update(func(tx *bolt.Tx) error {
		sessions, index := writeBuckets(tx)
		keys := dueKeys(index, cutoff)
		more = len(keys) == sweepChunk
		for _, k := range keys {
			if err := index.Delete(k); err != nil {
				return err
			}
			deleted, err := deleteIfIndexed(sessions, k)
			if err != nil {
				return err
			}
			if deleted {
				n++
			}
		}
		b.syncFreelist()
		if n == 0 {
			return nil
		}
		return addCount(tx, -int64(n))
	})
	return n, more, err
}

// dueKeys copies up to sweepChunk index keys due at or before cutoff;
// copied because the bucket changes while they are used.
func dueKeys(index *bolt.Bucket, cutoff int64) [][]byte {
	if cutoff < 0 {
		return nil
	}
	var keys [][]byte
	c := index.Cursor()
	for k, _ := c.First(); k != nil && len(keys) < sweepChunk; k, _ = c.Next() {
		if len(k) < 8 || expiryKeyTime(k) > cutoff {
			break
		}
		keys = append(keys, append([]byte(nil), k...))
	}
	return keys
}

// deleteIfIndexed deletes the session an expiry key names, if that key is
// still the session's own (it always should be; a stale key is dropped).
func deleteIfIndexed(sessions *bolt.Bucket, k []byte) (bool, error) {
	tid := k[8:]
	v := sessions.Get(tid)
	if v == nil {
		return false, nil
	}
	h, err := readHeader(v)
	if err != nil || string(appendExpiryKey(nil, h, string(tid))) != string(k) {
		return false, nil
	}
	return true, sessions.Delete(tid)
}

// Stats reports the session count and the file size; -1 when closed.
func (b *BoltStore) Stats() Stats {
	st := Stats{Backend: "bolt", Sessions: -1, Bytes: -1}
	if b.closed.Load() {
		return st
	}
	_ = b.db.View(func(tx *bolt.Tx) error {
		st.Sessions = readCount(tx)
		return nil
	})
	if fi, err := os.Stat(b.path); err == nil {
		st.Bytes = fi.Size()
	}
	return st
}

// Close commits the writes already queued, stops the committer and closes
// the file. Later calls fail with ErrClosed; closing twice is harmless.
func (b *BoltStore) Close() error {
	b.qmu.Lock()
	if b.closed.Load() {
		b.qmu.Unlock()
		return nil
	}
	b.closed.Store(true)
	b.qmu.Unlock()
	b.wakeCommitter()
	<-b.stopped
	// Leave the free list written, so that the next open reads it instead
	// of scanning the file. The field is read and set only by the writer.
	err := b.db.Update(func(*bolt.Tx) error {
		if !b.db.NoFreelistSync {
			return errFreelistWritten // nothing to commit
		}
		b.db.NoFreelistSync = false
		return nil
	})
	if errors.Is(err, errFreelistWritten) {
		err = nil
	}
	return errors.Join(err, b.db.Close())
}

var errFreelistWritten = errors.New("session: the free list is already written")

// Free-list policy. bbolt writes its whole free list on every commit, and
// sorts it first: with thousands of free pages (a sweep of many expired
// sessions, a seeded table) that was ~5 % of the server's CPU under load at
// 1,000,000 sessions. Above freelistUnsyncAbove free pages commits leave it
// out (bbolt's NoFreelistSync); below freelistSyncBelow they write it
// again, as does Close. The file is never wrong either way: an open after a
// crash while it was left out rebuilds the list by reading the whole file
// (~0.4 s for 1 GB in the page cache here, ~26 s from disk).
const (
	freelistUnsyncAbove = 2048
	freelistSyncBelow   = 1024
)

// syncFreelist applies the policy; it runs inside the write transactions
// of the store (the one writer), before they commit.
func (b *BoltStore) syncFreelist() {
	free := b.db.Stats().FreePageN
	switch {
	case b.closed.Load() || free < freelistSyncBelow:
		b.db.NoFreelistSync = false
	case free > freelistUnsyncAbove:
		b.db.NoFreelistSync = true
	}
}
