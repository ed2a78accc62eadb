//go:build !race

// The race detector allocates on its own, so allocation counts mean
// nothing under it: this test runs without it.

package live

import (
	"testing"
	"time"
)

// Goal: a Stats call allocates nothing, in the caller or in the loop that
// answers it, so the benchmark peer's allocation counts are the server's
// own; nor does a Health probe, which makes the same request. Method:
// AllocsPerRun (which counts every goroutine's allocations) over fresh
// snapshots and probes from an idle, serving loop.
func TestStatsAllocatesNothing(t *testing.T) {
	l := listen(t, nil, nil)
	served := make(chan error, 1)
	go func() { served <- l.Serve() }()
	defer func() { l.Stop(); <-served }()
	l.Stats(time.Second) // the loop's first tick is behind it
	if n := testing.AllocsPerRun(100, func() { l.Stats(time.Second) }); n != 0 {
		t.Errorf("%v allocations per Stats call, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { l.Health(time.Second) }); n != 0 {
		t.Errorf("%v allocations per Health call, want 0", n)
	}
}
