package loadgen

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"
)

// maxIntervals bounds the time series: an interval keeps a histogram
// (28 KB) until the run ends.
const maxIntervals = 20_000

// Sample is one interval of the time series (--sample-every). Counts are of
// what ended in the interval.
type Sample struct {
	// TSec is the end of the interval, in seconds since the measured window
	// began; the last interval may be shorter than the others.
	TSec        float64 `json:"t_sec"`
	Flows       int64   `json:"flows"`
	FlowsPerSec float64 `json:"flows_per_sec"`
	// Steps and StepP99Ms cover every protocol step together (not the SMS
	// reads); the p99 is 0 when no step ended in the interval.
	Steps     int64   `json:"steps"`
	StepP99Ms float64 `json:"step_p99_ms"`
	// Errors are failed requests: non-OK answers and transport errors.
	Errors int64 `json:"errors"`
	// RSSMiB and CPUCores are the server's (--server-pid): its resident set
	// at the interval's end and the CPU it used during the interval.
	// RSSAnonMiB is the anonymous part of the resident set (heap, stacks):
	// what a leak grows, where mapped files (the embedded stores) do not.
	RSSMiB     *float64 `json:"rss_mib,omitempty"`
	RSSAnonMiB *float64 `json:"rss_anon_mib,omitempty"`
	CPUCores   *float64 `json:"cpu_cores,omitempty"`
	// HeapGoalMiB is the server's Go heap goal (ProcSample.HeapGoal).
	HeapGoalMiB *float64 `json:"heap_goal_mib,omitempty"`
}

// SampleSummary condenses the time series.
type SampleSummary struct {
	EverySec  float64 `json:"every_sec"`
	Intervals int     `json:"intervals"`
	// The p99 of all steps, over the intervals that had steps.
	P99MinMs    float64 `json:"p99_min_ms"`
	P99MedianMs float64 `json:"p99_median_ms"`
	P99MaxMs    float64 `json:"p99_max_ms"`
	// The server's resident set (with --server-pid): at the end of the
	// warm-up (the start of the measured window), the largest seen, at the
	// end, and the growth from the first to the last.
	RSSWarmupMiB float64 `json:"rss_warmup_mib,omitempty"`
	RSSMaxMiB    float64 `json:"rss_max_mib,omitempty"`
	RSSEndMiB    float64 `json:"rss_end_mib,omitempty"`
	GrowthMiB    float64 `json:"rss_growth_mib"`
	GrowthPct    float64 `json:"rss_growth_pct"`
	// The same of the anonymous part of the resident set.
	AnonWarmupMiB float64 `json:"rss_anon_warmup_mib,omitempty"`
	AnonMaxMiB    float64 `json:"rss_anon_max_mib,omitempty"`
	AnonEndMiB    float64 `json:"rss_anon_end_mib,omitempty"`
	AnonGrowthMiB float64 `json:"rss_anon_growth_mib"`
	// The same of the Go heap goal, when the server reports it, and the
	// least-squares trend of it and of the anonymous resident set over the
	// intervals, MiB a minute: a reading at one instant depends on where
	// the collector was, a trend over many does not.
	HeapGoalWarmupMiB   float64 `json:"heap_goal_warmup_mib,omitempty"`
	HeapGoalMaxMiB      float64 `json:"heap_goal_max_mib,omitempty"`
	HeapGoalEndMiB      float64 `json:"heap_goal_end_mib,omitempty"`
	HeapGoalTrendMiBMin float64 `json:"heap_goal_trend_mib_per_min"`
	AnonTrendMiBMin     float64 `json:"rss_anon_trend_mib_per_min"`
}

// timeline files what the workers record by the moment it ended: into
// the sample intervals of the measured window, and into the windows around
// the reloads. It is fixed before the workers start, so they read it
// without a lock; the counters and histograms are atomic.
type timeline struct {
	start, end time.Time // the measured window
	every      time.Duration
	slots      []slot
	reloads    *reloadWindows // nil: no reloads
}

// slot is one sample interval.
type slot struct {
	flows, steps, errors atomic.Int64
	hist                 atomic.Pointer[Histogram]
	// Set by the sampler, read once it has stopped.
	proc    ProcSample
	hasProc bool
}

func newTimeline(win window, every time.Duration, reloads *reloadWindows) *timeline {
	t := &timeline{start: win.start, end: win.end, every: every, reloads: reloads}
	if n := intervals(win.end.Sub(win.start), every); n > 0 {
		t.slots = make([]slot, n)
	}
	return t
}

// intervals is how many sample intervals a window of d has at every.
func intervals(d, every time.Duration) int {
	if every <= 0 {
		return 0
	}
	return int((d + every - 1) / every)
}

func (t *timeline) slotAt(end time.Time) *slot {
	if len(t.slots) == 0 || end.Before(t.start) || !end.Before(t.end) {
		return nil
	}
	i := int(end.Sub(t.start) / t.every)
	if i >= len(t.slots) {
		return nil
	}
	return &t.slots[i]
}

// step records a protocol step's latency (the SMS reads are not steps).
func (t *timeline) step(end time.Time, d time.Duration) {
	if t == nil {
		return
	}
	if s := t.slotAt(end); s != nil {
		s.steps.Add(1)
		h := s.hist.Load()
		if h == nil {
			h = new(Histogram)
			if !s.hist.CompareAndSwap(nil, h) {
				h = s.hist.Load()
			}
		}
		h.Record(d)
	}
	t.reloads.step(end, d)
}

// fail records a failed request.
func (t *timeline) fail(end time.Time) {
	if t == nil {
		return
	}
	if s := t.slotAt(end); s != nil {
		s.errors.Add(1)
	}
	t.reloads.fail(end)
}

// flow records a flow whose every step succeeded.
func (t *timeline) flow(end time.Time) {
	if t == nil {
		return
	}
	if s := t.slotAt(end); s != nil {
		s.flows.Add(1)
	}
}

// sampleProc reads process pid at the window's start and at the end of
// every interval, until the last interval or ctx ends. The reading at the
// start is returned; the others go to their slots.
func (t *timeline) sampleProc(ctx context.Context, pid int, heapGoal func(context.Context) int64) (ProcSample, bool) {
	if pid <= 0 || len(t.slots) == 0 {
		return ProcSample{}, false
	}
	if !sleepUntil(ctx, t.start) {
		return ProcSample{}, false
	}
	read := func() (ProcSample, error) {
		p, err := ReadProc(pid)
		if err == nil && heapGoal != nil {
			p.HeapGoal = heapGoal(ctx)
		}
		return p, err
	}
	first, err := read()
	if err != nil {
		return ProcSample{}, false
	}
	for i := range t.slots {
		if !sleepUntil(ctx, t.slotEnd(i)) {
			break
		}
		if p, err := read(); err == nil {
			t.slots[i].proc, t.slots[i].hasProc = p, true
		}
	}
	return first, true
}

func (t *timeline) slotEnd(i int) time.Time {
	end := t.start.Add(time.Duration(i+1) * t.every)
	if end.After(t.end) {
		return t.end
	}
	return end
}

// sleepUntil waits for the moment, and reports false if ctx ended first.
func sleepUntil(ctx context.Context, at time.Time) bool {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-tm.C:
		return true
	}
}

// samples builds the series from the intervals that are over by now, and
// its summary; first is the server's reading at the window's start, if any.
func (t *timeline) samples(now time.Time, first ProcSample, hasFirst bool) ([]Sample, *SampleSummary) {
	if len(t.slots) == 0 {
		return nil, nil
	}
	var out []Sample
	prev, hasPrev := first, hasFirst
	for i := range t.slots {
		s := &t.slots[i]
		from, to := t.start.Add(time.Duration(i)*t.every), t.slotEnd(i)
		if to.After(now) && !s.hasProc {
			break // not over: an interrupted run
		}
		secs := to.Sub(from).Seconds()
		sm := Sample{TSec: to.Sub(t.start).Seconds(), Flows: s.flows.Load(), Steps: s.steps.Load(),
			Errors: s.errors.Load()}
		sm.FlowsPerSec = float64(sm.Flows) / secs
		if h := s.hist.Load(); h != nil {
			sm.StepP99Ms = ms(h.Quantile(.99))
		}
		if s.hasProc {
			rss, anon := float64(s.proc.RSS)/(1<<20), float64(s.proc.RSSAnon)/(1<<20)
			sm.RSSMiB, sm.RSSAnonMiB = &rss, &anon
			if s.proc.HeapGoal > 0 {
				goal := float64(s.proc.HeapGoal) / (1 << 20)
				sm.HeapGoalMiB = &goal
			}
			if hasPrev {
				if wall := s.proc.Taken.Sub(prev.Taken).Seconds(); wall > 0 {
					cores := (s.proc.CPU - prev.CPU).Seconds() / wall
					sm.CPUCores = &cores
				}
			}
			prev, hasPrev = s.proc, true
		}
		out = append(out, sm)
	}
	return out, summarize(out, t.every, first, hasFirst)
}

func summarize(ss []Sample, every time.Duration, first ProcSample, hasFirst bool) *SampleSummary {
	sum := &SampleSummary{EverySec: every.Seconds(), Intervals: len(ss)}
	var p99s []float64
	for _, s := range ss {
		if s.Steps > 0 {
			p99s = append(p99s, s.StepP99Ms)
		}
	}
	if len(p99s) > 0 {
		slices.Sort(p99s)
		sum.P99MinMs, sum.P99MaxMs = p99s[0], p99s[len(p99s)-1]
		sum.P99MedianMs = median(p99s)
	}
	if !hasFirst {
		return sum
	}
	sum.RSSWarmupMiB = float64(first.RSS) / (1 << 20)
	sum.RSSMaxMiB, sum.RSSEndMiB = sum.RSSWarmupMiB, sum.RSSWarmupMiB
	sum.AnonWarmupMiB = float64(first.RSSAnon) / (1 << 20)
	sum.AnonMaxMiB, sum.AnonEndMiB = sum.AnonWarmupMiB, sum.AnonWarmupMiB
	var anon, goal [][2]float64 // (t minutes, MiB), the window's start included
	anon = append(anon, [2]float64{0, sum.AnonWarmupMiB})
	if first.HeapGoal > 0 {
		sum.HeapGoalWarmupMiB = float64(first.HeapGoal) / (1 << 20)
		sum.HeapGoalMaxMiB, sum.HeapGoalEndMiB = sum.HeapGoalWarmupMiB, sum.HeapGoalWarmupMiB
		goal = append(goal, [2]float64{0, sum.HeapGoalWarmupMiB})
	}
	for _, s := range ss {
		if s.RSSMiB != nil {
			sum.RSSMaxMiB = max(sum.RSSMaxMiB, *s.RSSMiB)
			sum.RSSEndMiB = *s.RSSMiB
		}
		if s.RSSAnonMiB != nil {
			sum.AnonMaxMiB = max(sum.AnonMaxMiB, *s.RSSAnonMiB)
			sum.AnonEndMiB = *s.RSSAnonMiB
			anon = append(anon, [2]float64{s.TSec / 60, *s.RSSAnonMiB})
		}
		if s.HeapGoalMiB != nil {
			sum.HeapGoalMaxMiB = max(sum.HeapGoalMaxMiB, *s.HeapGoalMiB)
			sum.HeapGoalEndMiB = *s.HeapGoalMiB
			goal = append(goal, [2]float64{s.TSec / 60, *s.HeapGoalMiB})
		}
	}
	sum.GrowthMiB = sum.RSSEndMiB - sum.RSSWarmupMiB
	sum.AnonGrowthMiB = sum.AnonEndMiB - sum.AnonWarmupMiB
	sum.AnonTrendMiBMin, sum.HeapGoalTrendMiBMin = slope(anon), slope(goal)
	if sum.RSSWarmupMiB > 0 {
		sum.GrowthPct = 100 * sum.GrowthMiB / sum.RSSWarmupMiB
	}
	return sum
}

// slope is the least-squares slope of y over x; 0 with fewer than two
// distinct x.
func slope(pts [][2]float64) float64 {
	n := float64(len(pts))
	var sx, sy, sxx, sxy float64
	for _, p := range pts {
		sx, sy, sxx, sxy = sx+p[0], sy+p[1], sxx+p[0]*p[0], sxy+p[0]*p[1]
	}
	d := n*sxx - sx*sx
	if len(pts) < 2 || d <= 1e-12 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// median of sorted values.
func median(v []float64) float64 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// writeSamples writes the summary of the time series for people.
func (r *Result) writeSamples(w io.Writer) {
	s := r.SampleSummary
	if s == nil {
		return
	}
	fmt.Fprintf(w, "samples: %d intervals of %gs; step p99 per interval min %.2f / median %.2f / max %.2f ms\n",
		s.Intervals, s.EverySec, s.P99MinMs, s.P99MedianMs, s.P99MaxMs)
	if s.RSSWarmupMiB > 0 {
		fmt.Fprintf(w, "server RSS: %.1f MiB after warm-up, max %.1f MiB, end %.1f MiB, growth %+.1f MiB (%+.1f%%)\n",
			s.RSSWarmupMiB, s.RSSMaxMiB, s.RSSEndMiB, s.GrowthMiB, s.GrowthPct)
		fmt.Fprintf(w, "server RSS anonymous (heap, stacks): %.1f MiB after warm-up, max %.1f MiB, end %.1f MiB, growth %+.1f MiB, trend %+.2f MiB/min\n",
			s.AnonWarmupMiB, s.AnonMaxMiB, s.AnonEndMiB, s.AnonGrowthMiB, s.AnonTrendMiBMin)
	}
	if s.HeapGoalWarmupMiB > 0 {
		fmt.Fprintf(w, "server Go heap goal (2 x live after GC): %.1f MiB after warm-up, max %.1f MiB, end %.1f MiB, trend %+.2f MiB/min\n",
			s.HeapGoalWarmupMiB, s.HeapGoalMaxMiB, s.HeapGoalEndMiB, s.HeapGoalTrendMiBMin)
	}
}

// WriteSamples writes the time series, one interval a line.
func (r *Result) WriteSamples(w io.Writer) {
	if len(r.Samples) == 0 {
		return
	}
	fmt.Fprintf(w, "%8s %8s %9s %8s %9s %7s %9s %9s %9s %7s\n", "t s", "flows", "flows/s", "steps", "p99 ms", "errors",
		"RSS MiB", "anon MiB", "heap goal", "cores")
	for _, s := range r.Samples {
		rss, anon, goal, cores := "-", "-", "-", "-"
		if s.RSSMiB != nil {
			rss = fmt.Sprintf("%.1f", *s.RSSMiB)
		}
		if s.RSSAnonMiB != nil {
			anon = fmt.Sprintf("%.1f", *s.RSSAnonMiB)
		}
		if s.HeapGoalMiB != nil {
			goal = fmt.Sprintf("%.1f", *s.HeapGoalMiB)
		}
		if s.CPUCores != nil {
			cores = fmt.Sprintf("%.2f", *s.CPUCores)
		}
		fmt.Fprintf(w, "%8.1f %8d %9.1f %8d %9.2f %7d %9s %9s %9s %7s\n", s.TSec, s.Flows, s.FlowsPerSec, s.Steps, s.StepP99Ms,
			s.Errors, rss, anon, goal, cores)
	}
}
