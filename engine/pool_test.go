package engine_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/engine"
)

// slow is a component that waits: politely (on the step's context), or
// not (sleeping through a cancellation, like a careless network client).
type slow struct{ release chan struct{} }

func (slow) WaitForCancel(c *components.Call) error {
	<-c.Context().Done()
	return c.Context().Err()
}

func (slow) IgnoreCancel(ms int64) { time.Sleep(time.Duration(ms) * time.Millisecond) }

// Block waits for the test to release it, whatever the step's context says.
func (s slow) Block() { <-s.release }

func (slow) Info(c *components.Call) map[string]any {
	_, hasDeadline := c.Context().Deadline()
	return map[string]any{"tid": c.TID, "protocol": c.Protocol, "step": c.Step, "deadline": hasDeadline,
		"now": c.Now().Format(time.RFC3339)}
}

func compHarness(t *testing.T, tweak ...func(*engine.Options)) *harness {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	return newHarness(t, "testdata/comp", append([]func(*engine.Options){func(o *engine.Options) {
		o.Components = map[string]any{"SLOW": slow{release: release}}
		o.Grace = 150 * time.Millisecond
	}}, tweak...)...)
}

func TestComponent_SeesTheStep(t *testing.T) {
	h := compHarness(t)
	tid := h.ok("comp", "begin", nil).TID
	got := h.ok("comp", "info", p("TID", tid)).Data["info"].(map[string]any)
	if got["tid"] != tid || got["protocol"] != "comp" || got["step"] != "info" || got["deadline"] != true ||
		got["now"] != "2026-03-01T09:00:00Z" {
		t.Fatalf("the component saw %v", got)
	}
}

// A component that honours its context is cancelled with the step.
func TestComponent_CancelledWithTheStep(t *testing.T) {
	h := compHarness(t)
	tid := h.ok("comp", "begin", nil).TID
	start := time.Now()
	if _, err := h.run("comp", "polite", p("TID", tid)); !errors.Is(err, engine.ErrScriptTimeout) {
		t.Fatalf("err = %v, want ErrScriptTimeout", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("answered after %v for a 100ms timeout", d)
	}
	if st := h.e.Status().Pool; st.Dropped != 0 {
		t.Fatalf("a runtime that stopped in time was dropped: %+v", st)
	}
}

// A runtime stuck in Go code past timeout + grace is answered for, dropped,
// and replaced; the server goes on serving.
func TestPool_StuckRuntimeIsDroppedAndReplaced(t *testing.T) {
	h := compHarness(t, func(o *engine.Options) { o.PoolMin, o.PoolMax = 1, 1 })
	tid := h.ok("comp", "begin", nil).TID
	if _, err := h.run("comp", "stuck", p("TID", tid)); !errors.Is(err, engine.ErrScriptTimeout) {
		t.Fatalf("err = %v, want ErrScriptTimeout", err)
	}
	// The stuck call returns only when the test ends: serving 20 steps before
	// that means its slot went to a fresh runtime.
	served := make(chan struct{})
	go func() {
		defer close(served)
		for i := 0; i < 20; i++ {
			h.ok("comp", "begin", nil)
		}
	}()
	select {
	case <-served:
	case <-time.After(10 * time.Second):
		t.Fatal("the pool waited for the stuck runtime")
	}
	if st := h.e.Status().Pool; st.Dropped != 1 || st.InUse != 0 || st.Created != 1 {
		t.Fatalf("pool %+v, want one runtime dropped and one replacing it", st)
	}
}

// With every runtime lent, a step waits on its request context, and when
// that ends it answers SERVER_BUSY with nothing counted or saved.
func TestPool_WaitsOnTheRequestContext(t *testing.T) {
	h := compHarness(t, func(o *engine.Options) { o.PoolMin, o.PoolMax = 1, 1 })
	busy := h.ok("comp", "begin", nil).TID
	other := h.ok("comp", "begin", nil).TID
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); h.ok("comp", "slow", p("TID", busy, "MS", "400")) }()
	time.Sleep(100 * time.Millisecond)
	before := h.raw(other)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := h.e.Run(ctx, engine.Request{Protocol: "comp", Step: "info", Params: p("TID", other)})
	if !errors.Is(err, engine.ErrPoolTimeout) || engine.ErrorCode(err) != "SERVER_BUSY" {
		t.Fatalf("err = %v, want ErrPoolTimeout", err)
	}
	if h.raw(other) != before {
		t.Fatal("a step that never ran changed its session")
	}
	wg.Wait()
	h.ok("comp", "info", p("TID", other))
}

// The pool grows past its warm size under load, up to its max.
func TestPool_GrowsToMax(t *testing.T) {
	h := compHarness(t, func(o *engine.Options) { o.PoolMin, o.PoolMax = 1, 3 })
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		tid := h.ok("comp", "begin", nil).TID
		wg.Add(1)
		go func() { defer wg.Done(); h.ok("comp", "slow", p("TID", tid, "MS", "2000")) }()
	}
	// Making a runtime takes a while under the race detector on a busy
	// machine: wait for the three (the steps hold them for 2 s).
	st := h.e.Status().Pool
	for deadline := time.Now().Add(1500 * time.Millisecond); (st.Created != 3 || st.InUse != 3) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		st = h.e.Status().Pool
	}
	wg.Wait()
	if st.Created != 3 || st.InUse != 3 || st.Max != 3 {
		t.Fatalf("pool under load %+v, want 3 created and lent", st)
	}
}

// After a burst, runtimes beyond the warm ones that stayed unused for a
// minute are let go, one per step, down to the warm size.
func TestPool_LetsIdleRuntimesGo(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	h := compHarness(t, func(o *engine.Options) { o.PoolMin, o.PoolMax, o.Now = 1, 3, clock })
	var wg sync.WaitGroup
	for range 3 {
		tid := h.ok("comp", "begin", nil).TID
		wg.Go(func() { h.ok("comp", "slow", p("TID", tid, "MS", "200")) })
	}
	wg.Wait()
	if st := h.e.Status().Pool; st.Created != 3 {
		t.Fatalf("pool after the burst %+v, want 3 created", st)
	}
	h.ok("comp", "begin", nil) // used within the minute: all kept
	if st := h.e.Status().Pool; st.Created != 3 {
		t.Fatalf("pool %+v, want 3 kept while recently used", st)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	for range 4 {
		h.ok("comp", "begin", nil)
	}
	if st := h.e.Status().Pool; st.Created != 1 || st.InUse != 0 {
		t.Fatalf("pool %+v, want the idle runtimes let go down to 1", st)
	}
}
