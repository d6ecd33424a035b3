package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a run. Zero values mean the defaults noted.
type Options struct {
	URL         string        // the server; default http://127.0.0.1:8080
	Prefix      string        // where the protocols are: /tx (default) or /baseline
	Concurrency int           // flows (or floor requests) in flight; default 64
	Duration    time.Duration // measured time; default 10s
	Warmup      time.Duration // time before, whose results are discarded; negative: none; default 2s
	Cancel      bool          // end each flow with a full cancel (cancel/cancel)
	Floor       bool          // POST FloorPath instead of payment flows
	CPID, CPPwd string        // the merchant; default the sandbox's demo/demo1234
	Price       int64         // KRW per payment; default 1000
	ServerPID   int           // if set, its CPU and peak RSS are sampled
	Progress    io.Writer     // one line a second; nil: none
	Client      *http.Client  // default: keep-alive, Concurrency idle connections
	// Drain bounds how long flows in flight at the end may take to finish
	// (they are not counted) before they are cancelled; default 30s.
	Drain time.Duration
	// SampleEvery splits the measured window into intervals and reports
	// each (Result.Samples): throughput, step p99, errors, and the server's
	// RSS and CPU with ServerPID; 0: no time series.
	SampleEvery time.Duration
	// Reload makes the server reload during the measured window
	// (Result.Reload); the zero value: no reload.
	Reload ReloadOptions
}

// FloorPath is where FloorHandler is mounted.
const FloorPath = "/bench/floor"

// Errors of Run. Test them with errors.Is.
var (
	// ErrNoProgress: nothing at all succeeded, so there is nothing to measure.
	ErrNoProgress = errors.New("loadgen: no flow or request succeeded")
)

func (o Options) withDefaults() Options {
	if o.URL == "" {
		o.URL = "http://127.0.0.1:8080"
	}
	o.URL = strings.TrimRight(o.URL, "/")
	if o.Prefix == "" {
		o.Prefix = "/tx"
	}
	o.Prefix = "/" + strings.Trim(o.Prefix, "/")
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.Duration <= 0 {
		o.Duration = 10 * time.Second
	}
	if o.Warmup == 0 {
		o.Warmup = 2 * time.Second
	}
	o.Warmup = max(o.Warmup, 0)
	if o.CPID == "" {
		o.CPID, o.CPPwd = "demo", "demo1234"
	}
	if o.Price <= 0 {
		o.Price = 1000
	}
	if o.Drain <= 0 {
		o.Drain = 30 * time.Second
	}
	if o.Client == nil {
		o.Client = NewClient(o.Concurrency)
	}
	o.SampleEvery = max(o.SampleEvery, 0)
	o.Reload = o.Reload.withDefaults(o.Duration)
	return o
}

// NewClient is a keep-alive client that keeps an idle connection for each
// of n workers (and some), so no request pays for a new connection.
func NewClient(n int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        2*n + 16,
			MaxIdleConnsPerHost: 2*n + 16,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
		},
	}
}

// window is the measured time: results that end inside it count.
type window struct{ start, end time.Time }

func (w window) in(t time.Time) bool { return !t.Before(w.start) && t.Before(w.end) }

// run is the state the workers share.
type run struct {
	opts  Options
	win   window
	stats *stats
	// phones and orders make every flow's phone number and order id fresh.
	phoneBase uint64
	seq       atomic.Uint64
	runID     string
	// tl files results by time, for the samples and the reloads; nil:
	// neither was asked for.
	tl         *timeline
	progressMu sync.Mutex
}

// Run drives the load described by opts until its warm-up and duration are
// over (or ctx ends), and returns what it measured.
func Run(ctx context.Context, opts Options) (*Result, error) {
	opts = opts.withDefaults()
	r := &run{opts: opts, phoneBase: rand.Uint64N(phoneSpace), runID: fmt.Sprintf("lg%08x", rand.Uint32())}
	r.stats = newStats(opts)
	begin := time.Now()
	r.win = window{start: begin.Add(opts.Warmup), end: begin.Add(opts.Warmup + opts.Duration)}
	ext, err := r.extras()
	if err != nil {
		return nil, err
	}
	stop, cancel := context.WithTimeout(ctx, opts.Warmup+opts.Duration+opts.Drain)
	defer cancel()
	ext.start(stop)
	var wg sync.WaitGroup
	for range opts.Concurrency {
		wg.Go(func() { r.worker(stop) })
	}
	watch := r.observe(stop)
	wg.Wait()
	ext.wait()
	cancel()
	res := r.stats.result(opts, r.win, watch(), ctx.Err() != nil)
	restoreErr := ext.finish(res)
	if restoreErr != nil {
		return res, restoreErr
	}
	if res.succeeded() == 0 {
		return res, ErrNoProgress
	}
	return res, nil
}

// worker runs flows (or floor requests) back to back until the window ends.
func (r *run) worker(ctx context.Context) {
	w := newWorker(r)
	for ctx.Err() == nil && time.Now().Before(r.win.end) {
		if r.opts.Floor {
			w.floor(ctx)
		} else {
			w.flow(ctx)
		}
	}
}
