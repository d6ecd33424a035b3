package session

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestLocks_Hold_DropsEntries checks that the table keeps no entry for a
// TID nobody holds or waits on, whether released or given up on.
func TestLocks_Hold_DropsEntries(t *testing.T) {
	var l Locks // the zero value is usable
	for i := range 100 {
		release, err := l.Hold(t.Context(), fmt.Sprint("tid-", i), 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := l.Hold(t.Context(), fmt.Sprint("tid-", i), time.Millisecond); !errors.Is(err, ErrBusy) {
			t.Fatalf("second Hold: err %v, want ErrBusy", err)
		}
		release()
		release()
	}
	if len(l.held) != 0 {
		t.Fatalf("%d entries left after every release", len(l.held))
	}
}

func TestLocks_Hold_NoWait(t *testing.T) {
	l := NewLocks()
	release, err := l.Hold(t.Context(), "tid", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if _, err := l.Hold(t.Context(), "tid", 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hold without wait on a held TID: err %v, want ErrBusy", err)
	}
}

func BenchmarkLocks_Hold(b *testing.B) {
	l := NewLocks()
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		release, err := l.Hold(ctx, "tid", 0)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}
