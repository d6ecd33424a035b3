package loadgen

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// adminFake is the fake TUNA with an admin reload endpoint behind a token.
type adminFake struct {
	*fakeTUNA
	token   string
	reloads atomic.Int64
	denied  atomic.Int64
}

func (a *adminFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/admin/reload" {
		a.fakeTUNA.ServeHTTP(w, r)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+a.token {
		a.denied.Add(1)
		http.Error(w, `{"message":"Unauthorized"}`, http.StatusUnauthorized)
		return
	}
	a.reloads.Add(1)
	w.Write([]byte(`{"ok":true,"snapshot":{"version":2}}`))
}

// reloadOpts: a window of 700ms with reloads at 100, 300 and 500ms, each
// one's window 100ms, compared with the 100ms before the first.
func reloadOpts(url string) Options {
	o := quick(url)
	o.Duration, o.Warmup = 700*time.Millisecond, 50*time.Millisecond
	o.Reload = ReloadOptions{At: 100 * time.Millisecond, Every: 200 * time.Millisecond,
		Window: 100 * time.Millisecond, Before: 100 * time.Millisecond}
	return o
}

func TestRun_ReloadAdmin(t *testing.T) {
	t.Parallel()
	a := &adminFake{fakeTUNA: newFake(), token: "s3cret"}
	srv := httptest.NewServer(a)
	defer srv.Close()
	o := reloadOpts(srv.URL)
	o.Reload.Admin, o.Reload.Token = srv.URL+"/", "s3cret"
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	rr := res.Reload
	if rr == nil || a.reloads.Load() != 3 || a.denied.Load() != 0 {
		t.Fatalf("server saw %d reloads, %d denied; result %+v", a.reloads.Load(), a.denied.Load(), rr)
	}
	if rr.Trigger != "admin "+srv.URL+"/admin/reload" || rr.Planned != 3 || rr.Reloads != 3 || rr.FailedTriggers != 0 ||
		len(rr.Each) != 3 || rr.FailedSteps != 0 || rr.FailedStepsRun != 0 || rr.FailedNearReloads != 0 {
		t.Fatalf("reload %+v", rr)
	}
	var during uint64
	for i, e := range rr.Each {
		if !e.OK || e.Error != "" || e.FailedSteps != 0 || e.TookMs <= 0 || e.AtSec < 0.1+0.2*float64(i)-1e-6 {
			t.Errorf("reload %d: %+v", i, e)
		}
		if e.Steps > 0 && (e.P99Ms <= 0 || e.MaxMs < e.P99Ms) {
			t.Errorf("reload %d: %+v", i, e)
		}
		during += e.Steps
	}
	// The reload windows do not overlap: together they are the sum.
	if rr.DuringSteps != during || rr.BeforeSec != 0.1 {
		t.Fatalf("during %d steps, the reloads %d; before %vs", rr.DuringSteps, during, rr.BeforeSec)
	}
	if (rr.BeforeSteps > 0) != (rr.P99BeforeMs > 0) || (rr.P99BeforeMs > 0 && rr.DuringSteps > 0) != (rr.Ratio > 0) {
		t.Fatalf("p99 before %v (%d steps), during %v, ratio %v", rr.P99BeforeMs, rr.BeforeSteps, rr.P99DuringMs, rr.Ratio)
	}
	// Reloads turn the time series on by themselves only in the CLI.
	if res.Samples != nil {
		t.Fatalf("samples %v", res.Samples)
	}
	var table strings.Builder
	res.WriteTable(&table)
	for _, want := range []string{"reload: admin ", "3 of 3 reloads done, 0 failed triggers", "#3 ", "ratio "} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table has no %q:\n%s", want, table.String())
		}
	}
}

func TestRun_ReloadAdminRefused(t *testing.T) {
	t.Parallel()
	a := &adminFake{fakeTUNA: newFake(), token: "s3cret"}
	srv := httptest.NewServer(a)
	defer srv.Close()
	o := reloadOpts(srv.URL)
	o.Reload.Admin, o.Reload.Token, o.Reload.Every = srv.URL+"/admin/reload", "wrong", 0
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err) // the load went well; the reload is reported
	}
	rr := res.Reload
	if a.denied.Load() != 1 || rr.Planned != 1 || rr.Reloads != 0 || rr.FailedTriggers != 1 ||
		!strings.Contains(rr.Each[0].Error, "HTTP 401") || rr.Each[0].OK {
		t.Fatalf("reload %+v", rr)
	}
}

// touchFake is the fake TUNA whose bill reads the script file, as a server
// with hot reload would, and notes every content it saw.
type touchFake struct {
	*fakeTUNA
	path string
	mu   sync.Mutex
	seen map[string]int
}

func (f *touchFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/tx/payment/bill" {
		b, err := os.ReadFile(f.path)
		f.mu.Lock()
		if err != nil {
			f.seen["ERROR "+err.Error()]++
		} else {
			f.seen[string(b)]++
		}
		f.mu.Unlock()
	}
	f.fakeTUNA.ServeHTTP(w, r)
}

func TestRun_ReloadTouch(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "bill.js")
	orig := "(function () {\n\tsetSuccess();\n})();" // no newline at the end
	if err := os.WriteFile(path, []byte(orig), 0o640); err != nil {
		t.Fatal(err)
	}
	f := &touchFake{fakeTUNA: newFake(), path: path, seen: map[string]int{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	o := reloadOpts(srv.URL)
	o.Reload.Touch = path
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	rr := res.Reload
	if rr.Trigger != "touch "+path || rr.Planned != 3 || rr.Reloads != 3 || rr.FailedTriggers != 0 || rr.RestoreError != "" {
		t.Fatalf("reload %+v", rr)
	}
	// Put back as it was, mode and all, and nothing left beside it.
	b, err := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if err != nil || string(b) != orig || fi.Mode().Perm() != 0o640 {
		t.Fatalf("after the run: %q, mode %v, %v", b, fi.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("left in the folder: %v", ents)
	}
	// The server only ever read a whole file: the original, or it with one
	// reload's comment.
	f.mu.Lock()
	defer f.mu.Unlock()
	for content, n := range f.seen {
		ok := content == orig
		for i := 1; i <= 3; i++ {
			ok = ok || content == orig+"\n// tuna loadgen reload "+string(rune('0'+i))+"\n"
		}
		if !ok {
			t.Errorf("the server read %q %d times", content, n)
		}
	}
}

func TestToucher(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct{ name, orig, first, second string }{
		{"a.js", "x();\n", "x();\n// tuna loadgen reload 1\n", "x();\n// tuna loadgen reload 2\n"},
		{"p.yaml", "name: p", "name: p\n# tuna loadgen reload 1\n", "name: p\n# tuna loadgen reload 2\n"},
		{"data.json", "{}", "{}", "{}"}, // no comments in JSON: the same bytes again
	}
	for _, tt := range tests {
		p := write(tt.name, tt.orig)
		tc, err := newToucher(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []string{tt.first, tt.second} {
			if err := tc.touch(i + 1); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(p); string(b) != want {
				t.Errorf("%s reload %d: %q, want %q", tt.name, i+1, b, want)
			}
		}
		if err := tc.restore(); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(p); string(b) != tt.orig {
			t.Errorf("%s restored: %q", tt.name, b)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != len(tests) {
		t.Fatalf("left in the folder: %v", ents)
	}
	if _, err := newToucher(filepath.Join(dir, "missing.js")); err == nil {
		t.Fatal("a missing file is touched")
	}
	if _, err := newToucher(dir); err == nil {
		t.Fatal("a folder is touched")
	}
}

// Options that make no sense fail before any load.
func TestRun_ReloadOptionErrors(t *testing.T) {
	t.Parallel()
	f := newFake()
	srv := httptest.NewServer(f)
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "x.js")
	os.WriteFile(file, []byte("x"), 0o600)
	tests := []struct {
		name   string
		reload ReloadOptions
		is     error
	}{
		{"both", ReloadOptions{Touch: file, Admin: srv.URL, Token: "t"}, ErrReloadOptions},
		{"no token", ReloadOptions{Admin: srv.URL}, ErrReloadOptions},
		{"after the window", ReloadOptions{Touch: file, At: time.Hour}, ErrReloadOptions},
		{"negative interval", ReloadOptions{Touch: file, Every: -time.Second}, ErrReloadOptions},
		{"too many", ReloadOptions{Touch: file, At: time.Nanosecond, Every: time.Nanosecond}, ErrReloadOptions},
		{"missing file", ReloadOptions{Touch: file + ".not"}, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := quick(srv.URL)
			o.Reload = tt.reload
			res, err := Run(context.Background(), o)
			if !errors.Is(err, tt.is) || res != nil {
				t.Fatalf("err %v, want %v; result %v", err, tt.is, res)
			}
		})
	}
	o := quick(srv.URL)
	o.SampleEvery = time.Nanosecond
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "sample intervals") {
		t.Fatalf("400ms in 1ns intervals: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) != 0 {
		t.Fatalf("load ran: %v", f.calls)
	}
}

func TestReloadOptions_Plan(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	win := window{start: t0, end: t0.Add(30 * time.Second)}
	o := ReloadOptions{Touch: "x", Every: 5 * time.Second}.withDefaults(30 * time.Second)
	at, err := o.plan(win)
	if err != nil || len(at) != 4 || !at[0].Equal(t0.Add(10*time.Second)) || !at[3].Equal(t0.Add(25*time.Second)) {
		t.Fatalf("plan %v, %v", at, err)
	}
	// The default first reload is at half a short window.
	o = ReloadOptions{Admin: "http://h:1/", Token: "t"}.withDefaults(4 * time.Second)
	at, err = o.plan(window{start: t0, end: t0.Add(4 * time.Second)})
	if err != nil || len(at) != 1 || !at[0].Equal(t0.Add(2*time.Second)) || o.Admin != "http://h:1/admin/reload" ||
		o.Window != 2*time.Second || o.Before != 10*time.Second {
		t.Fatalf("plan %v, %v, options %+v", at, err, o)
	}
	if at, err := (ReloadOptions{}).plan(win); at != nil || err != nil {
		t.Fatalf("no reload: %v %v", at, err)
	}
}

func TestReloadWindows_Classify(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	win := window{start: t0, end: t0.Add(10 * time.Second)}
	at := []time.Time{t0.Add(5 * time.Second), t0.Add(6 * time.Second)} // windows of 2s overlap
	w := newReloadWindows(win, at, ReloadOptions{Window: 2 * time.Second, Before: 10 * time.Second})
	if !w.beforeFrom.Equal(t0) || !w.beforeTo.Equal(at[0]) {
		t.Fatalf("before [%v, %v)", w.beforeFrom, w.beforeTo)
	}
	s := func(d time.Duration) time.Time { return t0.Add(d) }
	w.step(s(-time.Second), 50*time.Millisecond)          // warm-up: nowhere
	w.step(s(time.Second), time.Millisecond)              // before
	w.step(s(4999*time.Millisecond), 2*time.Millisecond)  // before
	w.step(s(5*time.Second), 3*time.Millisecond)          // reload 1
	w.step(s(6500*time.Millisecond), 40*time.Millisecond) // reload 1 and 2
	w.step(s(7999*time.Millisecond), 5*time.Millisecond)  // reload 2
	w.step(s(8*time.Second), 6*time.Millisecond)          // after both
	w.fail(s(2999 * time.Millisecond))                    // before either's ±2s
	w.fail(s(3 * time.Second))                            // near 1
	w.fail(s(4500 * time.Millisecond))                    // near 1 and 2
	w.fail(s(7500 * time.Millisecond))                    // near 2
	w.fail(s(8 * time.Second))                            // past both
	if w.before.Count() != 2 || w.during[0].Count() != 2 || w.during[1].Count() != 2 {
		t.Fatalf("before %d, during %d and %d", w.before.Count(), w.during[0].Count(), w.during[1].Count())
	}
	if w.fails[0].Load() != 2 || w.fails[1].Load() != 2 || w.near.Load() != 3 {
		t.Fatalf("failures near 1: %d, near 2: %d, near any: %d", w.fails[0].Load(), w.fails[1].Load(), w.near.Load())
	}
	rl := &reloader{o: ReloadOptions{Admin: "http://h/admin/reload", At: 5 * time.Second, Every: time.Second,
		Window: 2 * time.Second}}
	events := []reloadEvent{{at: at[0], took: time.Millisecond}, {at: at[1], err: errors.New("HTTP 422")}}
	res := rl.result(win, w, events, 5, 6)
	if res.Planned != 2 || res.Reloads != 1 || res.FailedTriggers != 1 || res.FailedSteps != 5 || res.FailedStepsRun != 6 ||
		res.FailedNearReloads != 3 || res.BeforeSec != 5 || res.BeforeSteps != 2 || res.DuringSteps != 4 {
		t.Fatalf("result %+v", res)
	}
	// p99 of {3, 40} and of {40, 5} is 40; of the two before, 2; together {3, 40, 40, 5}: 40.
	if res.P99BeforeMs != 2 || res.P99DuringMs != 40 || res.P99WorstMs != 40 || res.Ratio != 20 {
		t.Fatalf("p99 before %v during %v worst %v ratio %v", res.P99BeforeMs, res.P99DuringMs, res.P99WorstMs, res.Ratio)
	}
	if !res.Each[0].OK || res.Each[1].OK || res.Each[1].Error != "HTTP 422" || res.Each[0].Steps != 2 {
		t.Fatalf("each %+v", res.Each)
	}
	var table bytes.Buffer
	(&Result{Reload: res}).writeReload(&table)
	if !strings.Contains(table.String(), "1 of 2 reloads done, 1 failed triggers") ||
		!strings.Contains(table.String(), "ratio 20.00") {
		t.Fatalf("table:\n%s", table.String())
	}
}
