package loadgen

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// The histogram is log-linear, like HdrHistogram: values below 2^subBits
// microseconds are exact, and every power of two above is split into
// 2^(subBits-1) buckets, so a bucket is at most 2/2^subBits (0.8%) of its
// value wide. Recording is one atomic add, so the workers share one
// histogram per step without locks or allocation.
const (
	subBits  = 8
	subCount = 1 << subBits
	maxShift = 26 // up to about 2^34 µs (4.7 hours); longer is clamped
	nBuckets = maxShift*subCount/2 + subCount
)

// Histogram counts latencies. The zero value is empty and ready to use; it
// is safe for concurrent use.
type Histogram struct {
	counts [nBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64 // µs
	max    atomic.Uint64 // µs
}

func bucketOf(us uint64) int {
	if us < subCount {
		return int(us)
	}
	shift := bits.Len64(us) - subBits
	if shift > maxShift {
		return nBuckets - 1
	}
	return shift*subCount/2 + int(us>>uint(shift))
}

// bucketTop is the largest value bucket i holds: a percentile is reported
// as the top of its bucket, never under-stated.
func bucketTop(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	shift := uint((i - subCount/2) / (subCount / 2))
	mant := uint64(i - int(shift)*subCount/2)
	return (mant+1)<<shift - 1
}

// Record adds one latency.
func (h *Histogram) Record(d time.Duration) {
	us := uint64(max(d.Microseconds(), 0))
	h.counts[bucketOf(us)].Add(1)
	h.n.Add(1)
	h.sum.Add(us)
	for m := h.max.Load(); us > m && !h.max.CompareAndSwap(m, us); m = h.max.Load() {
	}
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Max is the largest recorded value.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }

// Mean is the average recorded value.
func (h *Histogram) Mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load()/n) * time.Microsecond
}

// Quantile returns the value at or under which a fraction q (0 to 1) of
// the recorded values lie, to the histogram's precision, and at most Max.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		if seen += h.counts[i].Load(); seen >= rank {
			return time.Duration(min(bucketTop(i), h.max.Load())) * time.Microsecond
		}
	}
	return h.Max()
}

// Merge adds every value of o to h.
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c > 0 {
			h.counts[i].Add(c)
		}
	}
	h.n.Add(o.n.Load())
	h.sum.Add(o.sum.Load())
	for m, om := h.max.Load(), o.max.Load(); om > m && !h.max.CompareAndSwap(m, om); m = h.max.Load() {
	}
}
