package main

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Hot reload under load: sixteen flows run back to back while bill.js is
// rewritten five times, then broken, then fixed. No step of any flow may
// fail; each rewrite must become a new snapshot that the bills started
// after it run; the broken one must be refused while the old snapshot
// keeps serving.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	scripts, protocols := filepath.Join(dir, "scripts"), filepath.Join(dir, "protocols")
	reloadCopyTree(t, "../../scripts", scripts)
	reloadCopyTree(t, "../../protocols", protocols)
	const token = "reload-under-load-test-token-0123456789"
	l := startLiveWith(t, func(c *config) {
		c.Scripts, c.Protocols, c.AdminToken = scripts, protocols, token
		c.Watch, c.Debounce = true, 20*time.Millisecond
	})
	adm := &reloadAdmin{t: t, base: "http://" + reloadAdminAddr(l), token: token}
	reloadWait(t, "the watcher to start", func() bool {
		return l.logs.FilterMessage("watching scripts and protocols").Len() > 0
	})

	bill := filepath.Join(scripts, "payment", "bill.js")
	orig, err := os.ReadFile(bill)
	if err != nil {
		t.Fatal(err)
	}
	const success = "\tsetSuccess();\n"
	if strings.Count(string(orig), success) != 1 {
		t.Fatalf("bill.js has not one %q: the test needs a new marker", success)
	}
	// version n of bill.js answers RELOAD=n with a successful bill.
	version := func(n int) []byte {
		return []byte(strings.Replace(string(orig), success, fmt.Sprintf("\tresMap.put(\"RELOAD\", %d);\n%s", n, success), 1))
	}

	ld := newReloadLoad(l.base, 16)
	ld.start()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			ld.stop()
		}
	}
	defer stop()

	// phase waits for the reload to land, then for every worker to finish
	// a flow on what is now served, and lets the load run a while.
	phase := func(what string, landed func(reloadStatus) bool) reloadStatus {
		var st reloadStatus
		reloadWait(t, what, func() bool { st = adm.status(); return landed(st) })
		ld.settle(t, what)
		time.Sleep(150 * time.Millisecond)
		return st
	}
	st0 := adm.status()
	ld.settle(t, "flows on the first snapshot")
	v := st0.Snapshot.Version
	for n := 1; n <= 5; n++ {
		ld.written.Store(int64(n))
		reloadReplace(t, bill, version(n))
		st := phase(fmt.Sprintf("rewrite %d", n), func(s reloadStatus) bool { return s.Snapshot.Version > v })
		if st.Snapshot.Version != v+1 || !st.LastReload.OK {
			t.Fatalf("rewrite %d: snapshot %d (was %d), last reload %+v", n, st.Snapshot.Version, v, st.LastReload)
		}
		v = st.Snapshot.Version
		ld.live.Store(int64(n))
	}

	count := adm.status().LastReload.Count
	reloadReplace(t, bill, []byte("(function () {\n\tsetSuccess(;\n"))
	st := phase("the broken rewrite", func(s reloadStatus) bool { return s.LastReload.Count > count })
	if st.LastReload.OK || !strings.Contains(st.LastReload.Error, "bill.js") || st.Snapshot.Version != v {
		t.Fatalf("the broken bill.js: snapshot %d (was %d), last reload %+v", st.Snapshot.Version, v, st.LastReload)
	}

	ld.written.Store(6)
	reloadReplace(t, bill, version(6))
	st = phase("the fix", func(s reloadStatus) bool { return s.Snapshot.Version > v })
	if st.Snapshot.Version != v+1 || !st.LastReload.OK || st.Snapshot.Version != st0.Snapshot.Version+6 {
		t.Fatalf("the fix: snapshot %d (first %d), last reload %+v", st.Snapshot.Version, st0.Snapshot.Version, st.LastReload)
	}
	ld.live.Store(6)
	ld.settle(t, "flows on the fixed snapshot")
	stop()

	ld.mu.Lock()
	defer ld.mu.Unlock()
	for _, f := range ld.failures {
		t.Error(f)
	}
	if len(ld.failures) > 0 || ld.flows.Load() == 0 {
		t.Fatalf("%d flows done, %d failed steps", ld.flows.Load(), len(ld.failures))
	}
	if ld.marks[6] == 0 {
		t.Fatalf("no bill ran the fixed script: %v", ld.marks)
	}
	t.Logf("%d flows; bills by the version of bill.js that ran them: %v", ld.flows.Load(), ld.marks)
}

// reloadAdminAddr is where the admin listener is, from the ready line
// (which reaches the observed logs just after startLive has read it).
func reloadAdminAddr(l *live) string {
	l.t.Helper()
	var addr string
	reloadWait(l.t, "the ready line", func() bool {
		for _, e := range l.logs.FilterMessage("ready to serve").All() {
			addr, _ = e.ContextMap()["admin_listen"].(string)
		}
		return addr != ""
	})
	return addr
}

type reloadStatus struct {
	Snapshot struct {
		Version int64 `json:"version"`
	} `json:"snapshot"`
	LastReload struct {
		Count int64  `json:"count"`
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	} `json:"last_reload"`
}

type reloadAdmin struct {
	t           *testing.T
	base, token string
}

func (a *reloadAdmin) status() reloadStatus {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.base+"/admin/status", nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var s reloadStatus
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || resp.StatusCode != http.StatusOK {
		a.t.Fatalf("admin status: HTTP %d, %v", resp.StatusCode, err)
	}
	return s
}

// reloadWait polls cond for up to ten seconds.
func reloadWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// reloadReplace writes b beside path and renames it over path, as an editor
// or a deploy does, so the watcher never sees half a file. The temporary
// name ends in "~", which the watcher ignores.
func reloadReplace(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".new~"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func reloadCopyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// reloadLoad runs full payment flows on n workers until stopped, and notes
// every failed step and which version of bill.js each bill ran.
type reloadLoad struct {
	base   string
	n      int
	client *http.Client
	seq    atomic.Uint64
	phone0 uint64
	quit   atomic.Bool
	wg     sync.WaitGroup
	flows  atomic.Int64
	// live is the last version of bill.js known to be served; written the
	// last one put in the folder. A bill that starts after version n is
	// live runs n or later, and never one not written yet.
	live, written atomic.Int64

	mu       sync.Mutex
	failures []string
	marks    map[int64]int // bills by the RELOAD mark they answered
}

func newReloadLoad(base string, n int) *reloadLoad {
	return &reloadLoad{base: base, n: n, phone0: rand.Uint64N(1_000_000), marks: map[int64]int{},
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 2 * n}}}
}

func (ld *reloadLoad) start() {
	for range ld.n {
		ld.wg.Go(func() {
			for !ld.quit.Load() {
				if ld.flow() {
					ld.flows.Add(1)
				}
			}
		})
	}
}

func (ld *reloadLoad) stop() {
	ld.quit.Store(true)
	ld.wg.Wait()
	ld.client.CloseIdleConnections()
}

// settle waits until n more flows are done than when it was called: with
// every worker busy, each has finished a flow begun after the call.
func (ld *reloadLoad) settle(t *testing.T, what string) {
	t.Helper()
	from := ld.flows.Load()
	reloadWait(t, what, func() bool {
		ld.mu.Lock()
		failed := len(ld.failures) > 0
		ld.mu.Unlock()
		return failed || ld.flows.Load() >= from+int64(ld.n)
	})
}

func (ld *reloadLoad) fail(format string, a ...any) bool {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	ld.failures = append(ld.failures, fmt.Sprintf(format, a...))
	return false
}

// flow runs one payment to the bill; a step that fails is noted, and ends it.
func (ld *reloadLoad) flow() bool {
	n := ld.seq.Add(1)
	phone := fmt.Sprintf("0101%07d", (ld.phone0+n)%10_000_000)
	order := fmt.Sprintf("reload-%d", n)
	data, ok := ld.step("cp_auth", "CP_ID", "demo", "CP_PWD", "demo1234", "P_ID", "tea", "P_NAME", "Tea",
		"P_PRICE", "1000", "ORDER_ID", order)
	if !ok {
		return false
	}
	tid, _ := data["TID"].(string)
	if _, ok := ld.step("user_auth", "TID", tid, "name", "홍길동", "phone_number", phone, "carrier", "SKT",
		"birth", "19900101", "gender", "M"); !ok {
		return false
	}
	var sms struct {
		OTP string `json:"otp"`
	}
	if code, err := ld.get("/sandbox/sms/"+phone, &sms); err != nil || code != http.StatusOK || len(sms.OTP) != 6 {
		return ld.fail("sms %s: HTTP %d, %v, otp %q", tid, code, err, sms.OTP)
	}
	if _, ok := ld.step("otp_verify", "TID", tid, "OTP", sms.OTP); !ok {
		return false
	}
	live := ld.live.Load()
	data, ok = ld.step("bill", "TID", tid, "CP_ID", "demo", "CP_PWD", "demo1234", "AMOUNT", "1000")
	if !ok {
		return false
	}
	mark, _ := data["RELOAD"].(float64)
	if written := ld.written.Load(); int64(mark) < live || int64(mark) > written {
		return ld.fail("bill %s ran bill.js version %v; version %d was live before it and %d the last written",
			tid, mark, live, written)
	}
	ld.mu.Lock()
	ld.marks[int64(mark)]++
	ld.mu.Unlock()
	return true
}

func (ld *reloadLoad) step(name string, kv ...string) (map[string]any, bool) {
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	resp, err := ld.client.PostForm(ld.base+"/tx/payment/"+name, form)
	if err != nil {
		return nil, ld.fail("%s: %v", name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	var env struct {
		Result string         `json:"result"`
		Code   string         `json:"code"`
		Data   map[string]any `json:"data"`
	}
	if err != nil || json.Unmarshal(body, &env) != nil || resp.StatusCode != http.StatusOK || env.Result != "SUCCESS" {
		return nil, ld.fail("%s: HTTP %d, %v: %s", name, resp.StatusCode, err, body)
	}
	return env.Data, true
}

func (ld *reloadLoad) get(path string, v any) (int, error) {
	resp, err := ld.client.Get(ld.base + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(v)
}
