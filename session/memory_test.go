package session_test

import (
	"testing"
	"time"

	"github.com/tunapay/tuna/session"
	"github.com/tunapay/tuna/session/storetest"
)

func TestMemory_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, now func() time.Time) session.Store {
		m := session.NewMemory(&session.MemoryOptions{Now: now})
		t.Cleanup(func() { _ = m.Close() })
		return m
	})
}
