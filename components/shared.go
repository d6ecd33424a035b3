package components

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// Shared holds what the components of one server share — a database, a
// client, a service several components front — built once and closed at
// shutdown, in reverse order. The server wires it into every Env.
type Shared struct {
	mu      sync.Mutex
	items   map[string]any
	closers []io.Closer
}

// NewShared returns an empty set of shared resources.
func NewShared() *Shared { return &Shared{items: map[string]any{}} }

// Put stores v under key (closing it at shutdown if it is an io.Closer).
func (s *Shared) Put(key string, v any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items[key] = v
	if c, ok := v.(io.Closer); ok {
		s.closers = append(s.closers, c)
	}
}

// Get returns what is stored under key, building it with build the first
// time. With a nil build, a missing key is an error.
func (s *Shared) Get(key string, build func() (any, error)) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.items[key]; ok {
		return v, nil
	}
	if build == nil {
		return nil, fmt.Errorf("components: nothing shared under %q", key)
	}
	v, err := build()
	if err != nil {
		return nil, err
	}
	s.items[key] = v
	if c, ok := v.(io.Closer); ok {
		s.closers = append(s.closers, c)
	}
	return v, nil
}

// Close closes every shared resource, last built first.
func (s *Shared) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i].Close())
	}
	s.closers, s.items = nil, map[string]any{}
	return errors.Join(errs...)
}
