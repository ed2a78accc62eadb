package sim

import (
	"testing"
)

// BenchmarkStandardSeed measures one simulated seed of the standard scenario
// (8 chatty clients, 200 frames each, no faults) on one core: seeds/s and
// simulated kernel events/s.
func BenchmarkStandardSeed(b *testing.B) {
	cfg := Standard()
	var events uint64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rep := Run(uint64(i+1), cfg, Options{})
		if !rep.OK() {
			b.Fatalf("seed %d: %v", i+1, rep.Violation)
		}
		if rep.Frames != 1600 {
			b.Fatalf("seed %d: %d frames, want 1600", i+1, rep.Frames)
		}
		events += rep.Events
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/s, "seeds/s")
	b.ReportMetric(float64(events)/s, "events/s")
}

// BenchmarkSwarmSeed measures the swarm mix a sweep runs.
func BenchmarkSwarmSeed(b *testing.B) {
	var events uint64
	for i := 0; b.Loop(); i++ {
		rep := RunSeed(uint64(i+1), Options{})
		events += rep.Events
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/s, "seeds/s")
	b.ReportMetric(float64(events)/s, "events/s")
}
