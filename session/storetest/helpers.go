package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tunapay/tuna/session"
)

func ctx(t *testing.T) context.Context { return t.Context() }

func mustCreate(t *testing.T, store session.Store, s *session.Session) {
	t.Helper()
	if err := store.Create(ctx(t), s); err != nil {
		t.Fatalf("Create %s: %v", s.TID, err)
	}
}

func mustLoad(t *testing.T, store session.Store, tid string) *session.Session {
	t.Helper()
	s, err := store.Load(ctx(t), tid)
	if err != nil {
		t.Fatalf("Load %s: %v", tid, err)
	}
	return s
}

func mustSave(t *testing.T, store session.Store, s *session.Session) {
	t.Helper()
	if err := store.Save(ctx(t), s); err != nil {
		t.Fatalf("Save %s: %v", s.TID, err)
	}
}

func mustSweep(t *testing.T, store session.Store, cutoff time.Time) int {
	t.Helper()
	n, err := store.Sweep(ctx(t), cutoff)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	return n
}

func mustHold(t *testing.T, store session.Store, tid string, wait time.Duration) func() {
	t.Helper()
	release, err := store.Hold(ctx(t), tid, wait, time.Minute)
	if err != nil {
		t.Fatalf("Hold %s: %v", tid, err)
	}
	return release
}

// mutate changes s everywhere a shared reference could hide: top-level and
// nested Data, and the step records.
func mutate(s *session.Session) {
	s.Protocol = "mutated"
	s.Data["cp_id"] = "mutated"
	s.Data["added"] = true
	if m, ok := s.Data["nested"].(map[string]any); ok {
		m["empty"] = "mutated"
		if l, ok := m["list"].([]any); ok && len(l) > 0 {
			l[0] = "mutated"
		}
	}
	for _, r := range s.Steps {
		r.Code = "mutated"
		if r.Data != nil {
			r.Data["token"] = "mutated"
		}
	}
	s.Steps["added"] = &session.StepRecord{Result: "FAIL"}
}

// Diff describes how got differs from want, or returns "". Times compare
// with Equal (a store may change their location), and nil and empty maps
// are the same.
func Diff(want, got *session.Session) string {
	if got == nil {
		return "got nil session"
	}
	w, g := normalize(want), normalize(got)
	for name, pair := range map[string][2]time.Time{
		"CreatedAt": {want.CreatedAt, got.CreatedAt},
		"UpdatedAt": {want.UpdatedAt, got.UpdatedAt},
		"ExpiresAt": {want.ExpiresAt, got.ExpiresAt},
	} {
		if !pair[0].Equal(pair[1]) {
			return fmt.Sprintf("%s = %v, want %v", name, pair[1], pair[0])
		}
	}
	for k, r := range want.Steps {
		if gr := got.Steps[k]; gr != nil && !r.At.Equal(gr.At) {
			return fmt.Sprintf("Steps[%q].At = %v, want %v", k, gr.At, r.At)
		}
	}
	if !reflect.DeepEqual(w, g) {
		return fmt.Sprintf("\n got %+v\nwant %+v", describe(g), describe(w))
	}
	return ""
}

// normalize copies s with its times zeroed and empty maps nil, for
// reflect.DeepEqual once the times are compared.
func normalize(s *session.Session) *session.Session {
	c := s.Clone()
	c.CreatedAt, c.UpdatedAt, c.ExpiresAt = time.Time{}, time.Time{}, time.Time{}
	if len(c.Data) == 0 {
		c.Data = nil
	}
	if len(c.Steps) == 0 {
		c.Steps = nil
	}
	for _, r := range c.Steps {
		r.At = time.Time{}
		if len(r.Data) == 0 {
			r.Data = nil
		}
	}
	return c
}

// describe renders s with its step records inline rather than as pointers.
func describe(s *session.Session) string {
	steps := make(map[string]session.StepRecord, len(s.Steps))
	for k, r := range s.Steps {
		steps[k] = *r
	}
	c := *s
	c.Steps = nil
	return fmt.Sprintf("%+v steps=%+v", c, steps)
}
