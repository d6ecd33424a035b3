//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tunapay/tuna/loadgen"
	"github.com/tunapay/tuna/session"
)

// BenchmarkFlow_InProcess is whole payments (cp_auth, user_auth, the SMS,
// otp_verify, bill) through the public handler of `tuna serve` in this
// process, inProcessFlows at a time as `make bench` runs them, with the
// embedded stores not syncing. "tx" runs the repository's scripts;
// "baseline-session" is the same flow as hand-written handlers over the
// same stores and session table. cpu-µs/flow is the process's CPU time per
// flow (ns/op is mostly the wait for group commits); with no sockets, no
// fsync and no second process it moves less with the machine than a load
// run, and the two routes' difference is what the engine and JavaScript
// cost a flow (the requests' building and reading here is the same for
// both). `make overhead` runs this for the allocations and
// BenchmarkFlow_InProcessRatio for the CPU:
//
//	go test -run '^$' -bench BenchmarkFlow_InProcess -count 5 ./cmd/tuna/
func BenchmarkFlow_InProcess(b *testing.B) {
	for _, prefix := range []string{"/tx", loadgen.SessionBaselinePrefix} {
		b.Run(prefix[1:], func(b *testing.B) {
			a := newInProcess(b)
			h := a.srv.Handler()
			var seq atomic.Int64
			runFlows(b, h, prefix, &seq, 20*inProcessFlows) // the runtimes, the caches and the files
			b.SetParallelism(inProcessFlows / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			cpu, gc, created := processCPU(b), gcCPU(), a.eng.Status().Pool.Created
			b.RunParallel(func(pb *testing.PB) {
				d := &inProcess{h: h, prefix: prefix, seq: &seq}
				for pb.Next() {
					d.flow(b)
				}
			})
			b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/flow")
			b.ReportMetric((gcCPU()-gc)*1e6/float64(b.N), "gc-µs/flow")
			// Runtimes made while measured: the warm-up should have made them all.
			b.ReportMetric(float64(a.eng.Status().Pool.Created-created), "new-runtimes")
		})
	}
}

// BenchmarkFlow_InProcessRatio runs both routes on one server in turn,
// in chunks of a few hundred flows (each inProcessFlows at a time), and
// adds up each route's CPU: the machine's speed changes less between two
// chunks a fraction of a second apart than between two benchmark runs, so
// the ratio holds still better than BenchmarkFlow_InProcess's two runs
// (b.N counts flows of each route).
func BenchmarkFlow_InProcessRatio(b *testing.B) {
	a := newInProcess(b)
	h := a.srv.Handler()
	var seq atomic.Int64
	phase := func(prefix string, flows int) time.Duration {
		start := processCPU(b)
		runFlows(b, h, prefix, &seq, flows)
		return processCPU(b) - start
	}
	routes := []string{"/tx", loadgen.SessionBaselinePrefix}
	for _, r := range routes { // the runtimes, the caches and the files
		phase(r, 20*inProcessFlows)
	}
	b.ResetTimer()
	var cpu [2]time.Duration
	for n, i := 0, 0; n < b.N; i++ {
		chunk := min(4*inProcessFlows, b.N-n)
		for j := range routes { // which goes first alternates
			k := (i + j) % 2
			cpu[k] += phase(routes[k], chunk)
		}
		n += chunk
	}
	tx, base := float64(cpu[0].Microseconds())/float64(b.N), float64(cpu[1].Microseconds())/float64(b.N)
	b.ReportMetric(tx, "tx-cpu-µs/flow")
	b.ReportMetric(base, "baseline-cpu-µs/flow")
	b.ReportMetric(tx-base, "engine-cpu-µs/flow")
	b.ReportMetric(tx/base, "tx/baseline")
}

// runFlows runs flows payments through h on prefix, inProcessFlows at a
// time, and returns when all are answered.
func runFlows(b *testing.B, h http.Handler, prefix string, seq *atomic.Int64, flows int) {
	inParallel(flows, func() func() {
		d := &inProcess{h: h, prefix: prefix, seq: seq}
		return func() { d.flow(b) }
	})
}

// inParallel calls a flow function flows times in all, from inProcessFlows
// goroutines at once, and returns when every call has returned. Each
// goroutine gets its own flow function from worker.
func inParallel(flows int, worker func() func()) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range inProcessFlows {
		wg.Go(func() {
			flow := worker()
			for next.Add(1) <= int64(flows) {
				flow()
			}
		})
	}
	wg.Wait()
}

// inProcessFlows is how many flows run at once: enough that the
// processors never wait for work, which a single flow, waiting on the group
// commits, leaves them doing (the scheduler's spinning then costs more CPU
// than the flow).
const inProcessFlows = 64

// processCPU is the CPU time this process has used, user and system: a
// flow waits on the stores' group commits, so its wall time (ns/op) is
// mostly waiting.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// gcCPU is the CPU seconds the garbage collector has used, in its own
// workers and in assists, as the runtime estimates them.
func gcCPU() float64 {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return s[0].Value.Float64()
}

// inProcess drives flows through a handler, reusing its buffers as the
// load generator does.
type inProcess struct {
	h      http.Handler
	prefix string
	seq    *atomic.Int64
	body   bytes.Buffer
	env    struct {
		Result string `json:"result"`
		Code   string `json:"code"`
		TID    string `json:"tid"`
	}
	sms struct {
		OTP string `json:"otp"`
	}
}

func newInProcess(b *testing.B) *app {
	b.Helper()
	cfg := defaultConfig()
	cfg.Data = b.TempDir()
	cfg.Scripts, cfg.Protocols = filepath.Join("..", "..", "scripts"), filepath.Join("..", "..", "protocols")
	cfg.LogFormat, cfg.Watch, cfg.BenchEndpoints, cfg.noSync = "json", false, true, true
	log, err := newLogger(cfg, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	store, err := session.OpenBolt(filepath.Join(cfg.Data, "sessions.db"), &session.BoltOptions{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, log, store)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		a.close()
		_ = store.Close()
	})
	return a
}

// flow pays 1,000 KRW from a phone number of its own. It stops at the
// first step that fails (reported with b.Errorf: RunParallel's goroutines
// may not call b.Fatal).
func (d *inProcess) flow(b *testing.B) {
	n := int(d.seq.Add(1))
	phone := "0102" + strconv.Itoa(1e7 + n%1e7)[1:]
	if !d.post(b, "/payment/cp_auth", "CP_ID", "demo", "CP_PWD", "demo1234", "P_ID", "bench-01", "P_NAME", "Bench tea",
		"P_PRICE", "1000", "ORDER_ID", "inproc-"+strconv.Itoa(n)) {
		return
	}
	tid := d.env.TID
	if !d.post(b, "/payment/user_auth", "TID", tid, "name", "홍길동", "phone_number", phone, "carrier", "SKT",
		"birth", "19900101", "gender", "M") {
		return
	}
	d.sms.OTP = ""
	if !d.do(b, httptest.NewRequest(http.MethodGet, "/sandbox/sms/"+phone, nil), &d.sms) || len(d.sms.OTP) != 6 {
		b.Errorf("no OTP for %s", phone)
		return
	}
	if d.post(b, "/payment/otp_verify", "TID", tid, "OTP", d.sms.OTP) {
		d.post(b, "/payment/bill", "TID", tid, "CP_ID", "demo", "CP_PWD", "demo1234", "AMOUNT", "1000")
	}
}

func (d *inProcess) post(b *testing.B, path string, kv ...string) bool {
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	req := httptest.NewRequest(http.MethodPost, d.prefix+path, bytes.NewBufferString(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	d.env.Result = ""
	if !d.do(b, req, &d.env) {
		return false
	}
	if d.env.Result != "SUCCESS" {
		b.Errorf("%s: %s", path, d.body.String())
		return false
	}
	return true
}

func (d *inProcess) do(b *testing.B, req *http.Request, into any) bool {
	rec := httptest.NewRecorder()
	d.h.ServeHTTP(rec, req)
	d.body.Reset()
	d.body.Write(rec.Body.Bytes())
	if rec.Code != http.StatusOK || json.Unmarshal(d.body.Bytes(), into) != nil {
		b.Errorf("%s %s: HTTP %d %s", req.Method, req.URL.Path, rec.Code, d.body.String())
		return false
	}
	return true
}
