package load

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestHistBuckets checks the bucket arithmetic the latency figures rest on:
// every value lands in a bucket whose range holds it, bucket bounds rise
// without gaps, and a bucket is at most 1/32 of its lower bound wide.
func TestHistBuckets(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		v := int64(r.Uint64() >> (2 + r.IntN(62))) // below 2^62: the top bucket has no upper bound
		i := histIndex(v)
		if lo, hi := histLow(i), histLow(i+1); v < lo || v >= hi {
			t.Fatalf("value %d in bucket %d = [%d, %d)", v, i, lo, hi)
		}
	}
	for i := 1; i < histBuckets-1; i++ {
		lo, hi := histLow(i), histLow(i+1)
		if hi <= lo || (lo >= 64 && (hi-lo)*32 > lo) {
			t.Fatalf("bucket %d = [%d, %d) is not increasing or too wide", i, lo, hi)
		}
	}
}

// TestHistQuantile compares quantiles against an exact sort of random
// latencies: each must be within the 3% the buckets promise.
func TestHistQuantile(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h, a, b Hist
	vals := make([]int64, 50_000)
	for i := range vals {
		vals[i] = int64(r.ExpFloat64() * float64(200*time.Microsecond))
		if i%2 == 0 {
			a.Record(vals[i])
		} else {
			b.Record(vals[i])
		}
	}
	h.Merge(&a)
	h.Merge(&b)
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := float64(vals[int(q*float64(len(vals)-1))])
		got := float64(h.Quantile(q))
		if got < want*0.97 || got > want*1.03 {
			t.Errorf("q%.3f = %.0f, exact %.0f", q, got, want)
		}
	}
}
