package session

import (
	"fmt"
	"math"
	"time"
)

// Rules every backend shares. A zero ExpiresAt means the session never
// expires and is never swept.

// maxTIDLen bounds a TID, well inside every backend's key limit.
const maxTIDLen = 256

// checkTID rejects TIDs no backend can store.
func checkTID(tid string) error {
	if tid == "" || len(tid) > maxTIDLen {
		return fmt.Errorf("session: TID must be 1 to %d bytes, got %d", maxTIDLen, len(tid))
	}
	return nil
}

// expired reports whether s has expired at now.
func expired(s *Session, now time.Time) bool {
	return !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt)
}

// sweepable reports whether Sweep(cutoff) removes s: it expired at or before
// cutoff, so that after Sweep(now) nothing Load would call expired remains.
func sweepable(s *Session, cutoff time.Time) bool {
	return !s.ExpiresAt.IsZero() && !cutoff.Before(s.ExpiresAt)
}

var (
	minNanoTime = time.Unix(0, math.MinInt64)
	maxNanoTime = time.Unix(0, math.MaxInt64)
)

// unixNanos is t.UnixNano clamped to the int64 range, where UnixNano itself
// is undefined.
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(minNanoTime):
		return math.MinInt64
	case t.After(maxNanoTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// ownCopy clones s for the caller of Load, with Data and Steps never nil so
// a step can write into them directly.
func ownCopy(s *Session) *Session {
	c := s.Clone()
	if c.Data == nil {
		c.Data = map[string]any{}
	}
	return c
}
