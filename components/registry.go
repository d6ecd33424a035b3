package components

import (
	"fmt"
	"regexp"
	"sort"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// Env is what a Factory gets to build its component: shared services and the
// component's own section of the configuration.
type Env struct {
	Log     *zap.Logger
	Now     func() time.Time
	DataDir string         // a directory the component may keep files in
	Sandbox bool           // true unless the server runs in live mode
	Config  map[string]any // the component's section of the config file, may be nil
	Shared  *Shared        // resources the server's components share
}

// Factory builds a component once per server. Its exported methods are what
// scripts may call; if the value has a Close() error method, it is called at
// shutdown and not exposed.
type Factory func(env Env) (any, error)

// Registration is one registered component.
type Registration struct {
	Name string
	New  Factory
}

var (
	mu       sync.RWMutex
	registry = map[string]Factory{}
	nameRE   = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)
	reserved = map[string]bool{
		"reqMap": true, "sessionMap": true, "persistMap": true, "resMap": true, "tid": true,
		"log": true, "setSuccess": true, "setFail": true, "importScript": true,
		"FlowConstants": true, "globalThis": true,
	}
)

// Register makes a component available under name. Call it from init().
// It panics on an empty, malformed, reserved or duplicate name, or a nil
// factory: those are programming errors to catch at start-up.
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if err := checkRegistration(name, f); err != nil {
		panic(err)
	}
	registry[name] = f
}

func checkRegistration(name string, f Factory) error {
	switch {
	case !nameRE.MatchString(name):
		return fmt.Errorf("components: invalid name %q", name)
	case reserved[name]:
		return fmt.Errorf("components: name %q is reserved for the engine", name)
	case f == nil:
		return fmt.Errorf("components: nil factory for %q", name)
	case registry[name] != nil:
		return fmt.Errorf("components: %q registered twice", name)
	}
	return nil
}

// RegisterForTest registers a component for the length of a test: any
// component of the same name is replaced, and the registry is restored in
// t.Cleanup.
func RegisterForTest(t testing.TB, name string, f Factory) {
	t.Helper()
	mu.Lock()
	prev, had := registry[name]
	delete(registry, name)
	err := checkRegistration(name, f)
	if err == nil {
		registry[name] = f
	}
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		delete(registry, name)
		if had {
			registry[name] = prev
		}
	})
}

// Registered returns every registered component, sorted by name.
func Registered() []Registration {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Registration, 0, len(registry))
	for name, f := range registry {
		out = append(out, Registration{Name: name, New: f})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
