package sim

import "testing"

// TestBatchWritesBothForms checks that the server's fan-out through the
// kernel's BatchWriter is the writes it would make one by one. The standard
// world (no faults, so no draw depends on the order of writes) is run in
// both forms: both must pass, the batched one must batch, and every counter
// but the batch counters must agree, byte for byte and write for write.
// Then a swarm sweep must draw both forms and pass in each.
func TestBatchWritesBothForms(t *testing.T) {
	cfg := Standard()
	one := Run(1, cfg, Options{})
	cfg.BatchWrites = true
	batched := Run(1, cfg, Options{})
	if !one.OK() || !batched.OK() {
		t.Fatalf("standard world: one by one %v, batched %v", one.Violation, batched.Violation)
	}
	if batched.Stats.WriteBatches == 0 || one.Stats.WriteBatches != 0 {
		t.Fatalf("batches: %d one by one, %d batched; want 0 and some", one.Stats.WriteBatches, batched.Stats.WriteBatches)
	}
	a, b := one.Stats, batched.Stats
	a.WriteBatches, a.BatchedWrites = b.WriteBatches, b.BatchedWrites
	if a != b {
		t.Fatalf("the forms differ:\none by one %+v\nbatched    %+v", one.Stats, batched.Stats)
	}
	t.Logf("standard world: %d writes, %d of them in %d batches (%.1f a batch)", b.WriteCalls, b.BatchedWrites, b.WriteBatches,
		float64(b.BatchedWrites)/float64(b.WriteBatches))

	n := seedsFromEnv(200)
	if testing.Short() {
		n = 40
	}
	var worlds [2]int
	batches := uint64(0)
	for seed := uint64(1); seed <= uint64(n); seed++ {
		rep := RunSeed(seed, Options{})
		if !rep.OK() {
			t.Fatalf("seed %d: %v\n  world: %s\n  replay: %s", seed, rep.Violation, rep.World, ReplayCommand(seed))
		}
		if Swarm(seed).BatchWrites {
			worlds[1]++
			batches += rep.Stats.WriteBatches
		} else {
			worlds[0]++
			if rep.Stats.WriteBatches != 0 {
				t.Fatalf("seed %d: %d batches in a world that offers none", seed, rep.Stats.WriteBatches)
			}
		}
	}
	if worlds[0] == 0 || worlds[1] == 0 || batches == 0 {
		t.Fatalf("%d seeds: %d worlds one by one, %d batched with %d batches; want both forms exercised", n, worlds[0], worlds[1], batches)
	}
	t.Logf("%d seeds: %d worlds wrote one by one, %d in %d batches", n, worlds[0], worlds[1], batches)
}
