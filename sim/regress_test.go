package sim

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Every seed that ever failed is replayed on every run: a fixed bug must stay
// fixed. The list lives in testdata/regression-seeds.txt; a line "world N"
// says the seeds below it were found in generation N of Swarm's worlds
// (those above the first such line, in generation 1). Each seed runs in the
// world it was found in, where it found its bug, and in every later one.
func TestRegressionSeeds(t *testing.T) {
	f, err := os.Open("testdata/regression-seeds.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n, world := 0, 1
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if fields[0] == "world" {
			if len(fields) < 2 {
				t.Fatalf("%q: want world N", line)
			}
			w, err := strconv.Atoi(fields[1])
			if err != nil || w < 1 || w > SwarmWorlds {
				t.Fatalf("%q: want world 1..%d", line, SwarmWorlds)
			}
			world = w
			continue
		}
		seed, err := strconv.ParseUint(fields[0], 0, 64)
		if err != nil {
			t.Fatalf("bad seed %q: %v", fields[0], err)
		}
		n++
		for w := world; w <= SwarmWorlds; w++ {
			if rep := Run(seed, SwarmOf(seed, w), Options{}); !rep.OK() {
				t.Errorf("regression seed %d in world %d: %v\n  world: %s\n  replay: %s", seed, w, rep.Violation, rep.World, replayIn(seed, w))
			}
		}
	}
	if n == 0 {
		t.Fatal("no regression seeds")
	}
}

// replayIn says how to replay seed in generation world of Swarm's worlds.
func replayIn(seed uint64, world int) string {
	if world == SwarmWorlds {
		return ReplayCommand(seed)
	}
	return fmt.Sprintf("sim.Run(%d, sim.SwarmOf(%d, %d), sim.Options{Trace: ...})", seed, seed, world)
}
