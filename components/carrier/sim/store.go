package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// The books. With a file, they live only in it: charges by TID, and the
// TID each cancel ID was applied to, so that a long-running sandbox holds
// no memory per payment. Without one (tests), they are two maps.
var (
	bucketCharges = []byte("charges") // TID -> Entry as JSON
	bucketCancels = []byte("cancels") // cancel ID -> TID
)

func openDB(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("sim: open %s: locked by another process: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("sim: open %s: %w", path, err)
	}
	if err := db.Update(createBuckets); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sim: open %s: %w", path, err)
	}
	return db, nil
}

// createBuckets creates the buckets, and the cancel index of a file
// written before it existed.
func createBuckets(tx *bolt.Tx) error {
	charges, err := tx.CreateBucketIfNotExists(bucketCharges)
	if err != nil {
		return err
	}
	if tx.Bucket(bucketCancels) != nil {
		return nil
	}
	cancels, err := tx.CreateBucket(bucketCancels)
	if err != nil {
		return err
	}
	return charges.ForEach(func(k, v []byte) error {
		e := new(Entry)
		if err := json.Unmarshal(v, e); err != nil {
			return fmt.Errorf("sim: load %q: %w", k, err)
		}
		for _, c := range e.Cancels {
			if err := cancels.Put([]byte(c.ID), []byte(e.TID)); err != nil {
				return err
			}
		}
		return nil
	})
}

// entry returns tid's entry, nil if the carrier never saw tid. The copy
// belongs to the caller.
func (s *Simulator) entry(tid string) (*Entry, error) {
	if s.db == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if e, ok := s.charges[tid]; ok {
			return e.clone(), nil
		}
		return nil, nil
	}
	var e *Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketCharges).Get([]byte(tid))
		if v == nil {
			return nil
		}
		e = new(Entry)
		return json.Unmarshal(v, e)
	})
	if err != nil {
		return nil, fmt.Errorf("sim: read %q: %w", tid, err)
	}
	return e, nil
}

// cancelOwner returns the TID cancelID was applied to, "" if none.
func (s *Simulator) cancelOwner(cancelID string) (string, error) {
	if s.db == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.cancels[cancelID], nil
	}
	var owner string
	err := s.db.View(func(tx *bolt.Tx) error {
		owner = string(tx.Bucket(bucketCancels).Get([]byte(cancelID)))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("sim: read cancel %q: %w", cancelID, err)
	}
	return owner, nil
}

// put records e (and, for a cancel, cancelID's TID) durably, before the
// caller answers. Called with e's TID (and cancelID) held: the commit is
// shared with the other TIDs' writes queued meanwhile.
func (s *Simulator) put(e *Entry, cancelID string) error {
	if s.db == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.charges[e.TID] = e.clone()
		if cancelID != "" {
			s.cancels[cancelID] = e.TID
		}
		return nil
	}
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	err = s.group.Update(context.Background(), func(tx *bolt.Tx) error {
		if cancelID != "" {
			if err := tx.Bucket(bucketCancels).Put([]byte(cancelID), []byte(e.TID)); err != nil {
				return err
			}
		}
		charges := tx.Bucket(bucketCharges)
		charges.FillPercent = 0.9 // keyed by TID, so by time: a split page is rarely written again
		return charges.Put([]byte(e.TID), v)
	})
	if err != nil {
		return fmt.Errorf("sim: store: %w", err)
	}
	return nil
}

// entries returns every entry, sorted by TID.
func (s *Simulator) entries() ([]Entry, error) {
	out := []Entry{}
	if s.db == nil {
		s.mu.Lock()
		for _, e := range s.charges {
			out = append(out, *e.clone())
		}
		s.mu.Unlock()
		slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.TID, b.TID) })
		return out, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCharges).ForEach(func(k, v []byte) error {
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("sim: read %q: %w", k, err)
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}
