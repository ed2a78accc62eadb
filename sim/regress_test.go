package sim

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Every seed that ever failed is replayed on every run: a fixed bug must stay
// fixed. The list lives in testdata/regression-seeds.txt.
func TestRegressionSeeds(t *testing.T) {
	f, err := os.Open("testdata/regression-seeds.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		field := strings.Fields(line)[0]
		seed, err := strconv.ParseUint(field, 0, 64)
		if err != nil {
			t.Fatalf("bad seed %q: %v", field, err)
		}
		n++
		if rep := RunSeed(seed, Options{}); !rep.OK() {
			t.Errorf("regression seed %d: %v\n  world: %s\n  replay: %s", seed, rep.Violation, rep.World, ReplayCommand(seed))
		}
	}
	if n == 0 {
		t.Fatal("no regression seeds")
	}
}

// The same seed twice gives the same trace hash: determinism self-check.
func TestSameSeedSameHash(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		a, b := RunSeed(seed, Options{}), RunSeed(seed, Options{})
		if a.TraceHash != b.TraceHash || a.Events != b.Events {
			t.Fatalf("seed %d: hashes %x/%x, events %d/%d", seed, a.TraceHash, b.TraceHash, a.Events, b.Events)
		}
	}
}
