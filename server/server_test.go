package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/server"
	"github.com/tunapay/tuna/session"
	"github.com/tunapay/tuna/session/storetest"
)

const adminToken = "test-admin-token-0123456789abcdef"

type fixture struct {
	t     *testing.T
	srv   *server.Server
	clock *storetest.Clock
	logs  *observer.ObservedLogs
	store session.Store
}

// fixtureOption shapes a fixture: its store, its server options.
type fixtureOption struct {
	store  func(session.Store) session.Store
	server func(*server.Options)
}

func withStore(f func(session.Store) session.Store) fixtureOption { return fixtureOption{store: f} }
func withServerOptions(f func(*server.Options)) fixtureOption     { return fixtureOption{server: f} }

func newFixture(t *testing.T, opts ...fixtureOption) *fixture {
	t.Helper()
	c := storetest.NewClock(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	var store session.Store = session.NewMemory(&session.MemoryOptions{Now: c.Now})
	for _, o := range opts {
		if o.store != nil {
			store = o.store(store)
		}
	}
	core, logs := observer.New(zap.DebugLevel)
	log := zap.New(core)
	reg := prometheus.NewRegistry()
	eng, err := engine.New(engine.Options{Scripts: "testdata/scripts", Protocols: "testdata/protocols",
		Store: store, Log: log, Now: c.Now, PoolMin: 1, PoolMax: 4, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	extra := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"extra":true}`)) })
	so := server.Options{Engine: eng, Log: log, AdminToken: adminToken, Gatherer: reg,
		AdminMounts: map[string]http.Handler{"/admin/extra/*": extra},
		Limits:      server.Limits{MaxBody: 1024, MaxParams: 8, MaxValue: 64}}
	for _, o := range opts {
		if o.server != nil {
			o.server(&so)
		}
	}
	return &fixture{t: t, srv: server.New(so), clock: c, logs: logs, store: store}
}

// scenario is one HTTP exchange and what must come back.
type scenario struct {
	name        string
	method      string
	path        string
	contentType string
	body        string
	header      map[string]string
	admin       bool
	status      int
	want        map[string]any // top-level envelope fields that must match
	contains    []string       // fragments the body must contain
	notContains []string
}

func (f *fixture) do(method, path, contentType, body string, header map[string]string, admin bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h := f.srv.Handler()
	if admin {
		h = f.srv.AdminHandler()
	}
	h.ServeHTTP(rec, req)
	return rec
}

func (f *fixture) run(s scenario) map[string]any {
	f.t.Helper()
	rec := f.do(s.method, s.path, s.contentType, s.body, s.header, s.admin)
	if rec.Code != s.status {
		f.t.Fatalf("%s %s: status %d, want %d; body %s", s.method, s.path, rec.Code, s.status, rec.Body)
	}
	var got map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &got)
	for k, v := range s.want {
		if g, _ := json.Marshal(got[k]); string(g) != mustJSON(v) {
			f.t.Errorf("%s: %s = %s, want %s (body %s)", s.name, k, g, mustJSON(v), rec.Body)
		}
	}
	for _, c := range s.contains {
		if !strings.Contains(rec.Body.String(), c) {
			f.t.Errorf("%s: body %s does not contain %q", s.name, rec.Body, c)
		}
	}
	for _, c := range s.notContains {
		if strings.Contains(rec.Body.String(), c) {
			f.t.Errorf("%s: body %s contains %q", s.name, rec.Body, c)
		}
	}
	return got
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

const form = "application/x-www-form-urlencoded"

func (f *fixture) begin() string {
	got := f.run(scenario{method: "POST", path: "/tx/demo/begin", contentType: form, body: "NAME=kim&PHONE=01012345678", status: 200})
	return got["tid"].(string)
}

func TestServer_Scenarios(t *testing.T) {
	f := newFixture(t)
	tid := f.begin()
	expired := f.begin()
	f.run(scenario{method: "POST", path: "/tx/demo/next", contentType: form, body: "TID=" + tid, status: 200})
	f.clock.Advance(2 * time.Minute) // every session is now expired…
	fresh := f.begin()               // …but this one
	tests := []scenario{
		{name: "form", method: "POST", path: "/tx/demo/begin", contentType: form, body: "NAME=lee", status: 200,
			want: map[string]any{"result": "SUCCESS", "code": "OK", "data": map[string]any{"HELLO": "hi lee"}}},
		{name: "json", method: "POST", path: "/tx/demo/begin", contentType: "application/json; charset=utf-8", body: `{"NAME":"lee","N":12,"B":true,"X":null}`, status: 200,
			want: map[string]any{"result": "SUCCESS"}},
		{name: "no content type is a form", method: "POST", path: "/tx/demo/begin", body: "NAME=lee", status: 200},
		{name: "unknown protocol", method: "POST", path: "/tx/nope/begin", contentType: form, status: 404,
			want: map[string]any{"result": "FAIL", "code": "UNKNOWN_PROTOCOL"}},
		{name: "unknown step", method: "POST", path: "/tx/demo/nope", contentType: form, status: 404,
			want: map[string]any{"code": "UNKNOWN_STEP"}},
		{name: "missing param", method: "POST", path: "/tx/demo/begin", contentType: form, status: 400,
			want:     map[string]any{"code": "INVALID_PARAMS", "data": map[string]any{"missing": []string{"NAME"}, "invalid": []string{}}},
			contains: []string{"missing: NAME"}},
		{name: "malformed param", method: "POST", path: "/tx/demo/begin", contentType: form, body: "NAME=K1M", status: 400,
			want: map[string]any{"code": "INVALID_PARAMS", "data": map[string]any{"missing": []string{}, "invalid": []string{"NAME"}}}},
		{name: "body too large", method: "POST", path: "/tx/demo/begin", contentType: form, body: "NAME=" + strings.Repeat("a", 2000), status: 413,
			want: map[string]any{"code": "BODY_TOO_LARGE"}},
		{name: "value too long", method: "POST", path: "/tx/demo/begin", contentType: form, body: "NAME=" + strings.Repeat("a", 65), status: 400,
			want: map[string]any{"code": "PARAM_TOO_LONG", "data": map[string]any{"param": "NAME"}}},
		{name: "too many params", method: "POST", path: "/tx/demo/begin", contentType: form, body: "a=1&b=2&c=3&d=4&e=5&f=6&g=7&h=8&i=9", status: 400,
			want: map[string]any{"code": "TOO_MANY_PARAMS"}},
		{name: "repeated param", method: "POST", path: "/tx/demo/begin", contentType: form, body: "NAME=a&NAME=b", status: 400,
			want: map[string]any{"code": "BAD_REQUEST", "data": map[string]any{"param": "NAME"}}},
		{name: "bad url encoding", method: "POST", path: "/tx/demo/begin", contentType: form, body: "NAME=%zz", status: 400,
			want: map[string]any{"code": "BAD_REQUEST"}},
		{name: "bad utf-8", method: "POST", path: "/tx/demo/begin", contentType: form, body: "NAME=%ff", status: 400,
			want: map[string]any{"code": "BAD_REQUEST"}},
		{name: "bad json", method: "POST", path: "/tx/demo/begin", contentType: "application/json", body: `{"NAME":`, status: 400,
			want: map[string]any{"code": "BAD_REQUEST"}},
		{name: "nested json", method: "POST", path: "/tx/demo/begin", contentType: "application/json", body: `{"NAME":{"a":1}}`, status: 400,
			want: map[string]any{"code": "BAD_REQUEST"}},
		{name: "json array", method: "POST", path: "/tx/demo/begin", contentType: "application/json", body: `["NAME"]`, status: 400,
			want: map[string]any{"code": "BAD_REQUEST"}},
		{name: "unsupported media", method: "POST", path: "/tx/demo/begin", contentType: "text/xml", body: "<a/>", status: 415,
			want: map[string]any{"code": "UNSUPPORTED_MEDIA_TYPE"}},
		{name: "wrong method", method: "GET", path: "/tx/demo/begin", status: 405,
			want: map[string]any{"code": "METHOD_NOT_ALLOWED"}},
		{name: "no route", method: "GET", path: "/nope", status: 404,
			want: map[string]any{"code": "NOT_FOUND", "result": "FAIL"}},
		{name: "missing TID", method: "POST", path: "/tx/demo/next", contentType: form, status: 400,
			want: map[string]any{"code": "INVALID_PARAMS"}},
		{name: "unknown TID", method: "POST", path: "/tx/demo/next", contentType: form, body: "TID=" + engine.NewTID(time.Now()), status: 404,
			want: map[string]any{"code": "TID_NOT_FOUND"}},
		{name: "expired TID", method: "POST", path: "/tx/demo/next", contentType: form, body: "TID=" + expired, status: 410,
			want: map[string]any{"code": "TID_EXPIRED", "tid": expired}},
		{name: "out of order", method: "POST", path: "/tx/demo/later", contentType: form, body: "TID=" + fresh, status: 409,
			want: map[string]any{"code": "STEP_OUT_OF_ORDER", "tid": fresh}},
		{name: "script error hides internals", method: "POST", path: "/tx/demo/throws", contentType: form, body: "TID=" + fresh, status: 500,
			want:        map[string]any{"code": "SCRIPT_ERROR", "message": "the step failed with an internal error", "tid": fresh},
			notContains: []string{"hunter2", "throws.js"}},
		{name: "timeout", method: "POST", path: "/tx/demo/spin", contentType: form, body: "TID=" + fresh, status: 504,
			want: map[string]any{"code": "SCRIPT_TIMEOUT"}},
		{name: "healthz", method: "GET", path: "/healthz", status: 200},
		{name: "not ready before Serve", method: "GET", path: "/readyz", status: 503},
		{name: "metrics", method: "GET", path: "/metrics", status: 200},
	}
	for _, s := range tests {
		t.Run(s.name, func(t *testing.T) {
			f.t = t
			f.run(s)
		})
	}
}

func TestServer_ReplayOfClosingStep(t *testing.T) {
	f := newFixture(t)
	tid := f.begin()
	first := f.do("POST", "/tx/demo/next", form, "TID="+tid, nil, false)
	again := f.do("POST", "/tx/demo/next", form, "TID="+tid, nil, false)
	if again.Code != 200 || again.Body.String() != first.Body.String() || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay %d %s %v, first %s", again.Code, again.Body, again.Header(), first.Body)
	}
}

func TestServer_ScriptErrorIsLoggedWithFileAndLine(t *testing.T) {
	f := newFixture(t)
	tid := f.begin()
	f.do("POST", "/tx/demo/throws", form, "TID="+tid, nil, false)
	lines := f.logs.FilterMessage("script error").All()
	if len(lines) != 1 || lines[0].ContextMap()["at"] != "demo/throws.js:1" {
		t.Fatalf("log %+v", lines)
	}
	access := f.logs.FilterMessage("request").All()
	last := access[len(access)-1].ContextMap()
	if last["status"] != int64(500) || last["code"] != "SCRIPT_ERROR" || last["tid"] != tid || last["error"] == nil {
		t.Fatalf("access log of a script error %v", last)
	}
}

func TestServer_RequestIDAndAccessLog(t *testing.T) {
	f := newFixture(t)
	rec := f.do("POST", "/tx/demo/begin", form, "NAME=kim&PHONE=01012345678", map[string]string{"X-Request-ID": "abc-123"}, false)
	if rec.Header().Get("X-Request-ID") != "abc-123" {
		t.Fatalf("request id %q", rec.Header().Get("X-Request-ID"))
	}
	bad := f.do("POST", "/tx/demo/begin", form, "PHONE=01012345678", map[string]string{"X-Request-ID": "bad id\n"}, false)
	if id := bad.Header().Get("X-Request-ID"); len(id) != 16 {
		t.Fatalf("a malformed request id should be replaced, got %q", id)
	}
	access := f.logs.FilterMessage("request").All()
	if len(access) != 2 {
		t.Fatalf("access log lines: %d", len(access))
	}
	ctx := access[0].ContextMap()
	if ctx["request_id"] != "abc-123" || ctx["status"] != int64(200) || ctx["tid"] == "" || ctx["code"] != "OK" {
		t.Fatalf("access log %v", ctx)
	}
	if ctx := access[1].ContextMap(); ctx["status"] != int64(400) || ctx["code"] != engine.CodeBadParams || ctx["error"] != nil {
		t.Fatalf("access log of a refused request %v", ctx)
	}
	for _, e := range f.logs.All() {
		if b, _ := json.Marshal(e.ContextMap()); strings.Contains(e.Message+string(b), "01012345678") {
			t.Fatalf("a phone number reached the log: %s %s", e.Message, b)
		}
	}
}

func TestServer_Admin(t *testing.T) {
	f := newFixture(t)
	tid := f.begin()
	auth := map[string]string{"Authorization": "Bearer " + adminToken}
	tests := []scenario{
		{name: "no token", method: "GET", path: "/admin/status", admin: true, status: 401, want: map[string]any{"code": "UNAUTHORIZED"}},
		{name: "wrong token", method: "GET", path: "/admin/status", admin: true, header: map[string]string{"Authorization": "Bearer nope"}, status: 401},
		{name: "status", method: "GET", path: "/admin/status", admin: true, header: auth, status: 200,
			contains: []string{`"version":1`, `"protocols":["demo"]`, `"last_reload"`, `"pool"`, `"store"`}},
		{name: "session masked", method: "GET", path: "/admin/sessions/" + tid, admin: true, header: auth, status: 200,
			contains: []string{`"PHONE":"****"`, `"NAME":"kim"`}, notContains: []string{"01012345678"}},
		{name: "session unknown", method: "GET", path: "/admin/sessions/" + engine.NewTID(time.Now()), admin: true, header: auth, status: 404},
		{name: "reload", method: "POST", path: "/admin/reload", admin: true, header: auth, status: 200, contains: []string{`"ok":true`, `"version":1`}},
		{name: "admin metrics without token", method: "GET", path: "/metrics", admin: true, status: 200},
		{name: "tx is not on the admin listener", method: "POST", path: "/tx/demo/begin", admin: true, status: 404},
		{name: "mounted admin handler", method: "GET", path: "/admin/extra/x", admin: true, header: auth, status: 200, contains: []string{"extra"}},
		{name: "mounted admin handler needs the token", method: "GET", path: "/admin/extra/x", admin: true, status: 401},
	}
	for _, s := range tests {
		t.Run(s.name, func(t *testing.T) {
			f.t = t
			f.run(s)
		})
	}
}

func TestServer_Metrics(t *testing.T) {
	f := newFixture(t)
	tid := f.begin()
	f.do("POST", "/tx/demo/next", form, "TID="+tid, nil, false)
	f.do("POST", "/tx/demo/next", form, "TID="+tid, nil, false)
	rec := f.do("GET", "/metrics", "", "", nil, false)
	for _, want := range []string{
		`tuna_steps_total{code="OK",protocol="demo",result="SUCCESS",step="begin"} 1`,
		`tuna_steps_total{code="DONE",protocol="demo",result="SUCCESS",step="next"} 2`,
		`tuna_step_duration_seconds_count{protocol="demo",step="next"} 2`,
		`tuna_store_duration_seconds_count{op="load"} 2`,
		`tuna_pool_wait_seconds_count`, `tuna_pool_runtimes`, `tuna_reloads_total`, `tuna_snapshot_version 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// A client that sends its headers too slowly is cut off.
func TestServer_SlowClientIsCutOff(t *testing.T) {
	f := newFixture(t, withServerOptions(func(o *server.Options) { o.HeaderTimeout = 200 * time.Millisecond }))
	pub, _ := net.Listen("tcp", "127.0.0.1:0")
	adm, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go f.srv.Serve(ctx, pub, adm)
	conn, err := net.Dial("tcp", pub.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte("POST /tx/demo/begin HTTP/1.1\r\nHost: x\r\n")) // and never the rest
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("the server did not close the connection: %v", err)
	}
}

// panicStore panics on Load, to prove no panic reaches a client.
type panicStore struct{ session.Store }

func (panicStore) Load(context.Context, string) (*session.Session, error) { panic("store exploded") }

func TestServer_PanicBecomes500(t *testing.T) {
	f := newFixture(t, withStore(func(s session.Store) session.Store { return panicStore{s} }))
	tid := f.begin()
	f.run(scenario{method: "POST", path: "/tx/demo/next", contentType: form, body: "TID=" + tid, status: 500,
		want: map[string]any{"code": "INTERNAL_ERROR"}, notContains: []string{"exploded"}})
	if len(f.logs.FilterMessage("panic while serving").All()) != 1 {
		t.Fatal("the panic was not logged")
	}
}

// A real listening server: steps over TCP, then a graceful shutdown that
// lets a step in flight finish.
func TestServer_ListenAndDrain(t *testing.T) {
	f := newFixture(t)
	pub, _ := net.Listen("tcp", "127.0.0.1:0")
	adm, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- f.srv.Serve(ctx, pub, adm) }()
	base := "http://" + pub.Addr().String()
	waitReady(t, base)
	tid := post(t, base+"/tx/demo/begin", "NAME=kim")["tid"].(string)

	slow := make(chan map[string]any, 1)
	go func() { slow <- post(t, base+"/tx/demo/slow", "TID="+tid+"&MS=400") }()
	time.Sleep(100 * time.Millisecond) // let the slow step start
	cancel()
	if got := <-slow; got["result"] != "SUCCESS" {
		t.Fatalf("the in-flight step was not drained: %v", got)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("still accepting after shutdown")
	}
}

func waitReady(t *testing.T, base string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if r, err := http.Get(base + "/readyz"); err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("never ready")
}

func post(t *testing.T, url, body string) map[string]any {
	resp, err := http.Post(url, form, strings.NewReader(body))
	if err != nil {
		t.Errorf("POST %s: %v", url, err)
		return nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Errorf("POST %s: %s", url, b)
	}
	return m
}
