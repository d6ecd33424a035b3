// Package engine runs protocol steps: it loads protocols and scripts into an
// immutable Snapshot, runs one step's script on a pooled goja runtime under
// the flow rules and timeout of its protocol, and loads and saves the
// session around it. Reload builds a new snapshot and swaps it in whole.
package engine

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/tunapay/tuna/session"
)

// Options configure an Engine. Zero values mean the defaults noted.
type Options struct {
	Scripts    string // scripts folder
	Protocols  string // protocols folder
	Store      session.Store
	Components map[string]any   // built component instances, by name
	Log        *zap.Logger      // default: no logging
	Now        func() time.Time // default: time.Now
	PoolMin    int              // warm runtimes; default GOMAXPROCS
	PoolMax    int              // most runtimes, i.e. steps in flight; default 256
	HoldWait   time.Duration    // how long a step waits for a busy TID; default 2s
	Grace      time.Duration    // after a timeout, how long a runtime may take to stop; default 1s
	Registerer prometheus.Registerer
}

// DefaultPoolMax is the default number of steps that may run at once. A
// runtime costs about 1.2 MB; the pool lets the unused ones go.
const DefaultPoolMax = 256

// Engine runs steps. It is safe for concurrent use.
type Engine struct {
	opts     Options
	log      *zap.Logger
	snap     atomic.Pointer[Snapshot]
	versions atomic.Int64
	pool     *pool
	metrics  *metrics
	reloadMu sync.Mutex
	reload   atomic.Pointer[ReloadStatus]
}

// New builds the first snapshot and the runtime pool. It fails if the
// scripts or protocols do not load, with every problem in a LoadErrors.
func New(opts Options) (*Engine, error) {
	opts = withDefaults(opts)
	e := &Engine{opts: opts, log: opts.Log}
	snap, err := Build(opts.Scripts, opts.Protocols)
	if err != nil {
		return nil, err
	}
	e.install(snap)
	comps := sortedComponents(opts.Components)
	e.pool, err = newPool(opts.PoolMin, opts.PoolMax, opts.Now, func() (*vm, error) { return newVM(comps) })
	if err != nil {
		return nil, fmt.Errorf("script runtime: %w", err)
	}
	e.metrics = newMetrics(opts.Registerer, e)
	e.pool.waits = func(d time.Duration) { e.metrics.poolWait.Observe(d.Seconds()) }
	e.reload.Store(&ReloadStatus{At: snap.BuiltAt, OK: true})
	return e, nil
}

func withDefaults(o Options) Options {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.PoolMin <= 0 {
		o.PoolMin = runtime.GOMAXPROCS(0)
	}
	if o.PoolMax <= 0 {
		// A step keeps its runtime while a carrier answers (hundreds of
		// milliseconds in production), so the CPUs are no guide.
		o.PoolMax = max(DefaultPoolMax, o.PoolMin)
	}
	if o.HoldWait <= 0 {
		o.HoldWait = 2 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = time.Second
	}
	return o
}

func sortedComponents(m map[string]any) []namedComponent {
	out := make([]namedComponent, 0, len(m))
	for name, c := range m {
		out = append(out, namedComponent{name, c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (e *Engine) install(s *Snapshot) {
	s.BuiltAt = e.opts.Now()
	s.Version = e.versions.Add(1)
	e.snap.Store(s)
}

// Snapshot returns the snapshot new steps run on.
func (e *Engine) Snapshot() *Snapshot { return e.snap.Load() }

// ReloadStatus is the outcome of the latest reload.
type ReloadStatus struct {
	Count int64     `json:"count"` // reloads tried since start, the first build not counted
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
}

// Reload builds a new snapshot from the folders and swaps it in, unless its
// content is the same as the current one's. On any error the current
// snapshot stays, and the error is kept for Status.
func (e *Engine) Reload() error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	snap, err := Build(e.opts.Scripts, e.opts.Protocols)
	now := e.opts.Now()
	count := e.reload.Load().Count + 1
	if err != nil {
		e.reload.Store(&ReloadStatus{Count: count, At: now, Error: err.Error()})
		e.metrics.reloads.WithLabelValues("error").Inc()
		e.log.Error("reload failed; the previous snapshot stays", zap.Error(err),
			zap.Int64("snapshot", e.Snapshot().Version))
		return err
	}
	e.reload.Store(&ReloadStatus{Count: count, At: now, OK: true})
	e.metrics.reloads.WithLabelValues("ok").Inc()
	if snap.Hash == e.Snapshot().Hash {
		return nil // nothing changed: keep the version meaningful
	}
	e.install(snap)
	e.log.Info("reloaded", zap.Int64("snapshot", snap.Version), zap.String("hash", snap.Hash))
	return nil
}

// Status is what the admin endpoint shows.
type Status struct {
	Snapshot struct {
		Version   int64     `json:"version"`
		Hash      string    `json:"hash"`
		BuiltAt   time.Time `json:"built_at"`
		Protocols []string  `json:"protocols"`
	} `json:"snapshot"`
	LastReload ReloadStatus  `json:"last_reload"`
	Pool       PoolStats     `json:"pool"`
	Store      session.Stats `json:"store"`
}

// Status reports the snapshot, the last reload, the pool and the store.
func (e *Engine) Status() Status {
	var s Status
	snap := e.Snapshot()
	s.Snapshot.Version, s.Snapshot.Hash, s.Snapshot.BuiltAt = snap.Version, snap.Hash, snap.BuiltAt
	for _, p := range sortedProtocols(snap.Protocols) {
		s.Snapshot.Protocols = append(s.Snapshot.Protocols, p.Name)
	}
	s.LastReload = *e.reload.Load()
	s.Pool = e.pool.stats()
	s.Store = e.opts.Store.Stats()
	return s
}

// Store returns the session store the engine runs on.
func (e *Engine) Store() session.Store { return e.opts.Store }
