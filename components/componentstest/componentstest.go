// Package componentstest runs a component through real JavaScript, the way
// a script will call it, in a few lines of a test:
//
//	rt := componentstest.New(t).Bind("CP", cp)
//	got := rt.Export(`CP.isValid("demo", "demo1234")`)
package componentstest

import (
	"context"
	"testing"
	"time"

	"github.com/dop251/goja"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/tunapay/tuna/components"
)

// Epoch is the fixed time a test runtime's clock reads unless changed.
var Epoch = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

// Runtime is a goja runtime with components bound. Call is what component
// methods receive; change its fields (Clock, TID, Ctx) to shape a test.
type Runtime struct {
	JS   *goja.Runtime
	Call *components.Call
	t    testing.TB
}

// New returns a runtime whose Call has a fixed clock (Epoch), the TID
// "TESTTID", protocol and step "test", and a logger writing to the test log.
func New(t testing.TB) *Runtime {
	t.Helper()
	now := Epoch
	return &Runtime{
		JS: goja.New(),
		Call: &components.Call{
			Ctx: context.Background(), TID: "TESTTID", Protocol: "test", Step: "test",
			Log:   zaptest.NewLogger(t, zaptest.Level(zap.DebugLevel)),
			Clock: func() time.Time { return now },
		},
		t: t,
	}
}

// Bind exposes c under name, as the engine does; it fails the test if the
// component breaks the contract.
func (r *Runtime) Bind(name string, c any) *Runtime {
	r.t.Helper()
	if _, err := components.Bind(r.JS, name, c, func() *components.Call { return r.Call }); err != nil {
		r.t.Fatalf("bind %s: %v", name, err)
	}
	return r
}

// Run runs src and returns its completion value, or the JS exception.
func (r *Runtime) Run(src string) (goja.Value, error) {
	return r.JS.RunString(src)
}

// Export runs src, fails the test on an exception, and returns the result
// as a Go JSON value (see components.Export).
func (r *Runtime) Export(src string) any {
	r.t.Helper()
	v, err := r.Run(src)
	if err != nil {
		r.t.Fatalf("run %q: %v", src, err)
	}
	if goja.IsUndefined(v) {
		return nil
	}
	x, err := components.Export(v)
	if err != nil {
		r.t.Fatalf("export %q: %v", src, err)
	}
	return x
}

// Throws runs src and returns the exception's message; it fails the test
// if src does not throw.
func (r *Runtime) Throws(src string) string {
	r.t.Helper()
	_, err := r.Run(src)
	if err == nil {
		r.t.Fatalf("run %q: no exception", src)
	}
	if ex, ok := err.(*goja.Exception); ok {
		return ex.Value().String()
	}
	return err.Error()
}
