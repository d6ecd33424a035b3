// Package session owns the session table: the durable record that carries a
// transaction (TID) from one protocol step to the next, whichever server
// instance runs the step. Store is the contract every backend implements;
// BoltStore is the embedded default and Memory the in-process fake.
package session

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every Store. Test them with errors.Is.
var (
	// ErrNotFound: no session has this TID (never existed, or swept).
	ErrNotFound = errors.New("session not found")
	// ErrExpired: the session exists but its TTL has passed.
	ErrExpired = errors.New("session expired")
	// ErrExists: Create was given a TID that is already taken.
	ErrExists = errors.New("session already exists")
	// ErrConflict: Save was given a session whose Version is not the stored
	// one; another writer saved in between, so this update would be lost.
	ErrConflict = errors.New("session version conflict")
	// ErrBusy: the TID is held by another step and did not come free in time.
	ErrBusy = errors.New("session busy")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store closed")
)

// Session is one transaction's state. Data is what steps persisted (JSON
// values only); Steps holds each step's own record.
type Session struct {
	TID      string `json:"tid"`
	Protocol string `json:"protocol"`
	// Version is the stored version this copy was loaded at; Save requires it
	// to still be current and increments it. A new session has Version 0.
	Version   uint64                 `json:"version"`
	CreatedAt time.Time              `json:"created_at"`
	UpdatedAt time.Time              `json:"updated_at"`
	ExpiresAt time.Time              `json:"expires_at"`
	ClosedBy  string                 `json:"closed_by,omitempty"` // the final step that closed it
	Seq       uint64                 `json:"seq"`                 // step runs so far
	Data      map[string]any         `json:"data"`
	Steps     map[string]*StepRecord `json:"steps"`
}

// Closed reports whether a final step has closed the session.
func (s *Session) Closed() bool { return s.ClosedBy != "" }

// StepRecord is what the engine remembers of one step of a session.
type StepRecord struct {
	Result     string         `json:"result"` // SUCCESS or FAIL of the latest run
	Code       string         `json:"code"`
	Message    string         `json:"message,omitempty"`
	Data       map[string]any `json:"data,omitempty"` // the latest response data
	Attempts   int            `json:"attempts"`
	LastSeq    uint64         `json:"last_seq"`              // Session.Seq of the latest run
	SuccessSeq uint64         `json:"success_seq,omitempty"` // Session.Seq of the latest success
	At         time.Time      `json:"at"`
}

// Store is the session table. Implementations are safe for concurrent use.
//
// Load returns ErrNotFound or ErrExpired; the copy it returns belongs to the
// caller. Save is a compare-and-set on Version: it fails with ErrConflict if
// the stored version moved, and on success increments s.Version. Hold gives
// the caller the TID exclusively (across every process sharing the store)
// until release is called or lease passes, waiting up to wait for it and
// failing with ErrBusy after that.
type Store interface {
	Create(ctx context.Context, s *Session) error
	Load(ctx context.Context, tid string) (*Session, error)
	Save(ctx context.Context, s *Session) error
	Hold(ctx context.Context, tid string, wait, lease time.Duration) (release func(), err error)
	// Sweep deletes sessions that expired before cutoff and returns how many.
	Sweep(ctx context.Context, cutoff time.Time) (int, error)
	Stats() Stats
	Close() error
}

// Stats are figures a store reports for the admin status and metrics.
type Stats struct {
	Backend  string `json:"backend"`
	Sessions int64  `json:"sessions"` // -1 when the backend cannot count cheaply
	Bytes    int64  `json:"bytes"`    // on-disk or in-memory size, -1 if unknown
}

// Clone returns a deep copy of s, so that a caller may change it freely.
func (s *Session) Clone() *Session {
	c := *s
	c.Data = CloneMap(s.Data)
	c.Steps = make(map[string]*StepRecord, len(s.Steps))
	for k, r := range s.Steps {
		rc := *r
		rc.Data = CloneMap(r.Data)
		c.Steps[k] = &rc
	}
	return &c
}

// CloneMap deep-copies a map of JSON values.
func CloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return CloneMap(t)
	case []any:
		c := make([]any, len(t))
		for i, e := range t {
			c[i] = cloneValue(e)
		}
		return c
	default:
		return v
	}
}
