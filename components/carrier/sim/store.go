package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

var bucketCharges = []byte("charges") // TID -> Entry as JSON

func openDB(path string) (*bolt.DB, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("sim: open %s: locked by another process: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("sim: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketCharges)
		return err
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("sim: open %s: %w", path, err)
	}
	return db, nil
}

// load restores the books and the cancel ID index.
func (s *Simulator) load() error {
	return s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCharges).ForEach(func(k, v []byte) error {
			e := new(Entry)
			if err := json.Unmarshal(v, e); err != nil {
				return fmt.Errorf("sim: load %q: %w", k, err)
			}
			s.charges[e.TID] = e
			for _, c := range e.Cancels {
				s.cancels[c.ID] = e.TID
			}
			return nil
		})
	})
}

// put commits e durably (when there is a file), before the caller makes
// it visible and answers. Called with e's TID held and s.mu not held: the
// commit is shared with the other TIDs' writes queued meanwhile.
func (s *Simulator) put(e *Entry) error {
	if s.db == nil {
		return nil
	}
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	err = s.group.Update(context.Background(), func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCharges).Put([]byte(e.TID), v)
	})
	if err != nil {
		return fmt.Errorf("sim: store: %w", err)
	}
	return nil
}
