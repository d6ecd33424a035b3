package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// extras are the parts of a run beside the load: the time series and its
// sampler of the server, and the reloads.
type extras struct {
	r        *run
	rl       *reloader
	rw       *reloadWindows
	at       []time.Time
	reloads  chan []reloadEvent
	events   []reloadEvent
	proc     chan procFirst
	first    procFirst
	sampling bool
}

// procFirst is the sampler's reading at the window's start.
type procFirst struct {
	s  ProcSample
	ok bool
}

// extras checks the options of the time series and the reloads and sets
// up what the workers record into (r.tl). Call it once the window is set.
func (r *run) extras() (*extras, error) {
	x := &extras{r: r, sampling: r.opts.SampleEvery > 0}
	if n := intervals(r.opts.Duration, r.opts.SampleEvery); n > maxIntervals {
		return nil, fmt.Errorf("loadgen: %d sample intervals of %v; at most %d", n, r.opts.SampleEvery, maxIntervals)
	}
	at, err := r.opts.Reload.plan(r.win)
	if err != nil {
		return nil, err
	}
	if len(at) > 0 {
		if x.rl, err = newReloader(r.opts.Reload); err != nil {
			return nil, err
		}
		x.rw, x.at = newReloadWindows(r.win, at, r.opts.Reload), at
	}
	if x.sampling || x.rw != nil {
		r.tl = newTimeline(r.win, r.opts.SampleEvery, x.rw)
	}
	return x, nil
}

// start runs the reloads and the sampler until they are done or ctx ends.
func (x *extras) start(ctx context.Context) {
	if x.rl != nil {
		x.reloads = make(chan []reloadEvent, 1)
		go func() { x.reloads <- x.rl.run(ctx, x.at, x.note) }()
	}
	if x.sampling {
		x.proc = make(chan procFirst, 1)
		go func() {
			s, ok := x.r.tl.sampleProc(ctx, x.r.opts.ServerPID, x.r.heapGoal)
			x.proc <- procFirst{s, ok}
		}()
	}
}

// note reports a reload on the progress stream.
func (x *extras) note(i int, e reloadEvent) {
	r := x.r
	if r.opts.Progress == nil {
		return
	}
	status := "ok"
	if e.err != nil {
		status = "FAILED: " + e.err.Error()
	}
	r.progressMu.Lock()
	defer r.progressMu.Unlock()
	fmt.Fprintf(r.opts.Progress, "loadgen reload #%d at %.2fs into the window, took %.1f ms: %s\n",
		i+1, e.at.Sub(r.win.start).Seconds(), ms(e.took), status)
}

// wait waits until every planned reload is done, late ones included, so
// that their number is the plan's, and the sampler has read the server at
// the window's end (or until the run's context ends).
func (x *extras) wait() {
	if x.reloads != nil {
		x.events = <-x.reloads
	}
	if x.proc != nil {
		x.first = <-x.proc
	}
}

// finish puts a touched file back and adds the samples and the reloads to
// res; the error is a file that could not be put back.
func (x *extras) finish(res *Result) error {
	if x.sampling {
		res.Samples, res.SampleSummary = x.r.tl.samples(time.Now(), x.first.s, x.first.ok)
	}
	if x.rl == nil {
		return nil
	}
	restoreErr := x.rl.restore()
	var inWindow int64
	for _, n := range res.Errors {
		inWindow += n
	}
	res.Reload = x.rl.result(x.r.win, x.rw, x.events, inWindow, x.r.stats.allErrors.Load())
	if restoreErr != nil {
		res.Reload.RestoreError = restoreErr.Error()
	}
	return restoreErr
}

// heapGoal reads go_memstats_next_gc_bytes from the server's /metrics
// (ProcSample.HeapGoal); 0 when the server does not serve it.
func (r *run) heapGoal(ctx context.Context) int64 {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.opts.URL+"/metrics", nil)
	if err != nil {
		return 0
	}
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_next_gc_bytes "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 {
				return 0
			}
			return int64(f)
		}
	}
	return 0
}
