package sim

import (
	"os"
	"strconv"
	"testing"
)

// seedsFromEnv returns MOBSIM_SEEDS or def.
func seedsFromEnv(def int) int {
	if s := os.Getenv("MOBSIM_SEEDS"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return def
}

// The quick sweep: every seed draws its own world (swarm testing) and must
// pass every invariant. MOBSIM_SEEDS widens it.
func TestSweep(t *testing.T) {
	n := seedsFromEnv(500)
	if testing.Short() {
		n = 50
	}
	fails := 0
	for seed := uint64(1); seed <= uint64(n); seed++ {
		rep := RunSeed(seed, Options{})
		if !rep.OK() {
			fails++
			t.Errorf("seed %d: %v\n  world: %s\n  replay: %s", seed, rep.Violation, rep.World, ReplayCommand(seed))
			if fails >= 5 {
				t.Fatal("stopping after 5 failures")
			}
		}
	}
}
