package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mobsim/mobsim/sim"
)

// shardSeeds lists the seeds of [start, start+count) that belong to sh.
// Shards are disjoint and together cover the range.
func shardSeeds(start, count uint64, sh shard) []uint64 {
	var seeds []uint64
	for i := sh.i; i < count; i += sh.n {
		seeds = append(seeds, start+i)
	}
	return seeds
}

type summary struct {
	Start      uint64       `json:"start"`
	Count      uint64       `json:"count"`
	Shard      string       `json:"shard"`
	Seeds      int          `json:"seeds_run"`
	Passed     int          `json:"passed"`
	Failed     int          `json:"failed"`
	Events     uint64       `json:"events"`
	Seconds    float64      `json:"seconds"`
	SeedsPerS  float64      `json:"seeds_per_second"`
	EventsPerS float64      `json:"events_per_second"`
	Failures   []sim.Report `json:"failures"`
	Replay     []string     `json:"replay,omitempty"`
}

// sweep runs the shard's seeds on o.parallel workers with a live progress
// line, then prints a summary. The failures are listed in seed order.
func sweep(o options, stdout, stderr io.Writer) int {
	seeds := shardSeeds(o.start, o.seeds, o.shard)
	begin := time.Now()
	var done, events, failed atomic.Uint64
	var mu sync.Mutex
	var failures []sim.Report

	work := make(chan uint64)
	var wg sync.WaitGroup
	for range o.parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range work {
				rep := sim.RunSeed(seed, sim.Options{Bugs: o.bugs})
				events.Add(rep.Events)
				if !rep.OK() {
					failed.Add(1)
					mu.Lock()
					failures = append(failures, rep)
					mu.Unlock()
				}
				done.Add(1)
			}
		}()
	}
	stop := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if o.quiet {
			<-stop
			return
		}
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				fmt.Fprintln(stderr, progress(done.Load(), uint64(len(seeds)), events.Load(), failed.Load(), time.Since(begin)))
				return
			case <-t.C:
				fmt.Fprint(stderr, "\r", progress(done.Load(), uint64(len(seeds)), events.Load(), failed.Load(), time.Since(begin)), "   ")
			}
		}
	}()
	for _, s := range seeds {
		work <- s
	}
	close(work)
	wg.Wait()
	close(stop)
	<-progressDone

	sort.Slice(failures, func(i, j int) bool { return failures[i].Seed < failures[j].Seed })
	el := time.Since(begin).Seconds()
	sum := summary{
		Start: o.start, Count: o.seeds, Shard: fmt.Sprintf("%d/%d", o.shard.i, o.shard.n),
		Seeds: len(seeds), Failed: len(failures), Passed: len(seeds) - len(failures),
		Events: events.Load(), Seconds: el,
		SeedsPerS: float64(len(seeds)) / el, EventsPerS: float64(events.Load()) / el,
		Failures: failures,
	}
	for _, f := range failures {
		sum.Replay = append(sum.Replay, sim.ReplayCommand(f.Seed, o.bugs...))
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(sum)
	} else {
		fmt.Fprintf(stdout, "%d seeds (%d..%d, shard %s): %d passed, %d failed in %.1fs — %.0f seeds/s, %.3g events/s\n",
			sum.Seeds, o.start, o.start+o.seeds-1, sum.Shard, sum.Passed, sum.Failed, el, sum.SeedsPerS, sum.EventsPerS)
		for _, f := range failures {
			fmt.Fprintf(stdout, "seed %d: %v\n  world: %s\n  replay: %s\n", f.Seed, f.Violation, f.World, sim.ReplayCommand(f.Seed, o.bugs...))
		}
	}
	if len(failures) > 0 {
		return 1
	}
	return 0
}

func progress(done, total, events, failed uint64, el time.Duration) string {
	s := el.Seconds()
	if s == 0 {
		s = 1e-9
	}
	return fmt.Sprintf("%d/%d seeds  %.0f seeds/s  %.3g events/s  %d failed", done, total, float64(done)/s, float64(events)/s, failed)
}
