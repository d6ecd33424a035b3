package loadgen

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// The rows of the latency table, in flow order. sms is the harness reading
// the OTP (GET /sandbox/sms/{phone}): a request, not a step.
const (
	stepCPAuth    = "cp_auth"
	stepUserAuth  = "user_auth"
	stepSMS       = "sms"
	stepOTPVerify = "otp_verify"
	stepBill      = "bill"
	stepCancel    = "cancel"
	rowFlow       = "flow"
	rowFloor      = "floor"
)

var (
	flowRows  = []string{stepCPAuth, stepUserAuth, stepSMS, stepOTPVerify, stepBill, stepCancel, rowFlow}
	floorRows = []string{rowFloor}
)

// stats is what the workers record. Histograms and counters are atomic;
// only errors, which should be rare, take a lock.
type stats struct {
	rows  []string
	hists map[string]*Histogram // fixed at start: read without a lock

	// In the window.
	flows, failedFlows, steps, requests atomic.Int64
	// Whenever, for the progress line.
	allFlows, allRequests, allErrors atomic.Int64

	mu     sync.Mutex
	errors map[string]int64 // "step CODE", in the window
}

func newStats(o Options) *stats {
	rows := flowRows
	if o.Floor {
		rows = floorRows
	}
	s := &stats{rows: rows, hists: map[string]*Histogram{}, errors: map[string]int64{}}
	for _, r := range rows {
		s.hists[r] = new(Histogram)
	}
	return s
}

// fail counts an error of a step: its business or HTTP code.
func (s *stats) fail(step, code string, counted bool) {
	s.allErrors.Add(1)
	if !counted {
		return
	}
	s.mu.Lock()
	s.errors[step+" "+code]++
	s.mu.Unlock()
}

// observe prints a progress line every second and samples the server and
// this process; the function it returns stops it and gives their use over
// the window.
func (r *run) observe(ctx context.Context) func() [2]*ProcStats {
	watches := []*procWatch{{pid: os.Getpid()}}
	if r.opts.ServerPID > 0 {
		watches = append(watches, &procWatch{pid: r.opts.ServerPID})
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		r.tick(ctx, done, watches)
	}()
	return func() [2]*ProcStats {
		close(done)
		<-stopped
		var out [2]*ProcStats
		for i, w := range watches {
			out[i] = w.finish(r.stats.ops())
		}
		return out
	}
}

// tick reads the processes exactly at the window's start and end, samples
// their memory and prints progress every second.
func (r *run) tick(ctx context.Context, done <-chan struct{}, watches []*procWatch) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	start, end := time.NewTimer(time.Until(r.win.start)), time.NewTimer(time.Until(r.win.end))
	defer start.Stop()
	defer end.Stop()
	began := time.Now()
	var lastFlows, lastReqs int64
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-start.C:
			for _, w := range watches {
				w.begin()
			}
		case <-end.C:
			for _, w := range watches {
				w.stop()
			}
		case now := <-t.C:
			for _, w := range watches {
				w.sample()
			}
			f, q := r.stats.allFlows.Load(), r.stats.allRequests.Load()
			r.progress(now.Sub(began), f-lastFlows, q-lastReqs)
			lastFlows, lastReqs = f, q
		}
	}
}

func (r *run) progress(elapsed time.Duration, flows, reqs int64) {
	if r.opts.Progress == nil {
		return
	}
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	phase := "measure"
	switch now := time.Now(); {
	case now.Before(r.win.start):
		phase = "warm-up"
	case !now.Before(r.win.end):
		phase = "drain"
	}
	if r.opts.Floor {
		fmt.Fprintf(r.opts.Progress, "loadgen %3.0fs %-7s %7d req/s  errors %d\n",
			elapsed.Seconds(), phase, reqs, r.stats.allErrors.Load())
		return
	}
	fmt.Fprintf(r.opts.Progress, "loadgen %3.0fs %-7s %6d flows/s %7d req/s  errors %d\n",
		elapsed.Seconds(), phase, flows, reqs, r.stats.allErrors.Load())
}

// ops is what CPU per operation divides by: flows, or floor requests.
func (s *stats) ops() int64 {
	if s.rows[0] == rowFloor {
		return s.requests.Load()
	}
	return s.flows.Load()
}
