// Package bolttest holds checks that the bbolt stores' tests share.
package bolttest

import (
	"testing"

	bolt "go.etcd.io/bbolt"
)

// LeafFill fails t unless bucket in db spans at least minPages leaf pages
// that are, taken together, more than min full: what a bucket whose pages
// bbolt splits at a high FillPercent should show after writes in key order.
func LeafFill(t testing.TB, db *bolt.DB, bucket []byte, minPages int, min float64) {
	t.Helper()
	err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			t.Errorf("%s: no such bucket", bucket)
			return nil
		}
		st := b.Stats()
		if fill := float64(st.LeafInuse) / float64(st.LeafAlloc); st.LeafPageN < minPages || fill < min {
			t.Errorf("%s: %d pages %.2f full, want at least %d more than %.2f full", bucket, st.LeafPageN, fill, minPages, min)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
