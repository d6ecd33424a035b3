package engine

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/tunapay/tuna/components"
)

// lockdown freezes every object reachable from the global object (the
// built-in constructors, their prototypes, the components), so that nothing
// a step does to them is seen by the next step on the same runtime.
const lockdown = `(function () {
	var seen = new Set();
	function deep(o) {
		if (o === null || (typeof o !== 'object' && typeof o !== 'function') || seen.has(o)) return;
		seen.add(o);
		try { Object.freeze(o); } catch (e) { return; }
		Reflect.ownKeys(o).forEach(function (k) {
			var d = Object.getOwnPropertyDescriptor(o, k);
			if (!d) return;
			if ('value' in d) deep(d.value); else { deep(d.get); deep(d.set); }
		});
		deep(Object.getPrototypeOf(o));
	}
	deep(globalThis);
})()`

var lockdownProgram = goja.MustCompile("lockdown.js", lockdown, true)

// maxCallStack bounds recursion in scripts: deep enough for any step.
const maxCallStack = 2048

// vm is one pooled goja runtime with every binding made once. Each step
// runs against a fresh global object whose prototype is the frozen base
// global, so what a step declares or assigns globally is gone for the next.
type vm struct {
	rt                      *goja.Runtime
	base                    *goja.Object
	req, sess, persist, res *jsMap
	cur                     *run
	imported                map[string]bool
	libs                    map[*Script][]libFunc     // function-only libraries of cacheSnap, made once
	steps                   map[*Script]goja.Callable // step wrappers of cacheSnap, made once
	cacheSnap               *Snapshot                 // the snapshot libs and steps belong to
	consts                  map[*Protocol]goja.Value
	jobs                    chan *Script
	done                    chan error
	timeout                 *time.Timer   // interrupts the step's script when it runs past its timeout
	fired                   chan struct{} // the timeout's interrupt was sent
	grace                   *time.Timer   // the step is answered without the runtime when this fires
}

// run is the state of one step execution that the bindings read.
type run struct {
	snap     *Snapshot
	proto    *Protocol
	step     *Step
	call     components.Call
	logBase  *zap.Logger
	logOnce  sync.Once
	logger   *zap.Logger
	jsLogger *zap.Logger // logger without the Go caller, for the script's lines
	reqID    string
	masker   *masker
	set      bool
	success  bool
	code     string
	message  string
	// Where sensitive values may be, for the masker: the request's
	// parameters and the session's data.
	params   map[string]string
	sessData map[string]any
}

func newVM(comps []namedComponent) (*vm, error) {
	rt := goja.New()
	rt.SetMaxCallStackSize(maxCallStack)
	v := &vm{rt: rt, imported: map[string]bool{}, libs: map[*Script][]libFunc{},
		steps: map[*Script]goja.Callable{}, consts: map[*Protocol]goja.Value{}}
	v.req = newJSMap(rt, "reqMap", true)
	v.sess = newJSMap(rt, "sessionMap", true)
	v.persist = newJSMap(rt, "persistMap", false)
	v.res = newJSMap(rt, "resMap", false)
	if err := v.bind(comps); err != nil {
		return nil, err
	}
	if _, err := rt.RunProgram(lockdownProgram); err != nil {
		return nil, fmt.Errorf("lockdown: %w", err)
	}
	v.base = rt.GlobalObject()
	v.jobs, v.done = make(chan *Script), make(chan error, 1)
	v.fired = make(chan struct{}, 1)
	v.timeout = time.AfterFunc(time.Hour, func() {
		v.rt.Interrupt(errTimeout)
		v.fired <- struct{}{}
	})
	v.timeout.Stop()
	v.grace = time.NewTimer(time.Hour)
	v.grace.Stop()
	go v.work()
	return v, nil
}

// work runs the runtime's steps on one long-lived goroutine, whose stack
// has already grown to what goja needs, so a step does not pay for a new
// goroutine and its stack growth. It ends when jobs is closed.
func (v *vm) work() {
	for s := range v.jobs {
		v.done <- v.exec(v.cur, s)
	}
}

type namedComponent struct {
	name string
	impl any
}

func (v *vm) bind(comps []namedComponent) error {
	rt := v.rt
	g := rt.GlobalObject()
	for _, m := range []*jsMap{v.req, v.sess, v.persist, v.res} {
		if err := g.Set(m.name, rt.NewDynamicObject(m)); err != nil {
			return err
		}
	}
	logObj := rt.NewObject()
	for _, lvl := range []zapcore.Level{zapcore.DebugLevel, zapcore.InfoLevel, zapcore.WarnLevel, zapcore.ErrorLevel} {
		_ = logObj.Set(lvl.String(), v.logFunc(lvl))
	}
	_ = g.Set("log", logObj)
	_ = g.Set("setSuccess", v.setResult(true))
	_ = g.Set("setFail", v.setResult(false))
	_ = g.Set("importScript", v.importScript)
	// globalThis is a getter, so each step's fresh global object needs no
	// property of its own to point at itself.
	_ = g.DefineAccessorProperty("globalThis", rt.ToValue(func() goja.Value { return rt.GlobalObject() }), nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
	_ = g.DefineAccessorProperty("tid", rt.ToValue(func() string { return v.cur.call.TID }), nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
	_ = g.DefineAccessorProperty("FlowConstants", rt.ToValue(v.flowConstants), nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
	for _, c := range comps {
		if _, err := components.Bind(rt, c.name, c.impl, v.currentCall); err != nil {
			return err
		}
	}
	return nil
}

func (v *vm) currentCall() *components.Call { return &v.cur.call }

// exec runs step script s for r on a fresh global object. The script's
// wrapper function is made on the runtime's first run of s and frozen (a
// step could reach it as arguments.callee); later runs only call it, which
// spares a function object and its properties per step.
func (v *vm) exec(r *run, s *Script) error {
	v.cur = r
	g := v.rt.NewObject()
	_ = g.SetPrototype(v.base)
	v.rt.SetGlobalObject(g)
	defer v.reset()
	v.sameSnapshot(r.snap)
	fn, ok := v.steps[s]
	if !ok {
		w, err := v.rt.RunProgram(s.Program)
		if err != nil {
			return err
		}
		o, isObj := w.(*goja.Object)
		if fn, ok = goja.AssertFunction(w); !ok || !isObj {
			return fmt.Errorf("%s: the step wrapper is not a function", s.Path)
		}
		freezeFunc(v.rt, o)
		v.steps[s] = fn
	}
	_, err := fn(goja.Undefined())
	return err
}

// sameSnapshot forgets the libraries and step wrappers made for another
// snapshot: a reload compiled every script again, and the old ones should
// not stay alive through this runtime.
func (v *vm) sameSnapshot(snap *Snapshot) {
	if v.cacheSnap != snap {
		clear(v.libs)
		clear(v.steps)
		v.cacheSnap = snap
	}
}

func (v *vm) reset() {
	v.rt.SetGlobalObject(v.base)
	v.rt.ClearInterrupt()
	clear(v.imported)
	v.cur = nil
	for _, m := range []*jsMap{v.req, v.sess, v.persist, v.res} {
		m.set(nil, nil)
	}
	if len(v.consts) > 64 {
		clear(v.consts) // snapshots come and go; keep the cache small
	}
}

func (v *vm) flowConstants() goja.Value {
	p := v.cur.proto
	c, ok := v.consts[p]
	if !ok {
		c = components.Value(v.rt, p.Constants)
		if o, isObj := c.(*goja.Object); isObj {
			freeze(v.rt, o)
		}
		v.consts[p] = c
	}
	return c
}

func freeze(rt *goja.Runtime, o *goja.Object) {
	f, _ := goja.AssertFunction(rt.Get("Object").ToObject(rt).Get("freeze"))
	_, _ = f(goja.Undefined(), o)
}

// freezeFunc freezes a function kept across steps and the prototype object
// it carries, so that no step can leave anything on either for the next.
func freezeFunc(rt *goja.Runtime, fn *goja.Object) {
	freeze(rt, fn)
	if proto, ok := fn.Get("prototype").(*goja.Object); ok {
		freeze(rt, proto)
	}
}

var codeRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)

const maxMessage = 500

// setResult makes setSuccess(code?, message?) and setFail(code?, message?).
// The last call wins, as in the original framework.
func (v *vm) setResult(success bool) func(goja.FunctionCall) goja.Value {
	name, code, msg := "setFail", "FAIL", "failed"
	if success {
		name, code, msg = "setSuccess", "OK", "success"
	}
	return func(fc goja.FunctionCall) goja.Value {
		c, m := code, msg
		if a := fc.Argument(0); !goja.IsUndefined(a) && !goja.IsNull(a) {
			c = a.String()
			if !codeRE.MatchString(c) {
				panic(v.rt.NewTypeError("%s: code %q must be UPPER_SNAKE_CASE (like %s)", name, c, code))
			}
		}
		if a := fc.Argument(1); !goja.IsUndefined(a) && !goja.IsNull(a) {
			m = a.String()
			if len(m) > maxMessage {
				m = m[:maxMessage]
			}
		}
		r := v.cur
		r.set, r.success, r.code, r.message = true, success, c, m
		return goja.Undefined()
	}
}

// libFunc is a function a library declares, as a runtime made it.
type libFunc struct {
	name string
	fn   goja.Value
}

// importScript runs a library in the current step. A library that only
// declares functions is run once per runtime: its functions are kept,
// frozen so that no step can change them for the next, and bound again in
// each step that imports it, as its declarations would bind them. Making
// them anew was ~5 % of what a payment flow allocated (lib/payment.js).
func (v *vm) importScript(fc goja.FunctionCall) goja.Value {
	p := fc.Argument(0).String()
	if v.imported[p] {
		return goja.Undefined()
	}
	s := v.cur.snap.Script(p)
	if s == nil || s.Step {
		panic(v.rt.NewGoError(fmt.Errorf("importScript(%q): no such library (paths are relative to the scripts folder, like lib/x.js)", p)))
	}
	v.imported[p] = true
	g := v.rt.GlobalObject()
	if fns, ok := v.libs[s]; ok {
		for _, f := range fns {
			// What a script's function declaration makes: writable,
			// enumerable, not configurable.
			if err := g.DefineDataProperty(f.name, f.fn, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE); err != nil {
				panic(err)
			}
		}
		return goja.Undefined()
	}
	if _, err := v.rt.RunProgram(s.Program); err != nil {
		panic(err)
	}
	if s.funcs != nil {
		fns := make([]libFunc, 0, len(s.funcs))
		for _, name := range s.funcs {
			fn := g.Get(name)
			if o, ok := fn.(*goja.Object); ok {
				freezeFunc(v.rt, o)
			}
			fns = append(fns, libFunc{name, fn})
		}
		v.libs[s] = fns
	}
	return goja.Undefined()
}

func (v *vm) logFunc(lvl zapcore.Level) func(goja.FunctionCall) goja.Value {
	return func(fc goja.FunctionCall) goja.Value {
		r := v.cur
		if !r.logBase.Core().Enabled(lvl) {
			// A line the log would drop costs nothing: its arguments are
			// not rendered (no getter runs), nothing is masked.
			return goja.Undefined()
		}
		if r.masker == nil {
			r.masker = newMasker(r.proto, r.step, r.params, r.sessData)
		}
		parts := make([]string, len(fc.Arguments))
		for i, a := range fc.Arguments {
			parts[i] = v.logText(a)
		}
		msg := r.masker.mask(strings.Join(parts, " "))
		at := zap.Skip()
		for _, f := range v.rt.CaptureCallStack(4, nil) {
			if pos := f.Position(); pos.Line > 0 {
				at = zap.String("at", pos.Filename+":"+strconv.Itoa(pos.Line))
				break
			}
		}
		r.jsLog().Log(lvl, msg, at)
		return goja.Undefined()
	}
}

// jsLog is the step's logger for the script's own lines: the step's
// fields and no Go caller, which would be this file for every line (where in
// the script a line was logged is its "at"), and costs a stack walk.
func (r *run) jsLog() *zap.Logger {
	if r.jsLogger == nil {
		r.jsLogger = r.log().WithOptions(zap.WithCaller(false))
	}
	return r.jsLogger
}

// logText renders a log argument: objects and maps as JSON, the rest as JS would.
func (v *vm) logText(a goja.Value) string {
	if o, ok := a.(*goja.Object); ok && o.ClassName() != "Error" && o.ClassName() != "Function" {
		if x, err := components.Export(o); err == nil {
			if s, err := jsonString(x); err == nil {
				return s
			}
		}
	}
	return a.String()
}

// log is the step's logger, with its tid, protocol, step, script version
// and request id. It is built on first use: encoding those fields costs
// about 1 µs and 1.6 KB, a tenth of a step that never logs.
func (r *run) log() *zap.Logger {
	r.logOnce.Do(func() {
		r.logger = r.logBase.With(zap.String("tid", r.call.TID), zap.String("protocol", r.proto.Name),
			zap.String("step", r.step.Name), zap.String("script_version", r.step.script.Version),
			zap.String("request_id", r.reqID))
	})
	return r.logger
}
