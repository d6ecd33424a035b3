package engine

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	// The children of the vectors below, found once per label set: the
	// vectors' own lookup (validating and hashing the labels under a lock)
	// cost a few microseconds per step.
	stepCounters sync.Map // stepLabels → prometheus.Counter
	durations    sync.Map // stepLabels (result and code empty) → prometheus.Observer
	storeTimes   sync.Map // op → prometheus.Observer

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

type stepLabels struct{ protocol, step, result, code string }

func (m *metrics) observeStep(protocol, step, result, code string, d time.Duration) {
	k := stepLabels{protocol, step, result, code}
	c, ok := m.stepCounters.Load(k)
	if !ok {
		c, _ = m.stepCounters.LoadOrStore(k, m.steps.WithLabelValues(protocol, step, result, code))
	}
	c.(prometheus.Counter).Inc()
	k.result, k.code = "", ""
	o, ok := m.durations.Load(k)
	if !ok {
		o, _ = m.durations.LoadOrStore(k, m.duration.WithLabelValues(protocol, step))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
}

func (m *metrics) observeStore(op string, start time.Time) {
	o, ok := m.storeTimes.Load(op)
	if !ok {
		o, _ = m.storeTimes.LoadOrStore(op, m.storeTime.WithLabelValues(op))
	}
	o.(prometheus.Observer).Observe(time.Since(start).Seconds())
}
