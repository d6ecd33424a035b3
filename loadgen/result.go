package loadgen

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"time"
)

// Result is what a run measured, over its window only (warm-up excluded).
type Result struct {
	Mode            string  `json:"mode"` // "flow" or "floor"
	URL             string  `json:"url"`
	Prefix          string  `json:"prefix,omitempty"`
	Concurrency     int     `json:"concurrency"`
	Cancel          bool    `json:"cancel,omitempty"`
	WarmupSeconds   float64 `json:"warmup_seconds"`
	DurationSeconds float64 `json:"duration_seconds"`

	// Flows completed with every step successful, and those that failed.
	Flows       int64   `json:"flows"`
	FailedFlows int64   `json:"failed_flows"`
	FlowsPerSec float64 `json:"flows_per_sec"`
	// Steps are protocol steps answered, successful or not (not the SMS reads).
	Steps       int64   `json:"steps"`
	StepsPerSec float64 `json:"steps_per_sec"`
	// Requests are every HTTP request answered: steps, SMS reads, floor hits.
	Requests       int64   `json:"requests"`
	RequestsPerSec float64 `json:"requests_per_sec"`

	Latency []Latency `json:"latency"`
	// MaxStepP99Ms is the p99 of the slowest step (the floor's p99 in
	// floor mode): the one latency figure of the summary line.
	MaxStepP99Ms float64 `json:"max_step_p99_ms"`
	// Errors counts failed requests by "step CODE (HTTP status)".
	Errors map[string]int64 `json:"errors"`

	Server  *ProcStats `json:"server,omitempty"`
	Harness *ProcStats `json:"harness,omitempty"`

	// Samples is the time series of the measured window (SampleEvery),
	// and SampleSummary its summary; Reload what the reloads did. Absent
	// unless asked for.
	Samples       []Sample       `json:"samples,omitempty"`
	SampleSummary *SampleSummary `json:"sample_summary,omitempty"`
	Reload        *ReloadResult  `json:"reload,omitempty"`

	Interrupted bool      `json:"interrupted,omitempty"`
	Started     time.Time `json:"started"`
	GOMAXPROCS  int       `json:"gomaxprocs"`
	NumCPU      int       `json:"num_cpu"`
}

// Latency is one row of the latency table, in milliseconds.
type Latency struct {
	Step   string  `json:"step"`
	Count  uint64  `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (s *stats) result(o Options, win window, procs [2]*ProcStats, interrupted bool) *Result {
	secs := win.end.Sub(win.start).Seconds()
	res := &Result{Mode: "flow", URL: o.URL, Prefix: o.Prefix, Concurrency: o.Concurrency, Cancel: o.Cancel,
		WarmupSeconds: o.Warmup.Seconds(), DurationSeconds: secs,
		Flows: s.flows.Load(), FailedFlows: s.failedFlows.Load(), Steps: s.steps.Load(), Requests: s.requests.Load(),
		Errors: maps.Clone(s.errors), Harness: procs[0], Server: procs[1], Interrupted: interrupted,
		Started: win.start.Add(-o.Warmup), GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU()}
	if o.Floor {
		res.Mode, res.Prefix = "floor", ""
	}
	res.FlowsPerSec, res.StepsPerSec = float64(res.Flows)/secs, float64(res.Steps)/secs
	res.RequestsPerSec = float64(res.Requests) / secs
	for _, row := range s.rows {
		h := s.hists[row]
		if h.Count() == 0 {
			continue
		}
		l := Latency{Step: row, Count: h.Count(), MeanMs: ms(h.Mean()), P50Ms: ms(h.Quantile(.5)),
			P90Ms: ms(h.Quantile(.9)), P99Ms: ms(h.Quantile(.99)), MaxMs: ms(h.Max())}
		res.Latency = append(res.Latency, l)
		if row != rowFlow && row != stepSMS {
			res.MaxStepP99Ms = max(res.MaxStepP99Ms, l.P99Ms)
		}
	}
	return res
}

// WriteTable writes the result for people.
func (r *Result) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "%s %s%s  concurrency %d  measured %.1fs after %.1fs warm-up\n",
		r.Mode, r.URL, r.Prefix, r.Concurrency, r.DurationSeconds, r.WarmupSeconds)
	if r.Mode == "floor" {
		fmt.Fprintf(w, "requests %d  %.0f req/s\n", r.Requests, r.RequestsPerSec)
	} else {
		fmt.Fprintf(w, "flows %d  %.1f flows/s  (failed %d)   steps %.0f/s   requests %.0f/s\n",
			r.Flows, r.FlowsPerSec, r.FailedFlows, r.StepsPerSec, r.RequestsPerSec)
	}
	fmt.Fprintf(w, "%-11s %9s %9s %9s %9s %9s %9s\n", "", "count", "mean ms", "p50 ms", "p90 ms", "p99 ms", "max ms")
	for _, l := range r.Latency {
		fmt.Fprintf(w, "%-11s %9d %9.2f %9.2f %9.2f %9.2f %9.2f\n", l.Step, l.Count, l.MeanMs, l.P50Ms, l.P90Ms, l.P99Ms, l.MaxMs)
	}
	r.writeErrors(w)
	for _, p := range []struct {
		name string
		s    *ProcStats
	}{{"server", r.Server}, {"harness", r.Harness}} {
		if p.s != nil {
			fmt.Fprintf(w, "%-8s pid %d: %.2f cores (%.1f CPU s), %.0f µs CPU per %s, peak RSS %.1f MiB\n", p.name,
				p.s.PID, p.s.CPUCores, p.s.CPUSeconds, p.s.CPUPerFlowMicros, r.unit(), float64(p.s.PeakRSSBytes)/(1<<20))
		}
	}
	r.writeSamples(w)
	r.writeReload(w)
	if r.Interrupted {
		fmt.Fprintln(w, "interrupted: the figures cover part of the window only")
	}
}

// succeeded is how many flows, or floor requests, succeeded in the window.
func (r *Result) succeeded() int64 {
	if r.Mode != "floor" {
		return r.Flows
	}
	n := r.Requests
	for _, c := range r.Errors {
		n -= c
	}
	return n
}

func (r *Result) unit() string {
	if r.Mode == "floor" {
		return "request"
	}
	return "flow"
}

func (r *Result) writeErrors(w io.Writer) {
	if len(r.Errors) == 0 {
		fmt.Fprintln(w, "errors: none")
		return
	}
	fmt.Fprintln(w, "errors:")
	for _, k := range slices.Sorted(maps.Keys(r.Errors)) {
		fmt.Fprintf(w, "  %8d  %s\n", r.Errors[k], k)
	}
}
