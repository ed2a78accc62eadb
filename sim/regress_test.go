package sim

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "re-pin the regression seeds (testdata/regression-seeds.txt) to the worlds and trace hashes they give now")

const regressionSeeds = "testdata/regression-seeds.txt"

// repin is the one command that re-pins every regression seed.
const repin = "go test ./sim -run TestRegressionSeeds -update"

// Every seed that ever failed is replayed on every run: a fixed bug must
// stay fixed. The list lives in testdata/regression-seeds.txt; a line
// "world N" says the seeds below it were found in generation N of Swarm's
// worlds (those above the first such line, in generation 1). Each seed runs
// in the world it was found in, where it found its bug, and in every later
// one. It is pinned to the world it draws in its own generation and the
// trace hash its run there gives, so that a change to Swarm (the seed
// silently draws another world, and no longer tests what it found) or to
// the behaviour (it draws its world but runs another history) is
// reported, not passed over. After an intended change, re-pin with
// -update: the file is rewritten with the new pins, each seed keeping what
// it found as its comment.
func TestRegressionSeeds(t *testing.T) {
	lines, err := readSeedLines(regressionSeeds)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range lines {
		l := &lines[i]
		if !l.isSeed {
			continue
		}
		n++
		for w := l.found + 1; w <= SwarmWorlds; w++ {
			if rep := Run(l.seed, SwarmOf(l.seed, w), Options{}); !rep.OK() {
				t.Errorf("regression seed %d in world %d: %v\n  world: %s\n  replay: %s", l.seed, w, rep.Violation, rep.World, replayIn(l.seed, w))
			}
		}
		cfg := SwarmOf(l.seed, l.found)
		rep := Run(l.seed, cfg, Options{})
		world, trace := worldDigest(t, cfg), fmt.Sprintf("%016x", rep.TraceHash)
		if !rep.OK() {
			t.Errorf("regression seed %d in world %d (%s): %v\n  world: %s\n  replay: %s", l.seed, l.found, l.comment, rep.Violation, rep.World, replayIn(l.seed, l.found))
		}
		if *update {
			l.world, l.trace = world, trace
			continue
		}
		switch {
		case l.world == "" || l.trace == "":
			t.Errorf("regression seed %d is not pinned to a world and a trace hash: %s", l.seed, repin)
		case l.world != world:
			t.Errorf("regression seed %d draws another world in generation %d than it was pinned to (world=%s, pinned %s): Swarm changed, so it no longer runs the world where it found %q.\n"+
				"  Keep generation %d's draws as they were (add a generation for new draws: SwarmWorlds), or, if losing that world is intended, re-pin: %s", l.seed, l.found, world, l.world, l.comment, l.found, repin)
		case l.trace != trace:
			t.Errorf("regression seed %d draws its world but runs another history (trace=%s, pinned %s): the server, netfake or the run changed what it does.\n"+
				"  If the change is intended, re-pin: %s", l.seed, trace, l.trace, repin)
		}
	}
	if n == 0 {
		t.Fatal("no regression seeds")
	}
	if *update {
		if err := writeSeedLines(regressionSeeds, lines); err != nil {
			t.Fatal(err)
		}
		t.Logf("re-pinned %d seeds in %s", n, regressionSeeds)
	}
}

// seedLine is one line of the regression file: a seed with its pins and
// comment, or any other line ("world N" among them), kept as it is.
type seedLine struct {
	raw          string
	isSeed       bool
	seed         uint64
	found        int    // the generation of Swarm's worlds it was found in
	world, trace string // the pins, 16 hex digits each
	comment      string // what the seed found
}

func readSeedLines(path string) ([]seedLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []seedLine
	found := 1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		raw := sc.Text()
		l := seedLine{raw: raw}
		fields := strings.Fields(raw)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			lines = append(lines, l)
			continue
		}
		if fields[0] == "world" {
			if len(fields) < 2 {
				return nil, fmt.Errorf("%s: %q: want world N", path, raw)
			}
			w, err := strconv.Atoi(fields[1])
			if err != nil || w < 1 || w > SwarmWorlds {
				return nil, fmt.Errorf("%s: %q: want world 1..%d", path, raw, SwarmWorlds)
			}
			found = w
			lines = append(lines, l)
			continue
		}
		l.found = found
		if l.seed, err = strconv.ParseUint(fields[0], 0, 64); err != nil {
			return nil, fmt.Errorf("%s: bad seed %q: %v", path, fields[0], err)
		}
		l.isSeed = true
		rest := fields[1:]
		for len(rest) > 0 {
			k, v, ok := strings.Cut(rest[0], "=")
			if !ok || (k != "world" && k != "trace") {
				break
			}
			if k == "world" {
				l.world = v
			} else {
				l.trace = v
			}
			rest = rest[1:]
		}
		l.comment = strings.Join(rest, " ")
		lines = append(lines, l)
	}
	return lines, sc.Err()
}

func writeSeedLines(path string, lines []seedLine) error {
	var b strings.Builder
	for _, l := range lines {
		switch {
		case !l.isSeed && strings.HasPrefix(l.raw, "# Pinned at "):
			fmt.Fprintf(&b, "# Pinned at %s by %s.\n", pinRev(), repin)
		case !l.isSeed:
			b.WriteString(l.raw + "\n")
		default:
			fmt.Fprintf(&b, "%-5d world=%s trace=%s  %s\n", l.seed, l.world, l.trace, l.comment)
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// worldDigest is a short hash of the world cfg, from its JSON form (every
// knob of the run, the kernel and the server) without the knobs at zero: a
// knob added later, which an old world does not draw, leaves its digest
// as it was.
func worldDigest(t *testing.T, cfg Config) string {
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if b, err = json.Marshal(dropZeros(v)); err != nil { // map keys in order
		t.Fatal(err)
	}
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("%016x", h.Sum64())
}

// dropZeros removes the zero values from a decoded JSON object, at every
// depth, and says whether what is left is zero.
func dropZeros(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x = dropZeros(x); x == nil {
				delete(v, k)
			} else {
				v[k] = x
			}
		}
		if len(v) == 0 {
			return nil
		}
	case []any:
		if len(v) == 0 {
			return nil
		}
	case float64:
		if v == 0 {
			return nil
		}
	case bool:
		if !v {
			return nil
		}
	case string:
		if v == "" || v == "0s" {
			return nil
		}
	}
	return v
}

// pinRev is the checkout's revision, as git says ("+": with uncommitted
// changes other than to the seed file itself; "unknown" outside a
// checkout).
func pinRev() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "rev unknown"
	}
	rev := "rev " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", ":/", ":(exclude,top)sim/"+regressionSeeds).Output(); err != nil || len(st) > 0 {
		rev += "+"
	}
	return rev
}

// replayIn says how to replay seed in generation world of Swarm's worlds,
// with the revision it failed on.
func replayIn(seed uint64, world int) string {
	if world == SwarmWorlds {
		return ReplayCommand(seed) + "   # at " + pinRev()
	}
	return fmt.Sprintf("sim.Run(%d, sim.SwarmOf(%d, %d), sim.Options{Trace: ...})   # at %s", seed, seed, world, pinRev())
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
