package sim_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/bugs"
	"github.com/mobsim/mobsim/sim"
)

// catalogSeeds is how many seeds a knob may take before it counts as
// escaped (MOBSIM_BUG_SEEDS overrides).
func catalogSeeds() uint64 {
	if s := os.Getenv("MOBSIM_BUG_SEEDS"); s != "" {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 2000
}

type catalogRow struct {
	bug       bugs.Bug
	seed      uint64 // first seed that caught it, 0 if none
	violation *sim.Violation
	simTime   time.Duration
	props     propResult
}

// TestBugCatalog puts back, one at a time, every event-loop bug in the
// catalog and shows the suite catches it: a seed sweep (at most 2,000 seeds)
// and the rapid properties, each run against the buggy server. It fails if
// any knob escapes both, and if the sweep with no knob finds anything (a
// false alarm would make every catch meaningless). Each catch names the
// invariant it broke and replays from its seed. It runs in the catalog
// build only (make bugs).
func TestBugCatalog(t *testing.T) {
	if !sim.BugsBuilt() {
		t.Skip("needs the catalog build: make bugs (" + bugs.Command + " test ./sim -run TestBugCatalog -v)")
	}
	n := catalogSeeds()
	begin := time.Now()
	for seed := uint64(1); seed <= n; seed++ {
		if rep := sim.RunSeed(seed, sim.Options{}); !rep.OK() {
			t.Fatalf("false alarm: seed %d fails with no bug switched on: %v\n  replay: %s", seed, rep.Violation, sim.ReplayCommand(seed))
		}
	}
	t.Logf("no knob: %d seeds pass in %v", n, time.Since(begin).Round(time.Millisecond))

	props := newPropRunner(t)
	var rows []catalogRow
	for _, b := range bugs.Catalog() {
		row := catalogRow{bug: b}
		start := time.Now()
		for seed := uint64(1); seed <= n; seed++ {
			rep := sim.RunSeed(seed, sim.Options{Bugs: []string{b.Name}})
			if rep.OK() {
				continue
			}
			row.seed, row.violation = seed, rep.Violation
			again := sim.RunSeed(seed, sim.Options{Bugs: []string{b.Name}})
			if again.OK() || again.TraceHash != rep.TraceHash || again.Violation.Invariant != rep.Violation.Invariant {
				t.Errorf("%s: seed %d does not replay: %v then %v", b.Name, seed, rep.Violation, again.Violation)
			}
			break
		}
		row.simTime = time.Since(start)
		row.props = props.run(b.Name)
		if row.seed == 0 && !row.props.caught {
			t.Errorf("%s escaped: no seed in 1..%d and no property caught it", b.Name, n)
		}
		rows = append(rows, row)
	}
	table := catalogTable(rows)
	t.Log("\n" + table)
	if path := os.Getenv("MOBSIM_CATALOG_OUT"); path != "" {
		if err := os.WriteFile(path, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func catalogTable(rows []catalogRow) string {
	var b strings.Builder
	b.WriteString("| bug | caught by | seeds to first catch | invariant (sim) | shrunk actions (properties) | sim time | properties time |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		by := []string{}
		if r.seed > 0 {
			by = append(by, "sim")
		}
		if r.props.caught {
			by = append(by, "properties")
		}
		caughtBy := strings.Join(by, " + ")
		if caughtBy == "" {
			caughtBy = "ESCAPED"
		}
		seeds, inv := "—", "—"
		if r.seed > 0 {
			seeds, inv = strconv.FormatUint(r.seed, 10), r.violation.Invariant
		}
		shrunk := "—"
		if r.props.caught {
			shrunk = fmt.Sprintf("%d (%s)", r.props.actions, r.props.test)
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %v | %v |\n", r.bug.Name, caughtBy, seeds, inv, shrunk,
			r.simTime.Round(10*time.Microsecond), r.props.elapsed.Round(time.Millisecond))
	}
	return b.String()
}
