package loadgen

import (
	"math"
	"sync"
	"testing"
	"time"
)

func TestHistogram_Quantile(t *testing.T) {
	var h Histogram
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * 100 * time.Microsecond) // 0.1 ms … 1 s, uniform
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 500 * time.Millisecond}, {0.9, 900 * time.Millisecond}, {0.99, 990 * time.Millisecond},
		{0.999, 999 * time.Millisecond}, {1, time.Second}, {0, 100 * time.Microsecond},
	}
	for _, tt := range tests {
		got := h.Quantile(tt.q)
		if rel := math.Abs(float64(got-tt.want)) / float64(tt.want); rel > 0.008 || got < tt.want {
			t.Errorf("q%v = %v, want %v to within 0.8%% above", tt.q, got, tt.want)
		}
	}
	if h.Max() != time.Second || h.Count() != 10000 {
		t.Errorf("max %v count %d", h.Max(), h.Count())
	}
	if m := h.Mean(); m < 500*time.Millisecond || m > 501*time.Millisecond {
		t.Errorf("mean %v", m)
	}
}

func TestHistogram_Empty(t *testing.T) {
	var h Histogram
	if h.Quantile(.99) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Fatal("an empty histogram answers non-zero")
	}
}

// Small values are exact; one value is every quantile, never above Max.
func TestHistogram_ExactAndSingle(t *testing.T) {
	var h Histogram
	h.Record(137 * time.Microsecond)
	for _, q := range []float64{0, .5, .99, 1} {
		if got := h.Quantile(q); got != 137*time.Microsecond {
			t.Fatalf("q%v = %v", q, got)
		}
	}
	var big Histogram
	big.Record(1234567 * time.Microsecond)
	if got := big.Quantile(.5); got != 1234567*time.Microsecond {
		t.Fatalf("a single large value reads %v: quantiles must not exceed Max", got)
	}
}

// Every value maps to a bucket whose top is at or above it and within the
// stated precision; buckets are contiguous and ordered.
func TestHistogram_Buckets(t *testing.T) {
	prev := -1
	for us := uint64(0); us < 1<<22; us += 1 + us/97 {
		i := bucketOf(us)
		if i < prev {
			t.Fatalf("bucket of %d is %d, before %d", us, i, prev)
		}
		prev = i
		top := bucketTop(i)
		if top < us || float64(top-us) > float64(us)*2/subCount {
			t.Fatalf("value %d in bucket %d whose top is %d", us, i, top)
		}
		if i > 0 && bucketTop(i-1) >= us {
			t.Fatalf("value %d also fits bucket %d", us, i-1)
		}
	}
	if bucketOf(math.MaxUint64) != nBuckets-1 {
		t.Fatal("huge values are not clamped to the last bucket")
	}
}

func TestHistogram_MergeConcurrent(t *testing.T) {
	var a, b Histogram
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				a.Record(time.Duration(g*1000+i) * time.Microsecond)
			}
		})
	}
	wg.Wait()
	b.Record(time.Hour)
	b.Merge(&a)
	if b.Count() != 8001 || b.Max() != time.Hour {
		t.Fatalf("count %d max %v", b.Count(), b.Max())
	}
	if got := b.Quantile(.5); got < 3990*time.Microsecond || got > 4040*time.Microsecond {
		t.Fatalf("median %v", got)
	}
}
