package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunapay/tuna/engine"
)

// liveWithin bounds every "eventually" of these tests. A reload takes a
// debounce and a build; this is generous for a loaded machine.
const liveWithin = 10 * time.Second

const beginJS = "scripts/flow/begin.js"

// watched is a harness over a copy of testdata/flow that a test may change.
type watched struct {
	*harness
	dir string
}

func newWatched(t *testing.T) *watched {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(flowDir)); err != nil {
		t.Fatal(err)
	}
	return &watched{harness: newHarness(t, dir), dir: dir}
}

// start runs Watch until the test ends, and checks that it then returns nil.
func (w *watched) start(debounce time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.e.Watch(ctx, debounce) }()
	w.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				w.t.Errorf("Watch returned %v after its context ended, want nil", err)
			}
		case <-time.After(liveWithin):
			w.t.Error("Watch did not return after its context ended")
		}
	})
}

// ready waits until Watch says it watches, then until a file that is no
// script makes a reload: events flow.
func (w *watched) ready() {
	w.t.Helper()
	w.waitFor("Watch to start", func() bool { return w.logs.FilterMessage("watching scripts and protocols").Len() > 0 })
	reloads := w.e.Status().LastReload.Count
	w.write("scripts/probe.txt", "probe")
	w.waitFor("a reload for a new file", func() bool { return w.e.Status().LastReload.Count > reloads })
}

// goLive saves a new version of begin.js and waits until steps answer it.
func (w *watched) goLive(version string) {
	w.t.Helper()
	w.replace(beginJS, versionedBegin(version))
	w.waitFor("version "+version, func() bool { return w.version() == version })
}

func (w *watched) path(rel string) string { return filepath.Join(w.dir, filepath.FromSlash(rel)) }

func (w *watched) read(rel string) string {
	w.t.Helper()
	b, err := os.ReadFile(w.path(rel))
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

// write saves a file in place, as most editors do.
func (w *watched) write(rel, src string) {
	w.t.Helper()
	if err := os.WriteFile(w.path(rel), []byte(src), 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// replace saves a file as editors that save atomically do: a temporary file
// renamed over it.
func (w *watched) replace(rel, src string) {
	w.t.Helper()
	if err := renameOver(w.path(rel), src); err != nil {
		w.t.Fatal(err)
	}
}

func renameOver(path, src string) error {
	if err := os.WriteFile(path+".tmp", []byte(src), 0o644); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

// saveAsVim saves as vim does by default: the file is moved to a backup,
// written anew, and the backup removed.
func (w *watched) saveAsVim(rel, src string) {
	w.t.Helper()
	p := w.path(rel)
	if err := os.Rename(p, p+"~"); err != nil {
		w.t.Fatal(err)
	}
	w.write(rel, src)
	if err := os.Remove(p + "~"); err != nil {
		w.t.Fatal(err)
	}
}

// waitFor polls cond until it holds, and fails the test if it does not
// within liveWithin.
func (w *watched) waitFor(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(liveWithin)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: not within %v (last reload %+v)", what, liveWithin, w.e.Status().LastReload)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// version runs the begin step and returns the version its script reports:
// "" for the script of testdata/flow.
// version is the version begin.js answers, or "" if the step fails: an
// in-place write may be caught half done, and the next reload heals it.
func (w *watched) version() string {
	w.t.Helper()
	resp, err := w.run("flow", "begin", p("NAME", "kim"))
	if err != nil || resp.Result != engine.ResultSuccess {
		return ""
	}
	v, _ := resp.Data["V"].(string)
	return v
}

// greeting is what begin answers as GREETING, or "" if it fails.
func (w *watched) greeting() string {
	resp, err := w.run("flow", "begin", p("NAME", "kim"))
	if err != nil {
		return ""
	}
	g, _ := resp.Data["GREETING"].(string)
	return g
}

// versionedBegin is a begin.js that answers version v and starts a session
// the other flow steps accept.
func versionedBegin(v string) string {
	return `importScript("lib/greet.js");
persistMap.put("NAME", reqMap.get("NAME"));
persistMap.put("COUNT", 0);
resMap.put("GREETING", greet(reqMap.get("NAME")));
resMap.put("V", "` + v + `");
setSuccess();
`
}

func (w *watched) reloadFailed() bool { return !w.e.Status().LastReload.OK }
func (w *watched) reloadOK() bool     { return w.e.Status().LastReload.OK }

func TestWatch_ChangedScriptGoesLive(t *testing.T) {
	w := newWatched(t)
	w.start(0) // the default debounce: the delay measured is the usual one
	w.ready()
	if v := w.version(); v != "" {
		t.Fatalf("before any change, version %q", v)
	}
	saves := []func(rel, src string){w.write, w.replace, w.saveAsVim}
	var delays []time.Duration
	for i := 1; i <= 10; i++ {
		want := fmt.Sprintf("v%d", i)
		t0 := time.Now()
		saves[i%len(saves)](beginJS, versionedBegin(want))
		w.waitFor("version "+want, func() bool { return w.version() == want })
		delays = append(delays, time.Since(t0))
	}
	t.Logf("from the save to the first new answer: %s", delaySummary(delays))
	t.Logf("from the first event to the swap (logged): %s", delaySummary(loggedDelays(t, w)))
}

// loggedDelays returns the delays the watcher logged, and checks that each
// log line says how many events it coalesced.
func loggedDelays(t *testing.T, w *watched) []time.Duration {
	t.Helper()
	var out []time.Duration
	for _, l := range w.logs.FilterMessage("reload after change done").All() {
		ctx := l.ContextMap()
		d, ok := ctx["delay"].(time.Duration)
		if n, _ := ctx["events"].(int64); !ok || d <= 0 || n < 1 {
			t.Errorf("log line without a delay or event count: %v", ctx)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		t.Error("no reload logged its delay")
	}
	return out
}

func delaySummary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "none"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
	return fmt.Sprintf("n=%d min %v median %v max %v", len(s), r(s[0]), r(s[len(s)/2]), r(s[len(s)-1]))
}

func TestWatch_ChangedLibraryGoesLive(t *testing.T) {
	w := newWatched(t)
	w.start(20 * time.Millisecond)
	w.write("scripts/lib/greet.js", "function greet(name) { return \"hi \" + name; }\n")
	w.waitFor("the new library", func() bool { return w.greeting() == "hi kim" })
}

func TestWatch_ChangeBeforeWatchStartsGoesLive(t *testing.T) {
	w := newWatched(t)
	w.replace(beginJS, versionedBegin("early")) // after New, before any watch
	w.start(20 * time.Millisecond)
	w.waitFor("version early", func() bool { return w.version() == "early" })
}

func TestWatch_SyntaxErrorKeepsOldVersion(t *testing.T) {
	w := newWatched(t)
	w.start(20 * time.Millisecond)
	w.goLive("v1")
	hash := w.e.Snapshot().Hash
	w.write(beginJS, "importScript(\"lib/greet.js\");\npersistMap.put(\"COUNT\", 0);\nresMap.put(\"V\", \"broken\";\nsetSuccess();\n")
	w.waitFor("the syntax error in the reload status", w.reloadFailed)
	if msg := filepath.ToSlash(w.e.Status().LastReload.Error); !strings.Contains(msg, "scripts/flow/begin.js:3: syntax error") {
		t.Errorf("reload error %q, want one naming scripts/flow/begin.js:3", msg)
	}
	for i := 0; i < 5; i++ {
		if v := w.version(); v != "v1" {
			t.Fatalf("with a broken script, steps answer version %q, want v1", v)
		}
	}
	if got := w.e.Snapshot().Hash; got != hash {
		t.Fatalf("snapshot %s replaced by %s after a failed reload", hash, got)
	}
	w.goLive("v2")
	w.waitFor("a good reload status", w.reloadOK)
}

func TestWatch_ProtocolChangeGoesLive(t *testing.T) {
	w := newWatched(t)
	w.start(20 * time.Millisecond)
	tid := w.begin()
	extra := func() error {
		_, err := w.run("flow", "extra", p("TID", tid, "OUTCOME", "ok", "MARK", "m"))
		return err
	}
	if err := extra(); !errors.Is(err, engine.ErrUnknownStep) {
		t.Fatalf("before the change, extra: %v", err)
	}
	withExtra := w.read("protocols/flow.yaml") + "  - name: extra\n    script: flow/outcome.js\n    after: [begin]\n"
	w.write("protocols/flow.yaml", withExtra)
	w.waitFor("the new step", func() bool { return extra() == nil })

	hash := w.e.Snapshot().Hash
	w.write("protocols/flow.yaml", withExtra+"    aftr: [begin]\n")
	w.waitFor("the YAML error in the reload status", w.reloadFailed)
	want := fmt.Sprintf("protocols/flow.yaml:%d: unknown key \"aftr\"", strings.Count(withExtra, "\n")+1)
	if msg := filepath.ToSlash(w.e.Status().LastReload.Error); !strings.Contains(msg, want) {
		t.Errorf("reload error %q, want one containing %q", msg, want)
	}
	if err := extra(); err != nil || w.e.Snapshot().Hash != hash {
		t.Fatalf("the old snapshot must stay: extra %v, snapshot %s, was %s", err, w.e.Snapshot().Hash, hash)
	}

	w.write("protocols/flow.yaml", withExtra)
	w.waitFor("a good reload status", w.reloadOK)
	if err := os.Remove(w.path("protocols/other.yaml")); err != nil {
		t.Fatal(err)
	}
	w.waitFor("the removed protocol to go", func() bool {
		_, err := w.run("other", "begin", nil)
		return errors.Is(err, engine.ErrUnknownProtocol)
	})
}

// No step fails while the snapshot is swapped under it, whether by Reload
// or by Watch after a change of script or protocol. Steps and reloads are
// paced so that they interleave on any machine: step k waits for reload
// k/50-1, reload i for step 50i.
func TestWatch_StepsSurviveReloads(t *testing.T) {
	const workers, steps, reloads = 8, 1000, 20
	w := newWatched(t)
	w.start(20 * time.Millisecond)
	w.ready()
	triggers := w.logs.FilterMessage("reload after change done").Len()
	s := &storm{w: w, steps: steps, perReload: steps / reloads}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() { defer wg.Done(); s.work() }()
	}
	s.reload(reloads)
	wg.Wait()
	if s.failed.Load() != 0 || s.done.Load() != steps {
		t.Fatalf("%d failures in %d steps and %d reloads (%d steps ran); first: %v",
			s.failed.Load(), steps, reloads, s.done.Load(), s.firstErr())
	}
	if len(s.versions()) < 2 {
		t.Errorf("steps saw versions %v: the reloads did not happen while they ran", s.versions())
	}
	w.waitFor("a reload by Watch", func() bool {
		return w.logs.FilterMessage("reload after change done").Len() > triggers
	})
	w.waitFor("the last version", func() bool { return w.version() == "s17" })
	t.Logf("%d steps on versions %q; snapshot %d", steps, s.versions(), w.e.Snapshot().Version)
}

type storm struct {
	w         *watched
	steps     int64
	perReload int64
	claimed   atomic.Int64
	done      atomic.Int64
	failed    atomic.Int64
	reloaded  atomic.Int64
	mu        sync.Mutex
	errs      []error
	seen      map[string]bool
}

// work runs steps until all are claimed: a begin, then four counters on
// its session, each checked.
func (s *storm) work() {
	var tid string
	var count int
	for n := 0; ; n++ {
		k := s.claimed.Add(1) - 1
		if k >= s.steps {
			return
		}
		for s.reloaded.Load() < k/s.perReload-1 {
			time.Sleep(100 * time.Microsecond)
		}
		var err error
		if n%5 == 0 {
			tid, err = s.begin()
			count = 0
		} else {
			count++
			err = s.counter(tid, count)
		}
		s.record(err)
		s.done.Add(1)
	}
}

func (s *storm) begin() (string, error) {
	resp, err := s.w.run("flow", "begin", p("NAME", "kim"))
	if err != nil {
		return "", fmt.Errorf("begin: %w", err)
	}
	if resp.Result != engine.ResultSuccess {
		return "", fmt.Errorf("begin: %+v", resp)
	}
	v, _ := resp.Data["V"].(string)
	s.mu.Lock()
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	s.seen[v] = true
	s.mu.Unlock()
	return resp.TID, nil
}

func (s *storm) counter(tid string, want int) error {
	resp, err := s.w.run("flow", "counter", p("TID", tid))
	switch {
	case err != nil:
		return fmt.Errorf("counter: %w", err)
	case resp.Result != engine.ResultSuccess || fmt.Sprint(resp.Data["COUNT"]) != fmt.Sprint(want):
		return fmt.Errorf("counter: %+v, want COUNT %d", resp, want)
	}
	return nil
}

func (s *storm) record(err error) {
	if err != nil {
		s.failed.Add(1)
		s.mu.Lock()
		s.errs = append(s.errs, err)
		s.mu.Unlock()
	}
}

// reload reloads n times as steps progress. Every fourth time it first
// saves a new begin.js, and every fourth time a new flow.yaml, as an editor
// would: Watch reloads for those too.
func (s *storm) reload(n int) {
	yaml := s.w.read("protocols/flow.yaml")
	for i := range int64(n) {
		for s.done.Load() < i*s.perReload {
			time.Sleep(100 * time.Microsecond)
		}
		var err error
		switch i % 4 {
		case 1:
			err = renameOver(s.w.path(beginJS), versionedBegin(fmt.Sprintf("s%d", i)))
		case 3:
			err = renameOver(s.w.path("protocols/flow.yaml"), strings.Replace(yaml,
				"description: ", fmt.Sprintf("description: (r%d) ", i), 1))
		}
		if err == nil {
			err = s.w.e.Reload()
		}
		if err != nil {
			s.record(fmt.Errorf("reload %d: %w", i, err))
		}
		s.reloaded.Add(1)
	}
}

func (s *storm) firstErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) == 0 {
		return nil
	}
	return s.errs[0]
}

func (s *storm) versions() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for v := range s.seen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

func TestWatch_NewFolderGoesLive(t *testing.T) {
	w := newWatched(t)
	w.start(20 * time.Millisecond)
	w.ready()
	orig := w.read("protocols/flow.yaml")
	w.addFolderStep(orig, "x1", "y1")
	w.write("scripts/newdir/x.js", newdirX("x2"))
	w.waitFor("a change in the new folder", w.stepAnswers("x2:y1"))
	w.write("scripts/newdir/deep/y.js", newdirY("y2"))
	w.waitFor("a change in a folder inside the new folder", w.stepAnswers("x2:y2"))

	w.write("protocols/flow.yaml", orig)
	if err := os.RemoveAll(w.path("scripts/newdir")); err != nil {
		t.Fatal(err)
	}
	w.waitFor("the step of the removed folder to go", func() bool {
		_, err := w.run("flow", "newstep", nil)
		return errors.Is(err, engine.ErrUnknownStep)
	})
	w.goLive("after-remove") // the watch survives a removed folder

	w.addFolderStep(orig, "x3", "y3") // and watches it again when it is back
	w.write("scripts/newdir/deep/y.js", newdirY("y4"))
	w.waitFor("a change in the folder made again", w.stepAnswers("x3:y4"))
}

// A folder renamed away and back (a branch checkout) is still watched.
func TestWatch_RenamedFolderStaysWatched(t *testing.T) {
	w := newWatched(t)
	w.start(20 * time.Millisecond)
	w.ready()
	lib, reloads := w.path("scripts/lib"), w.e.Status().LastReload.Count
	for _, mv := range [][2]string{{lib, lib + "2"}, {lib + "2", lib}} {
		if err := os.Rename(mv[0], mv[1]); err != nil {
			t.Fatal(err)
		}
	}
	// Once the renames are reloaded, their events are handled: the write
	// below is seen only through a watch made for the folder that came back.
	w.waitFor("the renames", func() bool { return w.e.Status().LastReload.Count > reloads })
	w.write("scripts/lib/greet.js", "function greet(name) { return \"hi \" + name; }\n")
	w.waitFor("a change in the renamed folder", func() bool { return w.greeting() == "hi kim" })
}

// addFolderStep creates scripts/newdir/x.js, which imports
// scripts/newdir/deep/y.js, and a step that runs it, and waits until the
// step answers.
func (w *watched) addFolderStep(protocol, x, y string) {
	w.t.Helper()
	if err := os.MkdirAll(w.path("scripts/newdir/deep"), 0o755); err != nil {
		w.t.Fatal(err)
	}
	w.write("scripts/newdir/deep/y.js", newdirY(y))
	w.write("scripts/newdir/x.js", newdirX(x))
	w.write("protocols/flow.yaml", protocol+"  - name: newstep\n    script: newdir/x.js\n    start: true\n")
	w.waitFor("the step in the new folder", w.stepAnswers(x+":"+y))
}

func newdirX(v string) string {
	return "importScript(\"newdir/deep/y.js\");\nresMap.put(\"X\", \"" + v + ":\" + y());\nsetSuccess();\n"
}

func newdirY(v string) string { return "function y() { return \"" + v + "\"; }\n" }

func (w *watched) stepAnswers(want string) func() bool {
	return func() bool {
		resp, err := w.run("flow", "newstep", nil)
		return err == nil && resp.Data["X"] == want
	}
}

// Editors touch, chmod and write swap, backup and lock files: none of that
// is a change of content, and none of it reloads. (A wrong reload would
// come one debounce later; the wait below is ten of them.)
func TestWatch_IgnoresEditorNoise(t *testing.T) {
	w := newWatched(t)
	w.start(50 * time.Millisecond)
	w.ready()
	reloads := w.e.Status().LastReload.Count
	begin := w.path(beginJS)
	if err := os.Chmod(begin, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(begin, time.Now(), time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"scripts/flow/.begin.js.swp", "scripts/flow/.begin.js.swx", "scripts/flow/begin.js~",
		"scripts/flow/.#begin.js", "scripts/flow/#begin.js#", "scripts/flow/4913", "scripts/flow/begin.js___jb_tmp___",
		"protocols/.flow.yaml.swp", "protocols/flow.yaml~"} {
		w.write(name, "noise")
		if err := os.Remove(w.path(name)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if got := w.e.Status().LastReload.Count; got != reloads {
		t.Fatalf("editor noise reloaded: %d reloads, was %d", got, reloads)
	}
	w.goLive("after-noise")
}

// Ten saves in a row make one burst: the watcher reloads for them together.
// They are of ten files, as the kernel itself merges repeated events on one
// file that are not yet read.
func TestWatch_CoalescesABurst(t *testing.T) {
	w := newWatched(t)
	w.start(200 * time.Millisecond)
	w.ready()
	already := w.logs.FilterMessage("scripts or protocols changed; reloading").Len()
	for i := 1; i < 10; i++ {
		w.write(fmt.Sprintf("scripts/lib/burst%d.js", i), fmt.Sprintf("var burst%d = %d;\n", i, i))
	}
	w.write(beginJS, versionedBegin("b10"))
	w.waitFor("the last save", func() bool { return w.version() == "b10" })
	most := int64(0)
	for _, l := range w.logs.FilterMessage("scripts or protocols changed; reloading").All()[already:] {
		n, _ := l.ContextMap()["events"].(int64)
		most = max(most, n)
	}
	if most < 5 {
		t.Fatalf("at most %d events coalesced into a reload, want at least 5 of the 10 saves", most)
	}
}

// A watched folder itself renamed away cannot be followed: the reload
// fails, the old snapshot stays, and the log says why.
func TestWatch_RemovedFolderIsReported(t *testing.T) {
	w := newWatched(t)
	w.start(20 * time.Millisecond)
	w.ready()
	if err := os.Rename(w.path("protocols"), w.path("protocols.old")); err != nil {
		t.Fatal(err)
	}
	w.waitFor("the failed reload", w.reloadFailed)
	w.waitFor("the log line", func() bool {
		return w.logs.FilterMessageSnippet("a watched folder was removed or renamed").Len() > 0
	})
	if v := w.version(); v != "" {
		t.Fatalf("version %q after a failed reload", v)
	}
}

func TestWatch_SetupErrorIsReturned(t *testing.T) {
	w := newWatched(t)
	if err := os.RemoveAll(w.path("scripts")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	errc := make(chan error, 1)
	go func() { errc <- w.e.Watch(ctx, 0) }()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "scripts") {
			t.Fatalf("Watch = %v, want an error naming the scripts folder", err)
		}
	case <-time.After(liveWithin):
		t.Fatal("Watch on a missing folder did not fail")
	}
}
