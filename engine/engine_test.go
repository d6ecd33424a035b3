package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/prometheus/client_golang/prometheus"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/session"
	"github.com/tunapay/tuna/session/storetest"
)

type harness struct {
	t     *testing.T
	e     *engine.Engine
	store *session.Memory
	clock *storetest.Clock
	logs  *observer.ObservedLogs
}

func newHarness(t *testing.T, dir string, tweak ...func(*engine.Options)) *harness {
	t.Helper()
	c := storetest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	core, logs := observer.New(zap.DebugLevel)
	store := session.NewMemory(&session.MemoryOptions{Now: c.Now})
	opts := engine.Options{
		Scripts: dir + "/scripts", Protocols: dir + "/protocols", Store: store,
		Log: zap.New(core, zap.AddCaller()), Now: c.Now, PoolMin: 2, PoolMax: 4, // as tuna serve logs
	}
	for _, f := range tweak {
		f(&opts)
	}
	e, err := engine.New(opts)
	if err != nil {
		t.Fatalf("engine.New: %v", err)
	}
	return &harness{t: t, e: e, store: store, clock: c, logs: logs}
}

func (h *harness) run(protocol, step string, params map[string]string) (*engine.Response, error) {
	return h.e.Run(context.Background(), engine.Request{Protocol: protocol, Step: step, Params: params})
}

// ok runs a step that must end in a business outcome and returns it.
func (h *harness) ok(protocol, step string, params map[string]string) *engine.Response {
	h.t.Helper()
	resp, err := h.run(protocol, step, params)
	if err != nil {
		h.t.Fatalf("%s/%s: %v", protocol, step, err)
	}
	return resp
}

func (h *harness) begin() string {
	h.t.Helper()
	resp := h.ok("flow", "begin", map[string]string{"NAME": "kim"})
	if resp.Result != engine.ResultSuccess || !engine.TIDPattern.MatchString(resp.TID) {
		h.t.Fatalf("begin: %+v", resp)
	}
	return resp.TID
}

func (h *harness) session(tid string) *session.Session {
	h.t.Helper()
	s, err := h.store.Load(context.Background(), tid)
	if err != nil {
		h.t.Fatalf("load %s: %v", tid, err)
	}
	return s
}

func (h *harness) raw(tid string) string {
	h.t.Helper()
	b, err := json.Marshal(h.session(tid))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

func p(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

const flowDir = "testdata/flow"

func TestRun_SessionSaveRules(t *testing.T) {
	tests := []struct {
		step     string
		outcome  string
		wantSave bool
		result   string
	}{
		{"save_always", "ok", true, engine.ResultSuccess},
		{"save_always", "no", true, engine.ResultFail},
		{"save_success", "ok", true, engine.ResultSuccess},
		{"save_success", "no", false, engine.ResultFail},
		{"save_never", "ok", false, engine.ResultSuccess},
		{"save_never", "no", false, engine.ResultFail},
	}
	for _, tt := range tests {
		t.Run(tt.step+"/"+tt.outcome, func(t *testing.T) {
			h := newHarness(t, flowDir)
			tid := h.begin()
			resp := h.ok("flow", tt.step, p("TID", tid, "OUTCOME", tt.outcome, "MARK", "m1"))
			if resp.Result != tt.result || resp.Data["MARK"] != "m1" {
				t.Fatalf("response %+v", resp)
			}
			s := h.session(tid)
			_, saved := s.Data["LAST"]
			if saved != tt.wantSave {
				t.Errorf("LAST saved = %v, want %v (data %v)", saved, tt.wantSave, s.Data)
			}
			if s.Data["NAME"] != "kim" {
				t.Errorf("earlier data lost: %v", s.Data)
			}
			rec := s.Steps[tt.step]
			if rec == nil || rec.Result != tt.result || rec.Attempts != 1 || rec.Data["MARK"] != "m1" {
				t.Errorf("step record %+v", rec)
			}
			if tt.result == engine.ResultFail && rec.Code != "DECLINED" {
				t.Errorf("record code %q, want DECLINED", rec.Code)
			}
		})
	}
}

func TestRun_StartStep_SaveAlwaysKeepsFailedStart(t *testing.T) {
	h := newHarness(t, flowDir)
	resp := h.ok("flow", "begin", p("NAME", "fail"))
	if resp.Result != engine.ResultFail || resp.Code != "BEGIN_REFUSED" || resp.TID == "" {
		t.Fatalf("response %+v", resp)
	}
	s := h.session(resp.TID)
	if s.Data["NAME"] != "fail" || s.Steps["begin"].Result != engine.ResultFail {
		t.Fatalf("session %+v", s)
	}
}

// Each refused step answers its own error and leaves the session as it was,
// byte for byte: not even its expiry moves.
func TestRun_FlowErrors_LeaveSessionUnchanged(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness, tid string)
		step  string
		want  error
	}{
		{"out of order", func(*harness, string) {}, "second", engine.ErrOutOfOrder},
		{"after a failed dependency", func(h *harness, tid string) {
			h.ok("flow", "save_success", p("TID", tid, "OUTCOME", "no"))
		}, "second", engine.ErrOutOfOrder},
		{"closed", func(h *harness, tid string) {
			h.ok("flow", "finish", p("TID", tid, "OUTCOME", "ok"))
		}, "save_always", engine.ErrSessionClosed},
		{"too many attempts", func(h *harness, tid string) {
			h.ok("flow", "limited", p("TID", tid, "OUTCOME", "no"))
			h.ok("flow", "limited", p("TID", tid, "OUTCOME", "ok"))
		}, "limited", engine.ErrTooManyAttempts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, flowDir)
			tid := h.begin()
			tt.setup(h, tid)
			before := h.raw(tid)
			h.clock.Advance(10 * time.Second)
			resp, err := h.run("flow", tt.step, p("TID", tid, "OUTCOME", "ok"))
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if resp == nil || resp.TID != tid {
				t.Errorf("error response should carry the TID: %+v", resp)
			}
			if after := h.raw(tid); after != before {
				t.Errorf("session changed:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

func TestRun_WrongProtocol(t *testing.T) {
	h := newHarness(t, flowDir)
	other := h.ok("other", "begin", nil).TID
	before := h.raw(other)
	if _, err := h.run("flow", "save_always", p("TID", other)); !errors.Is(err, engine.ErrWrongProtocol) {
		t.Fatalf("err = %v, want ErrWrongProtocol", err)
	}
	if h.raw(other) != before {
		t.Fatal("session changed")
	}
	if engine.ErrorCode(engine.ErrWrongProtocol) != "WRONG_PROTOCOL" {
		t.Fatal("code")
	}
}

func TestRun_FinalStepReplaysItsAnswer(t *testing.T) {
	h := newHarness(t, flowDir)
	tid := h.begin()
	first := h.ok("flow", "finish", p("TID", tid, "OUTCOME", "ok", "MARK", "paid"))
	before := h.raw(tid)
	again := h.ok("flow", "finish", p("TID", tid, "OUTCOME", "no", "MARK", "other"))
	if !again.Replayed || again.Result != first.Result || again.Data["MARK"] != "paid" {
		t.Fatalf("replay %+v, first %+v", again, first)
	}
	if h.raw(tid) != before {
		t.Fatal("a replay must change nothing")
	}
}

func TestRun_FailedFinalStepStaysOpenWhileAttemptsRemain(t *testing.T) {
	h := newHarness(t, flowDir)
	tid := h.begin()
	for i := 0; i < 2; i++ {
		if r := h.ok("flow", "finish", p("TID", tid, "OUTCOME", "no")); r.Result != engine.ResultFail {
			t.Fatalf("attempt %d: %+v", i, r)
		}
	}
	if h.session(tid).Closed() {
		t.Fatal("closed after a failure")
	}
	if r := h.ok("flow", "finish", p("TID", tid, "OUTCOME", "ok")); r.Result != engine.ResultSuccess {
		t.Fatalf("third attempt %+v", r)
	}
	if !h.session(tid).Closed() {
		t.Fatal("not closed after success")
	}
}

// Running a step again takes back the successes that came after it: a new
// OTP sent to another number must be verified again.
func TestRun_RerunInvalidatesLaterSuccesses(t *testing.T) {
	h := newHarness(t, flowDir)
	tid := h.begin()
	h.ok("flow", "save_success", p("TID", tid, "OUTCOME", "ok"))
	h.ok("flow", "second", p("TID", tid, "OUTCOME", "ok"))
	h.ok("flow", "save_success", p("TID", tid, "OUTCOME", "ok"))
	if _, err := h.run("flow", "third", p("TID", tid, "OUTCOME", "ok")); !errors.Is(err, engine.ErrOutOfOrder) {
		t.Fatalf("err = %v, want ErrOutOfOrder", err)
	}
	h.ok("flow", "second", p("TID", tid, "OUTCOME", "ok"))
	h.ok("flow", "third", p("TID", tid, "OUTCOME", "ok"))
}

func TestRun_LookupErrors(t *testing.T) {
	h := newHarness(t, flowDir)
	tid := h.begin()
	h.clock.Advance(61 * time.Second)
	tests := []struct {
		name, protocol, step string
		params               map[string]string
		want                 error
		code                 string
	}{
		{"expired", "flow", "save_always", p("TID", tid), session.ErrExpired, "TID_EXPIRED"},
		{"unknown tid", "flow", "save_always", p("TID", engine.NewTID(h.clock.Now())), session.ErrNotFound, "TID_NOT_FOUND"},
		{"unknown protocol", "nope", "begin", nil, engine.ErrUnknownProtocol, "UNKNOWN_PROTOCOL"},
		{"unknown step", "flow", "nope", nil, engine.ErrUnknownStep, "UNKNOWN_STEP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.run(tt.protocol, tt.step, tt.params)
			if !errors.Is(err, tt.want) || engine.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v (%s), want %v (%s)", err, engine.ErrorCode(err), tt.want, tt.code)
			}
		})
	}
}

func TestRun_ParamErrors(t *testing.T) {
	h := newHarness(t, flowDir)
	tests := []struct {
		name             string
		step             string
		params           map[string]string
		missing, invalid []string
	}{
		{"missing", "begin", nil, []string{"NAME"}, nil},
		{"empty counts as missing", "begin", p("NAME", ""), []string{"NAME"}, nil},
		{"pattern", "begin", p("NAME", "Kim1"), nil, []string{"NAME"}},
		{"too long", "begin", p("NAME", "abcdefghijk"), nil, []string{"NAME"}},
		{"no TID", "save_always", nil, []string{"TID"}, nil},
		{"malformed TID", "save_always", p("TID", "../../etc"), nil, []string{"TID"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := h.run("flow", tt.step, tt.params)
			var pe *engine.ParamError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a ParamError", err)
			}
			if strings.Join(pe.Missing, ",") != strings.Join(tt.missing, ",") || strings.Join(pe.Invalid, ",") != strings.Join(tt.invalid, ",") {
				t.Fatalf("got missing %v invalid %v", pe.Missing, pe.Invalid)
			}
		})
	}
}

func TestRun_ConcurrentStepsOnOneTID(t *testing.T) {
	h := newHarness(t, flowDir)
	tid := h.begin()
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := h.run("flow", "counter", p("TID", tid))
			if err == nil && resp.Result != engine.ResultSuccess {
				err = errors.New(resp.Code)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("step: %v", err)
		}
	}
	s := h.session(tid)
	if s.Data["COUNT"] != float64(n) || s.Steps["counter"].Attempts != n {
		t.Fatalf("COUNT = %v, attempts = %d, want %d: an update was lost", s.Data["COUNT"], s.Steps["counter"].Attempts, n)
	}
}

func TestRun_ScriptError(t *testing.T) {
	h := newHarness(t, flowDir)
	tid := h.begin()
	before := h.session(tid)
	_, err := h.run("flow", "throws", p("TID", tid))
	var se *engine.ScriptError
	if !errors.As(err, &se) || engine.ErrorCode(err) != "SCRIPT_ERROR" {
		t.Fatalf("err = %v, want a ScriptError", err)
	}
	if se.File != "flow/throws.js" || se.Line != 3 {
		t.Errorf("at %s:%d, want flow/throws.js:3", se.File, se.Line)
	}
	logged := h.logs.FilterMessage("script error").All()
	if len(logged) != 1 || logged[0].ContextMap()["at"] != "flow/throws.js:3" {
		t.Errorf("log lines %+v", logged)
	}
	s := h.session(tid)
	if rec := s.Steps["throws"]; rec == nil || rec.Code != "SCRIPT_ERROR" || rec.Attempts != 1 {
		t.Errorf("record %+v", rec)
	}
	if len(s.Data) != len(before.Data) {
		t.Errorf("a script error must not change the data")
	}
}

func TestRun_NoResult(t *testing.T) {
	h := newHarness(t, flowDir)
	tid := h.begin()
	if _, err := h.run("flow", "noresult", p("TID", tid)); !errors.Is(err, engine.ErrNoResult) {
		t.Fatalf("err = %v, want ErrNoResult", err)
	}
	if _, ok := h.session(tid).Data["X"]; ok {
		t.Fatal("data of a step without a result was saved")
	}
}

func TestRun_TimeoutThenServesOn(t *testing.T) {
	h := newHarness(t, flowDir)
	tid := h.begin()
	start := time.Now()
	_, err := h.run("flow", "spin", p("TID", tid))
	if !errors.Is(err, engine.ErrScriptTimeout) {
		t.Fatalf("err = %v, want ErrScriptTimeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("timeout of 100ms answered after %v", d)
	}
	for i := 0; i < 1000; i++ {
		if r := h.ok("flow", "counter", p("TID", tid)); r.Result != engine.ResultSuccess {
			t.Fatalf("step %d after a timeout: %+v", i, r)
		}
	}
	if got := h.session(tid).Data["COUNT"]; got != float64(1000) {
		t.Fatalf("COUNT = %v", got)
	}
}

func TestRun_NothingLeaksBetweenRuns(t *testing.T) {
	h := newHarness(t, flowDir, func(o *engine.Options) { o.PoolMin, o.PoolMax = 1, 1 })
	tid := h.begin()
	h.ok("flow", "probe", p("TID", tid, "MARK", "a"))
	second := h.ok("flow", "probe", p("TID", tid, "MARK", "b"))
	seen := second.Data["seen"].(map[string]any)
	want := map[string]any{
		"leakedGlobal": "undefined", "leakedVar": "undefined", "arrayProto": "undefined",
		"objectProto": "undefined", "jsonParse": "undefined", "tid": tid, "constant": float64(3),
		"wrapper": "undefined,undefined",
	}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("%s = %v, want %v", k, seen[k], v)
		}
	}
	if second.Data["reqGet"] != "b" {
		t.Errorf("reqMap.get was replaced: %v", second.Data["reqGet"])
	}
}

func TestRun_LibraryStateResetsEachRun(t *testing.T) {
	h := newHarness(t, flowDir, func(o *engine.Options) { o.PoolMin, o.PoolMax = 1, 1 })
	for i := 0; i < 3; i++ {
		r := h.ok("flow", "begin", p("NAME", "lee"))
		if r.Data["GREETING"] != "hello lee #2" { // greet runs twice per step
			t.Fatalf("run %d: %v (library state leaked)", i, r.Data["GREETING"])
		}
	}
}

// A library of function declarations only is made once per runtime and
// bound again in each step: the functions see the step's own globals, a
// step cannot change them for the next, and the binding is the one a
// declaration makes (writable, enumerable, not configurable).
func TestRun_FunctionLibraryIsSharedButFrozen(t *testing.T) {
	h := newHarness(t, flowDir, func(o *engine.Options) { o.PoolMin, o.PoolMax = 1, 1 })
	tid := h.begin()
	var first map[string]any
	for i, mark := range []string{"a", "b", "c"} {
		r := h.ok("flow", "libfns", p("TID", tid, "MARK", mark))
		if r.Result != engine.ResultSuccess {
			t.Fatalf("run %d: %+v", i, r)
		}
		seen := r.Data["seen"].(map[string]any)
		want := map[string]any{
			"before": mark + ":none", "after": mark + ":" + mark, "extra": "undefined,undefined",
			"replaced": "replaced",
		}
		for k, v := range want {
			if seen[k] != v {
				t.Errorf("run %d: %s = %v, want %v", i, k, seen[k], v)
			}
		}
		if i == 0 {
			first = seen
		} else if seen["descriptor"] != first["descriptor"] {
			t.Errorf("run %d: the bound function's descriptor is %v, the declaration's was %v", i, seen["descriptor"], first["descriptor"])
		}
	}
	if first["descriptor"] != "true,true,false" {
		t.Errorf("descriptor %v", first["descriptor"])
	}
}

func TestRun_LogsAreMasked(t *testing.T) {
	h := newHarness(t, flowDir)
	h.ok("flow", "begin", p("NAME", "kim", "SECRET_WORD", "swordfish"))
	lines := h.logs.FilterMessageSnippet("begin for").All()
	if len(lines) != 1 {
		t.Fatalf("log lines: %+v", h.logs.All())
	}
	msg := lines[0].Message
	if strings.Contains(msg, "swordfish") || strings.Contains(msg, "01012345678") {
		t.Fatalf("unmasked: %q", msg)
	}
	ctx := lines[0].ContextMap()
	if ctx["protocol"] != "flow" || ctx["step"] != "begin" || ctx["tid"] == "" || ctx["script_version"] == "" || ctx["at"] != "flow/begin.js:9" {
		t.Fatalf("context %v", ctx)
	}
	// A script's line says where in the script it was logged, not where in
	// Go; the engine's own lines keep their Go caller.
	if lines[0].Caller.Defined {
		t.Errorf("a script's line has a Go caller: %s", lines[0].Caller)
	}
	tid := lines[0].ContextMap()["tid"].(string)
	if _, err := h.run("flow", "throws", p("TID", tid)); err == nil {
		t.Fatal("throws did not fail")
	}
	errs := h.logs.FilterMessage("script error").All()
	if len(errs) != 1 || !errs[0].Caller.Defined || !strings.HasPrefix(errs[0].Caller.TrimmedPath(), "engine/") {
		t.Errorf("the engine's line: %+v", errs)
	}
}

// The same 50 concurrent steps on one TID, on the durable store.
func TestRun_ConcurrentStepsOnOneTID_Bolt(t *testing.T) {
	store, err := session.OpenBolt(t.TempDir()+"/s.db", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	e, err := engine.New(engine.Options{Scripts: flowDir + "/scripts", Protocols: flowDir + "/protocols", Store: store})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := e.Run(context.Background(), engine.Request{Protocol: "flow", Step: "begin", Params: p("NAME", "kim")})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.Run(context.Background(), engine.Request{Protocol: "flow", Step: "counter", Params: p("TID", resp.TID)})
			if err != nil || r.Result != engine.ResultSuccess {
				t.Errorf("step: %v %+v", err, r)
			}
		}()
	}
	wg.Wait()
	s, err := store.Load(context.Background(), resp.TID)
	if err != nil || s.Data["COUNT"] != float64(50) || s.Version != 51 {
		t.Fatalf("COUNT %v, version %d, err %v: an update was lost", s.Data["COUNT"], s.Version, err)
	}
}

// reqMap reads the request's parameters as they came, whichever of its
// methods a script uses, and a script can keep it, log it (masked) and
// pass it on as a map of strings.
func TestRun_ReqMap(t *testing.T) {
	h := newHarness(t, flowDir)
	tid := h.begin()
	r := h.ok("flow", "reqmap", p("TID", tid, "MARK", "a", "SECRET_WORD", "swordfish"))
	if r.Result != engine.ResultSuccess {
		t.Fatalf("%+v", r)
	}
	req := `{"MARK":"a","SECRET_WORD":"swordfish","TID":"` + tid + `"}`
	want := map[string]any{
		"get": "a", "missing": nil, "has": "true,false", "size": float64(3), "empty": false,
		"keys": "MARK,SECRET_WORD,TID", "json": req, "text": req, "copy": "a",
	}
	if seen := r.Data["seen"]; !reflect.DeepEqual(seen, want) {
		t.Errorf("seen %#v\nwant %#v", seen, want)
	}
	s, err := h.store.Load(context.Background(), tid)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]any{"MARK": "a", "SECRET_WORD": "swordfish", "TID": tid}
	if !reflect.DeepEqual(s.Data["REQ"], kept) || s.Data["MARK"] != "a" || s.Data["TID"] != tid {
		t.Errorf("session data %v", s.Data)
	}
	lines := h.logs.FilterMessageSnippet("request").All()
	if len(lines) != 1 || strings.Contains(lines[0].Message, "swordfish") || !strings.Contains(lines[0].Message, `"MARK":"a"`) {
		t.Errorf("log %+v", lines)
	}
}

// A script's line below the log's level is dropped before anything is
// made of it: its arguments are not rendered (a getter shows it) nor
// masked. The lines at or above the level are written.
func TestRun_LogBelowLevelCostsNothing(t *testing.T) {
	core, logs := observer.New(zap.WarnLevel)
	h := newHarness(t, flowDir, func(o *engine.Options) { o.Log = zap.New(core) })
	tid := h.begin()
	r := h.ok("flow", "quiet", p("TID", tid))
	if r.Result != engine.ResultSuccess || r.Data["rendered"] != "warn,error" {
		t.Fatalf("%+v", r)
	}
	var got []string
	for _, e := range logs.FilterMessageSnippet("at ").All() {
		got = append(got, e.Level.String()+" "+e.Message)
	}
	if want := []string{`warn at warn {"x":1}`, `error at error {"x":1}`}; !reflect.DeepEqual(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
}

// Every step's answers are counted by result and code, and timed, however
// many goroutines answer at once and however many codes a script makes up
// (past the few a step keeps at hand).
func TestRun_StepMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := newHarness(t, flowDir, func(o *engine.Options) { o.Registerer = reg; o.PoolMax = 8 })
	tid := h.begin()
	codes := []string{"OK"}
	for i := range 40 {
		codes = append(codes, fmt.Sprintf("CODE_%02d", i))
	}
	const rounds = 3
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for r := range rounds {
				for i := range codes {
					code := codes[(i+g+r)%len(codes)]
					if _, err := h.run("flow", "code", p("TID", tid, "CODE", code)); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts, timed := map[string]float64{}, float64(0)
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["step"] != "code" {
				continue
			}
			switch mf.GetName() {
			case "tuna_steps_total":
				counts[labels["result"]+" "+labels["code"]] += m.GetCounter().GetValue()
			case "tuna_step_duration_seconds":
				timed += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	if len(counts) != len(codes) || timed != float64(8*rounds*len(codes)) {
		t.Fatalf("%d label sets, %v timed: %v", len(counts), timed, counts)
	}
	for _, c := range codes {
		key := "FAIL " + c
		if c == "OK" {
			key = "SUCCESS OK"
		}
		if counts[key] != 8*rounds {
			t.Errorf("%s counted %v times, want %d", key, counts[key], 8*rounds)
		}
	}
}
