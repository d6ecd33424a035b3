package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	// The children of the vectors below are found once per label set,
	// not per step: the vectors' own lookup validates and hashes the
	// labels under a lock. A step's are kept on the step (stepMetrics),
	// the store operations' here.
	storeTimes sync.Map // op → prometheus.Observer

	steps     *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	poolWait  prometheus.Histogram
	storeTime *prometheus.HistogramVec
	reloads   *prometheus.CounterVec
	reloadLag prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, e *Engine) *metrics {
	m := &metrics{
		steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tuna_steps_total", Help: "Steps answered, by protocol, step, result and code.",
		}, []string{"protocol", "step", "result", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tuna_step_duration_seconds", Help: "Time to answer a step, session load and save included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"protocol", "step"}),
		poolWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tuna_pool_wait_seconds", Help: "Time a step waited for a script runtime.",
			Buckets: []float64{.00001, .0001, .001, .01, .1, 1},
		}),
		storeTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tuna_store_duration_seconds", Help: "Session store latency by operation.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5},
		}, []string{"op"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tuna_reloads_total", Help: "Snapshot reloads by result (ok, error).",
		}, []string{"result"}),
		reloadLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tuna_reload_delay_seconds", Help: "From the first change of a burst seen by the watcher to the end of its reload.",
			Buckets: []float64{.05, .1, .15, .25, .5, 1, 2.5, 5},
		}),
	}
	for _, r := range []string{"ok", "error"} {
		m.reloads.WithLabelValues(r) // export both at zero, before the first reload
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.steps, m.duration, m.poolWait, m.storeTime, m.reloads, m.reloadLag,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tuna_pool_runtimes", Help: "Script runtimes created."},
			func() float64 { return float64(e.pool.created.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tuna_pool_in_use", Help: "Script runtimes lent to steps."},
			func() float64 { return float64(e.pool.inUse.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tuna_snapshot_version", Help: "Version of the snapshot serving steps."},
			func() float64 { return float64(e.Snapshot().Version) }),
	)
	return m
}

// stepMetrics are one step's children of the steps and duration vectors.
// A step answers with few result and code pairs, so they are a short list,
// copied on write and read without a lock; past maxStepCounters pairs (a
// script making up codes), the vector is asked each time.
type stepMetrics struct {
	duration prometheus.Observer
	mu       sync.Mutex // serializes additions to counters
	counters atomic.Pointer[[]stepCounter]
}

type stepCounter struct {
	result, code string
	c            prometheus.Counter
}

const maxStepCounters = 32

func (m *metrics) observeStep(protocol string, st *Step, result, code string, d time.Duration) {
	sm := st.metrics.Load()
	if sm == nil {
		sm = &stepMetrics{duration: m.duration.WithLabelValues(protocol, st.Name)}
		if !st.metrics.CompareAndSwap(nil, sm) {
			sm = st.metrics.Load()
		}
	}
	sm.duration.Observe(d.Seconds())
	sm.counter(m, protocol, st.Name, result, code).Inc()
}

func (sm *stepMetrics) counter(m *metrics, protocol, step, result, code string) prometheus.Counter {
	if list := sm.counters.Load(); list != nil {
		for _, sc := range *list {
			if sc.result == result && sc.code == code {
				return sc.c
			}
		}
	}
	c := m.steps.WithLabelValues(protocol, step, result, code)
	sm.mu.Lock()
	defer sm.mu.Unlock()
	var list []stepCounter
	if old := sm.counters.Load(); old != nil {
		list = *old
	}
	for _, sc := range list { // added meanwhile
		if sc.result == result && sc.code == code {
			return c
		}
	}
	if len(list) < maxStepCounters {
		list = append(list[:len(list):len(list)], stepCounter{result, code, c})
		sm.counters.Store(&list)
	}
	return c
}

func (m *metrics) observeStore(op string, start time.Time) {
	o, ok := m.storeTimes.Load(op)
	if !ok {
		o, _ = m.storeTimes.LoadOrStore(op, m.storeTime.WithLabelValues(op))
	}
	o.(prometheus.Observer).Observe(time.Since(start).Seconds())
}
