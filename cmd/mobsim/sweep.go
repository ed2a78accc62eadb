package main

import (
	"fmt"
	"io"
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

// sweep runs the shard's seeds on o.parallel workers with a progress line
// on stderr, then prints the summary on stdout.
func sweep(o options, stdout, stderr io.Writer) int {
	return sweepWith(o, func(seed uint64) sim.Report { return sim.RunSeed(seed, sim.Options{Bugs: o.bugs}) },
		newProgressWriter(stderr), stdout, stderr)
}

// sweepWith is sweep with the simulator (runSeed) and the progress output
// given, so that tests can sweep made-up failures.
func sweepWith(o options, runSeed func(uint64) sim.Report, prog progressWriter, stdout, stderr io.Writer) int {
	seeds := shardSeeds(o.start, o.seeds, o.shard)
	begin := time.Now()
	var done, events, failed atomic.Uint64
	var mu sync.Mutex
	var failures []seedResult
	var resultErr error

	work := make(chan uint64)
	var wg sync.WaitGroup
	for range o.parallel {
		wg.Go(func() {
			for seed := range work {
				rep := runSeed(seed)
				events.Add(rep.Events)
				if !rep.OK() {
					r, err := newSeedResult(rep, o.bugs)
					mu.Lock()
					failures = append(failures, r)
					if resultErr == nil {
						resultErr = err
					}
					mu.Unlock()
					failed.Add(1)
				}
				done.Add(1)
			}
		})
	}
	line := func() string {
		return progressLine(done.Load(), uint64(len(seeds)), events.Load(), failed.Load(), time.Since(begin))
	}
	stop := make(chan struct{})
	var progressDone sync.WaitGroup
	progressDone.Go(func() {
		if o.quiet {
			<-stop
			return
		}
		t := time.NewTicker(prog.every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				prog.final(line())
				return
			case <-t.C:
				prog.update(line())
			}
		}
	})
	for _, s := range seeds {
		if o.failfast && failed.Load() > 0 {
			break
		}
		work <- s
	}
	close(work)
	wg.Wait()
	close(stop)
	progressDone.Wait()
	if resultErr != nil {
		fmt.Fprintln(stderr, "mobsim:", resultErr)
		return 2
	}

	n := int(done.Load())
	sum := summary{
		Start: o.start, Count: o.seeds, Shard: fmt.Sprintf("%d/%d", o.shard.i, o.shard.n),
		Seeds: n, Failed: len(failures), Passed: n - len(failures), Complete: n == len(seeds),
		Events: events.Load(), Seconds: time.Since(begin).Seconds(),
	}
	sum.setRates()
	sum.setFailures(failures)
	if o.json {
		if err := sum.writeJSON(stdout); err != nil {
			fmt.Fprintln(stderr, "mobsim:", err)
			return 2
		}
	} else {
		sum.writeText(stdout)
	}
	if len(failures) > 0 {
		return 1
	}
	return 0
}
