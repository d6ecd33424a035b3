package boltstore

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/tunapay/tuna/components/payment"
	bolt "go.etcd.io/bbolt"
)

// dueKey sorts by t, then id: t's Unix seconds with the sign bit flipped
// (so that negative ones sort first), big-endian, its nanoseconds, and id.
func dueKey(t time.Time, id string) []byte {
	k := make([]byte, 12, 12+len(id))
	binary.BigEndian.PutUint64(k, uint64(t.Unix())^(1<<63))
	binary.BigEndian.PutUint32(k[8:], uint32(t.Nanosecond()))
	return append(k, id...)
}

// dueTime is the time of a due key.
func dueTime(k []byte) time.Time {
	return time.Unix(int64(binary.BigEndian.Uint64(k)^(1<<63)), int64(binary.BigEndian.Uint32(k[8:12])))
}

func (t *tx) Event(id string) (*payment.Event, error) {
	var e payment.Event
	if err := t.read(bucketEvents, id, &e); err != nil {
		return nil, fmt.Errorf("boltstore: event %q: %w", id, err)
	}
	return &e, nil
}

// PutEvent stores e and keeps its due index entry: one, under its NextAt,
// while it is PENDING.
func (t *tx) PutEvent(e *payment.Event) error {
	if e == nil || e.ID == "" {
		return fmt.Errorf("boltstore: put event: empty id: %w", ErrInvalidKey)
	}
	if err := t.putEvent(e); err != nil {
		return fmt.Errorf("boltstore: put event %q: %w", e.ID, err)
	}
	return nil
}

func (t *tx) putEvent(e *payment.Event) error {
	if err := t.writable(); err != nil {
		return err
	}
	events, due := t.btx.Bucket(bucketEvents), t.btx.Bucket(bucketDue)
	if data := events.Get([]byte(e.ID)); data != nil {
		var old payment.Event
		if err := json.Unmarshal(data, &old); err != nil {
			return fmt.Errorf("decode stored event: %w", err)
		}
		if err := due.Delete(dueKey(old.NextAt, old.ID)); err != nil {
			return err
		}
	}
	if err := put(events, []byte(e.ID), e); err != nil {
		return err
	}
	if e.Status != payment.EventPending {
		return nil
	}
	return due.Put(dueKey(e.NextAt, e.ID), []byte{})
}

// DueEvents walks the due index up to now: it never reads an event that is
// not due.
func (s *Store) DueEvents(ctx context.Context, now time.Time, limit int) ([]payment.Event, error) {
	out := []payment.Event{}
	err := s.view(ctx, func(btx *bolt.Tx) error {
		events, c := btx.Bucket(bucketEvents), btx.Bucket(bucketDue).Cursor()
		for k, _ := c.First(); k != nil && (limit <= 0 || len(out) < limit); k, _ = c.Next() {
			if len(k) < 12 || dueTime(k).After(now) {
				break
			}
			var e payment.Event
			if err := get(events, bytes.Clone(k[12:]), &e); err != nil {
				return fmt.Errorf("due event %q: %w", k[12:], err)
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Events reads every event: the list is for operators, not a hot path.
func (s *Store) Events(ctx context.Context, f payment.EventFilter) ([]payment.Event, error) {
	all, err := listAll[payment.Event](ctx, s, bucketEvents)
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(all, func(e payment.Event) bool {
		return f.Status != "" && e.Status != f.Status || f.CPID != "" && e.CPID != f.CPID || f.TID != "" && e.TID != f.TID
	})
	slices.SortFunc(out, func(a, b payment.Event) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}
