package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// ReloadOptions make the server reload its scripts and protocols while the
// load runs: by rewriting a file the server watches (Touch), or through
// the admin API (Admin and Token). With neither, there is no reload.
type ReloadOptions struct {
	// At is when the first reload is, into the measured window; default
	// 10s, or half the window if that is shorter.
	At time.Duration
	// Every repeats the reload until the window ends; 0: once.
	Every time.Duration
	// Touch is a file in the server's scripts or protocols folder. Each
	// reload replaces it (write and rename, so the server never reads half
	// of it) by its original content and a comment that differs every time
	// (// in .js, # in .yaml and .yml; other files get their own bytes
	// again, which reloads but builds the same snapshot). The original
	// content is put back when the run ends.
	Touch string
	// Admin is the server's admin URL: each reload is a POST to
	// Admin/admin/reload with the bearer Token.
	Admin, Token string
	// Window is how long after a reload its latency counts as "during the
	// reload", and how far either side of it a failure counts as near it;
	// default 2s.
	Window time.Duration
	// Before is how long before the first reload the latency is compared
	// against (within the measured window); default 10s.
	Before time.Duration
	// Client makes the admin calls; default a plain client with a timeout.
	Client *http.Client
}

// maxReloads bounds the reloads of a run: each keeps a histogram.
const maxReloads = 1000

// ErrReloadOptions: the reload options do not make sense together.
var ErrReloadOptions = errors.New("loadgen: reload options")

func (o ReloadOptions) enabled() bool { return o.Touch != "" || o.Admin != "" }

func (o ReloadOptions) withDefaults(d time.Duration) ReloadOptions {
	if !o.enabled() {
		return o
	}
	if o.At <= 0 {
		o.At = min(10*time.Second, d/2)
	}
	if o.Window <= 0 {
		o.Window = 2 * time.Second
	}
	if o.Before <= 0 {
		o.Before = 10 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if o.Admin != "" {
		o.Admin = strings.TrimSuffix(strings.TrimRight(o.Admin, "/"), "/admin/reload") + "/admin/reload"
	}
	return o
}

// plan is when the reloads are, given the measured window; it fails on
// options that make no sense.
func (o ReloadOptions) plan(win window) ([]time.Time, error) {
	switch {
	case !o.enabled():
		return nil, nil
	case o.Touch != "" && o.Admin != "":
		return nil, fmt.Errorf("%w: touch a file or call the admin API, not both", ErrReloadOptions)
	case o.Admin != "" && o.Token == "":
		return nil, fmt.Errorf("%w: the admin API needs its token", ErrReloadOptions)
	case o.Every < 0:
		return nil, fmt.Errorf("%w: negative interval %v", ErrReloadOptions, o.Every)
	}
	first := win.start.Add(o.At)
	if !first.Before(win.end) {
		return nil, fmt.Errorf("%w: the first reload (%v) is not inside the measured window (%v)",
			ErrReloadOptions, o.At, win.end.Sub(win.start))
	}
	at := []time.Time{first}
	for o.Every > 0 {
		next := at[len(at)-1].Add(o.Every)
		if !next.Before(win.end) {
			break
		}
		if len(at) == maxReloads {
			return nil, fmt.Errorf("%w: more than %d reloads", ErrReloadOptions, maxReloads)
		}
		at = append(at, next)
	}
	return at, nil
}

// reloadWindows files latencies and failures by where they ended relative
// to the planned reloads. Fixed before the workers start; atomic after.
type reloadWindows struct {
	at                   []time.Time
	width                time.Duration
	beforeFrom, beforeTo time.Time
	before               Histogram
	during               []Histogram
	fails                []atomic.Int64
	near                 atomic.Int64
}

func newReloadWindows(win window, at []time.Time, o ReloadOptions) *reloadWindows {
	w := &reloadWindows{at: at, width: o.Window, beforeTo: at[0], during: make([]Histogram, len(at)),
		fails: make([]atomic.Int64, len(at))}
	w.beforeFrom = at[0].Add(-o.Before)
	if w.beforeFrom.Before(win.start) {
		w.beforeFrom = win.start
	}
	return w
}

func (w *reloadWindows) step(end time.Time, d time.Duration) {
	if w == nil {
		return
	}
	if !end.Before(w.beforeFrom) && end.Before(w.beforeTo) {
		w.before.Record(d)
	}
	for i, at := range w.at {
		if off := end.Sub(at); off >= 0 && off < w.width {
			w.during[i].Record(d)
		}
	}
}

func (w *reloadWindows) fail(end time.Time) {
	if w == nil {
		return
	}
	near := false
	for i, at := range w.at {
		if off := end.Sub(at); off >= -w.width && off < w.width {
			w.fails[i].Add(1)
			near = true
		}
	}
	if near {
		w.near.Add(1)
	}
}

// reloader makes the server reload.
type reloader struct {
	o     ReloadOptions
	touch *toucher
}

func newReloader(o ReloadOptions) (*reloader, error) {
	r := &reloader{o: o}
	if o.Touch != "" {
		t, err := newToucher(o.Touch)
		if err != nil {
			return nil, err
		}
		r.touch = t
	}
	return r, nil
}

// reloadEvent is one reload done.
type reloadEvent struct {
	at   time.Time
	took time.Duration
	err  error
}

// run reloads at each planned moment (late ones at once) until the plan
// is done or ctx ends; note reports each one.
func (r *reloader) run(ctx context.Context, at []time.Time, note func(i int, e reloadEvent)) []reloadEvent {
	var out []reloadEvent
	for i, t := range at {
		if !sleepUntil(ctx, t) {
			break
		}
		e := reloadEvent{at: time.Now()}
		e.err = r.reload(ctx, i+1)
		e.took = time.Since(e.at)
		out = append(out, e)
		note(i, e)
	}
	return out
}

func (r *reloader) reload(ctx context.Context, n int) error {
	if r.touch != nil {
		return r.touch.touch(n)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.o.Admin, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.o.Token)
	res, err := r.o.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("admin reload: HTTP %d: %s", res.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// restore puts the touched file back as it was.
func (r *reloader) restore() error {
	if r.touch == nil {
		return nil
	}
	return r.touch.restore()
}

func (r *reloader) trigger() string {
	if r.touch != nil {
		return "touch " + r.o.Touch
	}
	return "admin " + r.o.Admin
}

// toucher rewrites one file.
type toucher struct {
	path    string
	orig    []byte
	mode    os.FileMode
	comment string // "" rewrites the same bytes
}

func newToucher(path string) (*toucher, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("reload: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("reload: %s is not a regular file", path)
	}
	orig, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reload: %w", err)
	}
	t := &toucher{path: path, orig: orig, mode: fi.Mode().Perm()}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".js", ".mjs", ".ts":
		t.comment = "//"
	case ".yaml", ".yml":
		t.comment = "#"
	}
	return t, nil
}

// content is the file's bytes for reload n.
func (t *toucher) content(n int) []byte {
	if t.comment == "" {
		return t.orig
	}
	b := append([]byte(nil), t.orig...)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return fmt.Appendf(b, "%s tuna loadgen reload %d\n", t.comment, n)
}

func (t *toucher) touch(n int) error { return writeReplace(t.path, t.content(n), t.mode) }

func (t *toucher) restore() error { return writeReplace(t.path, t.orig, t.mode) }

// writeReplace writes b to a temporary file beside path and renames it
// over path, so a reader sees the old content or the new, never a part.
// The temporary name ends in "~", which the server's watcher ignores as an
// editor's backup.
func writeReplace(path string, b []byte, mode os.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*~")
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("reload: %w", err)
	}
	return nil
}

// ReloadResult is what the reloads did to the load.
type ReloadResult struct {
	Trigger   string  `json:"trigger"` // "touch FILE" or "admin URL"
	AtSec     float64 `json:"at_sec"`
	EverySec  float64 `json:"every_sec,omitempty"`
	WindowSec float64 `json:"window_sec"`
	Planned   int     `json:"planned"`
	// Reloads are the reloads triggered without error (for the admin API:
	// answered 200, which it does once the new snapshot is in).
	Reloads        int `json:"reloads"`
	FailedTriggers int `json:"failed_triggers"`
	// FailedSteps are failed requests (a non-OK answer or a transport
	// error, SMS reads included) in the measured window; FailedStepsRun in
	// the whole run, warm-up and drain included; FailedNearReloads within
	// ±window of a reload, whenever.
	FailedSteps       int64 `json:"failed_steps"`
	FailedStepsRun    int64 `json:"failed_steps_run"`
	FailedNearReloads int64 `json:"failed_steps_near_reloads"`
	// The p99 of all steps before the first reload (BeforeSec long, in the
	// measured window), in the window after every reload together, and in
	// the worst single reload's; Ratio is during over before.
	BeforeSec   float64 `json:"before_sec"`
	BeforeSteps uint64  `json:"before_steps"`
	P99BeforeMs float64 `json:"p99_before_ms"`
	DuringSteps uint64  `json:"during_steps"`
	P99DuringMs float64 `json:"p99_during_ms"`
	P99WorstMs  float64 `json:"p99_during_worst_ms"`
	Ratio       float64 `json:"p99_ratio"`
	// RestoreError: the touched file could not be put back.
	RestoreError string        `json:"restore_error,omitempty"`
	Each         []ReloadEvent `json:"each"`
}

// ReloadEvent is one reload.
type ReloadEvent struct {
	// AtSec is when it was triggered, since the measured window began;
	// TookMs how long the trigger took (the admin API answers once the
	// server has built and swapped the new snapshot; a touch is only the
	// write, and the server reloads after its debounce).
	AtSec  float64 `json:"at_sec"`
	TookMs float64 `json:"took_ms"`
	OK     bool    `json:"ok"`
	Error  string  `json:"error,omitempty"`
	// Steps, P99Ms and MaxMs are of the steps that ended within the window
	// after the planned moment; FailedSteps of the failures within ±window.
	Steps       uint64  `json:"steps"`
	P99Ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	FailedSteps int64   `json:"failed_steps"`
}

func (r *reloader) result(win window, w *reloadWindows, events []reloadEvent, inWindow, all int64) *ReloadResult {
	res := &ReloadResult{Trigger: r.trigger(), AtSec: r.o.At.Seconds(), EverySec: r.o.Every.Seconds(),
		WindowSec: r.o.Window.Seconds(), Planned: len(w.at), FailedSteps: inWindow, FailedStepsRun: all,
		FailedNearReloads: w.near.Load(), BeforeSec: w.beforeTo.Sub(w.beforeFrom).Seconds(),
		BeforeSteps: w.before.Count(), P99BeforeMs: ms(w.before.Quantile(.99)), Each: []ReloadEvent{}}
	var during Histogram
	for i := range w.at {
		h := &w.during[i]
		e := ReloadEvent{AtSec: w.at[i].Sub(win.start).Seconds(), Steps: h.Count(), P99Ms: ms(h.Quantile(.99)),
			MaxMs: ms(h.Max()), FailedSteps: w.fails[i].Load()}
		if i < len(events) {
			ev := events[i]
			e.AtSec, e.TookMs, e.OK = ev.at.Sub(win.start).Seconds(), ms(ev.took), ev.err == nil
			if ev.err != nil {
				e.Error = ev.err.Error()
				res.FailedTriggers++
			} else {
				res.Reloads++
			}
		} else {
			e.Error = "not done: the run ended first"
		}
		res.Each = append(res.Each, e)
		during.Merge(h)
		res.P99WorstMs = max(res.P99WorstMs, e.P99Ms)
	}
	res.DuringSteps, res.P99DuringMs = during.Count(), ms(during.Quantile(.99))
	if res.P99BeforeMs > 0 {
		res.Ratio = res.P99DuringMs / res.P99BeforeMs
	}
	return res
}

// writeReload writes the reloads' outcome for people.
func (r *Result) writeReload(w io.Writer) {
	rr := r.Reload
	if rr == nil {
		return
	}
	every := ""
	if rr.EverySec > 0 {
		every = fmt.Sprintf(" every %gs", rr.EverySec)
	}
	fmt.Fprintf(w, "reload: %s at %gs%s: %d of %d reloads done, %d failed triggers\n",
		rr.Trigger, rr.AtSec, every, rr.Reloads, rr.Planned, rr.FailedTriggers)
	for i, e := range rr.Each {
		status := "ok"
		if !e.OK {
			status = e.Error
		}
		fmt.Fprintf(w, "  #%-3d at %7.2fs took %8.2f ms: %7d steps in %gs, p99 %8.2f ms, max %8.2f ms, %d failed within ±%gs; %s\n",
			i+1, e.AtSec, e.TookMs, e.Steps, rr.WindowSec, e.P99Ms, e.MaxMs, e.FailedSteps, rr.WindowSec, status)
	}
	fmt.Fprintf(w, "reload: failed steps %d in the window (%d in the whole run), %d within ±%gs of a reload\n",
		rr.FailedSteps, rr.FailedStepsRun, rr.FailedNearReloads, rr.WindowSec)
	fmt.Fprintf(w, "reload: p99 before %.2f ms (%d steps in %.1fs), during %.2f ms (%d steps; worst reload %.2f ms), ratio %.2f\n",
		rr.P99BeforeMs, rr.BeforeSteps, rr.BeforeSec, rr.P99DuringMs, rr.DuringSteps, rr.P99WorstMs, rr.Ratio)
	if rr.RestoreError != "" {
		fmt.Fprintf(w, "reload: WARNING: %s was not restored: %s\n", rr.Trigger, rr.RestoreError)
	}
}
