package loadgen

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestRun_Samples(t *testing.T) {
	t.Parallel()
	if _, err := ReadProc(os.Getpid()); err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	srv := httptest.NewServer(newFake())
	defer srv.Close()
	o := quick(srv.URL)
	o.Duration, o.SampleEvery = 500*time.Millisecond, 200*time.Millisecond // 200, 200 and a last 100
	o.ServerPID = os.Getpid()
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Samples) != 3 {
		t.Fatalf("%d samples, want 3: %+v", len(res.Samples), res.Samples)
	}
	var flows, steps, errs int64
	for i, s := range res.Samples {
		if want := []float64{0.2, 0.4, 0.5}[i]; s.TSec < want-1e-9 || s.TSec > want+1e-9 {
			t.Errorf("sample %d ends at %vs, want %vs", i, s.TSec, want)
		}
		if s.RSSMiB == nil || *s.RSSMiB <= 0 || s.RSSAnonMiB == nil || *s.RSSAnonMiB <= 0 || *s.RSSAnonMiB > *s.RSSMiB ||
			s.CPUCores == nil || *s.CPUCores < 0 {
			t.Errorf("sample %d: no server figures: %+v", i, s)
		}
		if s.HeapGoalMiB == nil || *s.HeapGoalMiB != 4 {
			t.Errorf("sample %d: heap goal %v, want the 4 MiB the server's /metrics says", i, s.HeapGoalMiB)
		}
		if s.Steps > 0 && s.StepP99Ms <= 0 || s.Steps == 0 && s.StepP99Ms != 0 {
			t.Errorf("sample %d: %d steps, p99 %v", i, s.Steps, s.StepP99Ms)
		}
		flows, steps, errs = flows+s.Flows, steps+s.Steps, errs+s.Errors
	}
	// The intervals split the window exactly: their counts add up to its.
	if flows != res.Flows || steps != res.Steps || errs != 0 {
		t.Fatalf("samples add up to %d flows, %d steps, %d errors; the window has %d, %d, 0",
			flows, steps, errs, res.Flows, res.Steps)
	}
	sum := res.SampleSummary
	if sum == nil || sum.Intervals != 3 || sum.EverySec != 0.2 {
		t.Fatalf("summary %+v", sum)
	}
	if sum.RSSWarmupMiB <= 0 || sum.RSSMaxMiB < sum.RSSEndMiB || sum.RSSMaxMiB < sum.RSSWarmupMiB ||
		sum.RSSEndMiB != *res.Samples[2].RSSMiB || sum.GrowthMiB != sum.RSSEndMiB-sum.RSSWarmupMiB {
		t.Fatalf("RSS summary %+v", sum)
	}
	if sum.P99MinMs > sum.P99MedianMs || sum.P99MedianMs > sum.P99MaxMs {
		t.Fatalf("p99 summary %+v", sum)
	}
	if sum.HeapGoalWarmupMiB != 4 || sum.HeapGoalMaxMiB != 4 || sum.HeapGoalEndMiB != 4 || sum.HeapGoalTrendMiBMin != 0 {
		t.Fatalf("heap goal summary %+v", sum)
	}
	var table, series strings.Builder
	res.WriteTable(&table)
	for _, want := range []string{"samples: 3 intervals of 0.2s", "server RSS: ", "after warm-up"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table has no %q:\n%s", want, table.String())
		}
	}
	res.WriteSamples(&series)
	if n := strings.Count(series.String(), "\n"); n != 4 {
		t.Errorf("series of %d lines, want a header and 3:\n%s", n, series.String())
	}
}

// Without a server pid, or without samples, the series and the result
// carry nothing of the server, and nothing at all.
func TestRun_SamplesErrorsNoServer(t *testing.T) {
	t.Parallel()
	f := newFake()
	f.wrong = true
	srv := httptest.NewServer(f)
	defer srv.Close()
	o := quick(srv.URL)
	o.SampleEvery = 100 * time.Millisecond
	res, err := Run(context.Background(), o)
	if err != ErrNoProgress {
		t.Fatalf("err %v", err)
	}
	var errs, want int64
	for _, s := range res.Samples {
		if s.RSSMiB != nil || s.RSSAnonMiB != nil || s.CPUCores != nil || s.Flows != 0 {
			t.Errorf("sample %+v", s)
		}
		errs += s.Errors
	}
	for _, n := range res.Errors {
		want += n
	}
	if len(res.Samples) != 4 || errs != want || want == 0 {
		t.Fatalf("%d samples with %d errors; the window has %d", len(res.Samples), errs, want)
	}
	if res.SampleSummary.RSSWarmupMiB != 0 || res.SampleSummary.GrowthMiB != 0 {
		t.Fatalf("summary %+v", res.SampleSummary)
	}
	b, _ := json.Marshal(res.Samples[0])
	if strings.Contains(string(b), "rss_mib") || strings.Contains(string(b), "cpu_cores") {
		t.Fatalf("sample JSON %s", b)
	}

	o.SampleEvery, o.Duration = 0, 100*time.Millisecond
	res, _ = Run(context.Background(), o)
	b, _ = json.Marshal(res)
	if res.Samples != nil || res.SampleSummary != nil || res.Reload != nil ||
		strings.Contains(string(b), `"samples"`) || strings.Contains(string(b), `"reload"`) {
		t.Fatalf("a run without samples has some: %s", b)
	}
}

func TestTimeline_SlotBoundaries(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	tl := newTimeline(window{start: t0, end: t0.Add(250 * time.Millisecond)}, 100*time.Millisecond, nil)
	if len(tl.slots) != 3 {
		t.Fatalf("%d slots", len(tl.slots))
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, d := range []time.Duration{0, 99 * time.Millisecond, 100 * time.Millisecond, 249 * time.Millisecond} {
		tl.step(at(d), time.Millisecond)
		tl.flow(at(d))
	}
	for _, d := range []time.Duration{-time.Nanosecond, 250 * time.Millisecond, 290 * time.Millisecond} {
		tl.step(at(d), time.Millisecond) // outside the window
		tl.fail(at(d))
	}
	tl.fail(at(120 * time.Millisecond))
	want := [][3]int64{{2, 2, 0}, {1, 1, 1}, {1, 1, 0}} // flows, steps, errors
	for i, w := range want {
		s := &tl.slots[i]
		if got := [3]int64{s.flows.Load(), s.steps.Load(), s.errors.Load()}; got != w {
			t.Errorf("slot %d: %v, want %v", i, got, w)
		}
	}
	ss, sum := tl.samples(at(time.Hour), ProcSample{}, false)
	if len(ss) != 3 || ss[2].TSec != 0.25 || ss[2].FlowsPerSec != 20 || ss[0].FlowsPerSec != 20 || sum.Intervals != 3 {
		t.Fatalf("samples %+v summary %+v", ss, sum)
	}
	// Intervals not over yet are left out.
	if ss, _ := tl.samples(at(150*time.Millisecond), ProcSample{}, false); len(ss) != 1 {
		t.Fatalf("%d samples at 150ms", len(ss))
	}
	var nilTL *timeline
	nilTL.step(t0, 0) // no samples, no reloads: the hooks do nothing
	nilTL.fail(t0)
	nilTL.flow(t0)
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	ss := []Sample{
		{TSec: 30, Steps: 10, StepP99Ms: 4, RSSMiB: f(110), RSSAnonMiB: f(60), HeapGoalMiB: f(21)},
		{TSec: 60, Steps: 0, RSSMiB: f(130), RSSAnonMiB: f(70), HeapGoalMiB: f(22)}, // no steps: no p99
		{TSec: 90, Steps: 10, StepP99Ms: 2, RSSMiB: f(120), RSSAnonMiB: f(50), HeapGoalMiB: f(23)},
		{TSec: 120, Steps: 10, StepP99Ms: 9},
		{TSec: 150, Steps: 10, StepP99Ms: 3, RSSMiB: f(125), RSSAnonMiB: f(52), HeapGoalMiB: f(25)},
	}
	sum := summarize(ss, 10*time.Second, ProcSample{RSS: 100 << 20, RSSAnon: 50 << 20, HeapGoal: 20 << 20}, true)
	want := SampleSummary{EverySec: 10, Intervals: 5, P99MinMs: 2, P99MedianMs: 3.5, P99MaxMs: 9,
		RSSWarmupMiB: 100, RSSMaxMiB: 130, RSSEndMiB: 125, GrowthMiB: 25, GrowthPct: 25,
		AnonWarmupMiB: 50, AnonMaxMiB: 70, AnonEndMiB: 52, AnonGrowthMiB: 2,
		HeapGoalWarmupMiB: 20, HeapGoalMaxMiB: 25, HeapGoalEndMiB: 25}
	// The heap goal rises 2 MiB a minute; the anonymous
	// set's points at 0, 0.5, 1, 1.5 and 2.5 minutes: 50, 60, 70, 50, 52.
	if d := sum.HeapGoalTrendMiBMin - 2; d > 1e-6 || d < -1e-6 {
		t.Errorf("heap goal trend %v", sum.HeapGoalTrendMiBMin)
	}
	if d := sum.AnonTrendMiBMin - (-1.4054054); d > 1e-6 || d < -1e-6 {
		t.Errorf("anonymous trend %v", sum.AnonTrendMiBMin)
	}
	sum.HeapGoalTrendMiBMin, sum.AnonTrendMiBMin = 0, 0
	if *sum != want {
		t.Fatalf("got %+v\nwant %+v", *sum, want)
	}
	if slope([][2]float64{{1, 5}}) != 0 || slope([][2]float64{{1, 5}, {1, 7}}) != 0 {
		t.Error("slope of a single x is not 0")
	}
}

// bench/run.sh reads the JSON result with sed and grep: the samples and the
// reload must not add lines its patterns take.
func TestResultJSON_BenchScriptPatterns(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	res := &Result{Mode: "flow", FlowsPerSec: 12.5, RequestsPerSec: 75, MaxStepP99Ms: 3.25,
		Errors: map[string]int64{"bill BILL_DECLINED (HTTP 200)": 2},
		Server: &ProcStats{PID: 7, CPUCores: 1.5}, Harness: &ProcStats{PID: 8, CPUCores: 0.5},
		Samples:       []Sample{{TSec: 1, FlowsPerSec: 99, StepP99Ms: 7, Errors: 1, RSSMiB: f(80), CPUCores: f(1.9)}},
		SampleSummary: &SampleSummary{EverySec: 1, Intervals: 1, RSSMaxMiB: 80},
		Reload: &ReloadResult{Trigger: "touch scripts/payment/bill.js", FailedSteps: 2, P99BeforeMs: 3, Ratio: 1.1,
			Each: []ReloadEvent{{AtSec: 10, OK: false, Error: "admin reload: HTTP 422: Bad Thing"}}},
	}
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	grep := func(pattern string) []string {
		re := regexp.MustCompile(pattern)
		var out []string
		for _, l := range lines {
			if m := re.FindStringSubmatch(l); m != nil {
				out = append(out, m[len(m)-1])
			}
		}
		return out
	}
	for key, want := range map[string]string{"flows_per_sec": "12.5", "requests_per_sec": "75", "max_step_p99_ms": "3.25"} {
		if got := grep(`^  "` + key + `": ([-0-9.e+]*),*$`); len(got) != 1 || got[0] != want {
			t.Errorf("%s: run.sh reads %q, want %s", key, got, want)
		}
	}
	if got := grep(`^    "cpu_cores": ([0-9.e+-]*),*$`); len(got) == 0 || got[0] != "1.5" {
		t.Errorf("cpu_cores: run.sh reads %q first, want the server's 1.5", got)
	}
	if got := grep(`^    "[a-z_]* [A-Z]`); len(got) != 1 {
		t.Errorf("run.sh counts %d kinds of error, want 1: %q", len(got), got)
	}
}
