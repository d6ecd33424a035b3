//go:build unix

package main

import (
	"context"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunapay/tuna/components"
	"github.com/tunapay/tuna/components/payment"
	"github.com/tunapay/tuna/engine"
	"github.com/tunapay/tuna/session"
)

// BenchmarkScripts_Payment is what the engine and the repository's payment
// scripts cost by themselves: the four steps of a payment through
// engine.Run, on a session table that keeps sessions in a map until their
// flow ends (flowStore), with components that answer at once what the real
// ones answer (the same Go types, so the same crossings into JavaScript)
// and touch no store. No HTTP, no ledger, no fsync: cpu-µs/flow is the
// floor under what `make overhead` calls the engine's cost, for these
// scripts on this machine.
//
//   - warm: one flow at a time, so each step finds the runtime the last one
//     used, with its objects in the processor's caches.
//
//   - in-flight: inProcessFlows flows at once, each component call waiting
//     stubWait as a store's group commit would, so that, as in the server,
//     a runtime is held by each flow in flight and the steps go round all
//     of them. wait-µs/flow is what the same waits cost in Go alone (the
//     timers and the goroutines' wake-ups); scripts-µs/flow is the rest.
//
//     go test -run '^$' -bench BenchmarkScripts_Payment -benchtime 20000x ./cmd/tuna/
func BenchmarkScripts_Payment(b *testing.B) {
	b.Run("warm", func(b *testing.B) {
		e, _ := scriptsEngine(b, 0)
		var seq atomic.Int64
		for range 100 {
			scriptsFlow(b, e, &seq)
		}
		b.ReportAllocs()
		b.ResetTimer()
		cpu, gc := processCPU(b), gcCPU()
		for range b.N {
			scriptsFlow(b, e, &seq)
		}
		b.ReportMetric(float64((processCPU(b)-cpu).Microseconds())/float64(b.N), "cpu-µs/flow")
		b.ReportMetric((gcCPU()-gc)*1e6/float64(b.N), "gc-µs/flow")
	})
	b.Run("in-flight", func(b *testing.B) {
		e, calls := scriptsEngine(b, stubWait)
		var seq atomic.Int64
		run := func() func() { return func() { scriptsFlow(b, e, &seq) } }
		inParallel(20*inProcessFlows, run) // every runtime made
		perFlow := calls.Load() / int64(20*inProcessFlows)
		waits := func() func() {
			return func() {
				for range perFlow {
					time.Sleep(stubWait)
				}
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		cpu, gc := processCPU(b), gcCPU()
		inParallel(b.N, run)
		scripts, gc := processCPU(b)-cpu, gcCPU()-gc
		b.StopTimer()
		cpu = processCPU(b)
		inParallel(b.N, waits)
		wait := processCPU(b) - cpu
		perN := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
		b.ReportMetric(perN(scripts), "cpu-µs/flow")
		b.ReportMetric(perN(wait), "wait-µs/flow")
		b.ReportMetric(perN(scripts-wait), "scripts-µs/flow")
		b.ReportMetric(gc*1e6/float64(b.N), "gc-µs/flow")
		b.ReportMetric(float64(e.Status().Pool.Created), "runtimes")
	})
}

// stubWait is how long each stub component call waits in the in-flight
// case: about a group commit under load.
const stubWait = time.Millisecond

// scriptsEngine is an engine on the repository's scripts and protocols, the
// flowStore and the stub components; calls counts the component calls.
func scriptsEngine(b *testing.B, wait time.Duration) (*engine.Engine, *atomic.Int64) {
	b.Helper()
	s := &stubs{wait: wait}
	e, err := engine.New(engine.Options{
		Scripts: filepath.Join("..", "..", "scripts"), Protocols: filepath.Join("..", "..", "protocols"),
		Store:      &flowStore{sessions: map[string]*session.Session{}},
		Components: map[string]any{"CP": &stubCP{s}, "BILL": &stubBill{s}, "USER": &stubUser{s}, "OTP": &stubOTP{s}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return e, &s.calls
}

// scriptsFlow runs cp_auth, user_auth, otp_verify and bill, as the load
// generator's flow does (its SMS read is not a step).
func scriptsFlow(b *testing.B, e *engine.Engine, seq *atomic.Int64) {
	n := strconv.FormatInt(seq.Add(1), 10)
	steps := []struct {
		name   string
		params map[string]string
	}{
		{"cp_auth", map[string]string{"CP_ID": "demo", "CP_PWD": "demo1234", "P_ID": "bench-01", "P_NAME": "Bench tea",
			"P_PRICE": "1000", "ORDER_ID": "scripts-" + n}},
		{"user_auth", map[string]string{"name": "홍길동", "phone_number": "01020000000", "carrier": "SKT",
			"birth": "19900101", "gender": "M"}},
		{"otp_verify", map[string]string{"OTP": "123456"}},
		{"bill", map[string]string{"CP_ID": "demo", "CP_PWD": "demo1234", "AMOUNT": "1000"}},
	}
	tid := ""
	for _, st := range steps {
		if tid != "" {
			st.params["TID"] = tid
		}
		resp, err := e.Run(context.Background(), engine.Request{Protocol: "payment", Step: st.name, Params: st.params})
		if err != nil || resp.Result != engine.ResultSuccess {
			b.Errorf("%s: %v %+v", st.name, err, resp)
			return
		}
		tid = resp.TID
	}
}

// flowStore is a session table for benchmarks: it keeps copies of the
// sessions in a map, as session.Memory does, and forgets a session once a
// final step has closed it. session.Memory keeps every session until it
// expires, and the collector's work with that growing heap would swamp the
// engine's; the embedded table's commits, one at a time, would too.
type flowStore struct {
	mu       sync.Mutex
	sessions map[string]*session.Session
	locks    session.Locks
}

func (f *flowStore) Create(_ context.Context, s *session.Session) error {
	c := s.Clone()
	c.Version, s.Version = 1, 1
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sessions[s.TID]; ok {
		return session.ErrExists
	}
	f.sessions[s.TID] = c
	return nil
}

func (f *flowStore) Load(_ context.Context, tid string) (*session.Session, error) {
	f.mu.Lock()
	s, ok := f.sessions[tid]
	f.mu.Unlock()
	if !ok {
		return nil, session.ErrNotFound
	}
	return s.Clone(), nil // stored sessions are replaced, never changed
}

func (f *flowStore) Save(_ context.Context, s *session.Session) error {
	c := s.Clone()
	c.Version = s.Version + 1
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.sessions[s.TID]
	switch {
	case !ok:
		return session.ErrNotFound
	case old.Version != s.Version:
		return session.ErrConflict
	case s.Closed():
		delete(f.sessions, s.TID)
	default:
		f.sessions[s.TID] = c
	}
	s.Version = c.Version
	return nil
}

func (f *flowStore) Hold(ctx context.Context, tid string, wait, _ time.Duration) (func(), error) {
	return f.locks.Hold(ctx, tid, wait)
}

func (f *flowStore) Sweep(context.Context, time.Time) (int, error) { return 0, nil }
func (f *flowStore) Stats() session.Stats {
	return session.Stats{Backend: "bench", Sessions: -1, Bytes: -1}
}
func (f *flowStore) Close() error { return nil }

// stubs are the payment components without their service: each call
// waits (when wait is set) and answers success.
type stubs struct {
	wait  time.Duration
	calls atomic.Int64
}

func (s *stubs) call() {
	s.calls.Add(1)
	if s.wait > 0 {
		time.Sleep(s.wait)
	}
}

var stubOK = payment.Outcome{OK: true, Code: "OK", Message: "success"}

type stubCP struct{ s *stubs }

func (c *stubCP) Authenticate(_ *components.Call, id, _ string) any {
	c.s.call()
	return map[string]any{"id": id, "name": "Demo shop"}
}

type stubBill struct{ s *stubs }

func (c *stubBill) Register(call *components.Call, _ map[string]any, _ string) (payment.Registered, error) {
	c.s.call()
	return payment.Registered{Outcome: stubOK, TID: call.TID, PayURL: "http://127.0.0.1:8080/pay/" + call.TID,
		ExpiresAt: "2026-11-21T12:10:00+09:00"}, nil
}

func (c *stubBill) Charge(_ *components.Call, _ string, amount int64) (payment.Charged, error) {
	c.s.call()
	return payment.Charged{Outcome: stubOK, Amount: amount, PaidAt: "2026-11-21T12:01:00+09:00", Status: "PAID"}, nil
}

type stubUser struct{ s *stubs }

func (c *stubUser) CheckRisk(_ *components.Call, _ map[string]any) (payment.RiskCheck, error) {
	c.s.call()
	return payment.RiskCheck{Outcome: stubOK, Remaining: 300000}, nil
}

func (c *stubUser) CheckCarrier(_ *components.Call, _ map[string]any) (payment.Outcome, error) {
	c.s.call()
	return stubOK, nil
}

type stubOTP struct{ s *stubs }

func (c *stubOTP) Send(_ *components.Call, _ map[string]any) (payment.OTPSent, error) {
	c.s.call()
	return payment.OTPSent{Outcome: stubOK, Phone: "010-****-0000", ExpiresAt: "2026-11-21T12:03:00+09:00"}, nil
}

func (c *stubOTP) Verify(_ *components.Call, _ string) (payment.OTPChecked, error) {
	c.s.call()
	return payment.OTPChecked{Outcome: stubOK, AttemptsLeft: 4}, nil
}
