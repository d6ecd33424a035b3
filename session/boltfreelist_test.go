package session

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncedFreelist reads the file's current meta page (the valid one with the
// higher transaction id) and reports whether it points at a written free
// list, as bbolt's hasSyncedFreelist does.
func syncedFreelist(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pageSize := int(binary.LittleEndian.Uint32(f[24:]))
	var best struct {
		txid     uint64
		freelist uint64
	}
	for _, off := range []int{0, pageSize} {
		m := f[off:]
		if binary.LittleEndian.Uint32(m[16:]) != 0xED0CDAED { // bbolt's magic
			continue
		}
		if txid := binary.LittleEndian.Uint64(m[64:]); txid >= best.txid {
			best.txid, best.freelist = txid, binary.LittleEndian.Uint64(m[48:])
		}
	}
	return best.freelist != ^uint64(0)
}

// fill creates n sessions expiring at exp, 1 KB of data each, from
// several goroutines so that they share commits.
func fill(t *testing.T, b *BoltStore, prefix string, n int, exp time.Time) {
	t.Helper()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				s := &Session{TID: fmt.Sprintf("%s-%06d", prefix, i), ExpiresAt: exp,
					Data: map[string]any{"note": strings.Repeat("x", 1000)}}
				if err := b.Create(context.Background(), s); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// A store with many free pages commits without writing its free list, goes
// back to writing it once they are reused, and leaves it written when it
// closes; a file left without one (a crash meanwhile) opens with every
// session and the same free pages, bbolt reading the file to find them.
func TestBolt_FreelistPolicy(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	now := epoch
	b, err := OpenBolt(path, &BoltOptions{NoSync: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	fill(t, b, "old", 6000, epoch.Add(time.Minute))
	if n, err := b.Sweep(context.Background(), epoch.Add(time.Hour)); err != nil || n != 6000 {
		t.Fatalf("swept %d, %v", n, err)
	}
	fill(t, b, "new", 10, epoch.Add(2*time.Hour)) // the first commits after the sweep
	free := b.db.Stats().FreePageN
	if free <= freelistUnsyncAbove || !b.db.NoFreelistSync || syncedFreelist(t, path) {
		t.Fatalf("after the sweep: %d free pages, free list left out %v, written %v",
			free, b.db.NoFreelistSync, syncedFreelist(t, path))
	}

	// What a crash now leaves: every session there, the free pages found.
	crash := filepath.Join(dir, "crash.db")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(crash, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := OpenBolt(crash, &BoltOptions{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.Sessions != 10 {
		t.Fatalf("after a crash: %+v", st)
	}
	if _, err := c.Load(context.Background(), "new-000003"); err != nil {
		t.Fatal(err)
	}
	if got := c.db.Stats().FreePageN; got < free-16 || got > free+16 {
		t.Fatalf("after a crash bbolt found %d free pages, the store had %d", got, free)
	}
	if err := c.Close(); err != nil || !syncedFreelist(t, crash) {
		t.Fatalf("closing the crashed copy: %v, free list written %v", err, syncedFreelist(t, crash))
	}

	// Reused, the free pages fall below the threshold: written again.
	fill(t, b, "more", 6000, epoch.Add(2*time.Hour))
	if free := b.db.Stats().FreePageN; free >= freelistSyncBelow || b.db.NoFreelistSync || !syncedFreelist(t, path) {
		t.Fatalf("after reuse: %d free pages, left out %v, written %v", free, b.db.NoFreelistSync, syncedFreelist(t, path))
	}

	// Close writes it whatever the count.
	fill(t, b, "gone", 6000, epoch.Add(3*time.Hour))
	if _, err := b.Sweep(context.Background(), epoch.Add(4*time.Hour)); err != nil {
		t.Fatal(err)
	}
	fill(t, b, "last", 1, epoch.Add(5*time.Hour))
	if !b.db.NoFreelistSync {
		t.Fatal("the second sweep's free pages did not turn the policy")
	}
	if err := b.Close(); err != nil || !syncedFreelist(t, path) {
		t.Fatalf("Close: %v, free list written %v", err, syncedFreelist(t, path))
	}
}
