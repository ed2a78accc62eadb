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
// stay fixed. The list lives in testdata/regression-seeds.txt, each seed
// pinned to the world Swarm draws for it and the trace hash its run gives,
// so that a change to Swarm (the seed silently draws another world, and no
// longer tests what it found) or to the behaviour (it draws its world but
// runs another history) is reported, not passed over. After an intended
// change, re-pin with -update: the file is rewritten with the new pins,
// each seed keeping what it found as its comment.
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
		cfg := Swarm(l.seed)
		rep := Run(l.seed, cfg, Options{})
		world, trace := worldDigest(t, cfg), fmt.Sprintf("%016x", rep.TraceHash)
		if !rep.OK() {
			t.Errorf("regression seed %d (%s): %v\n  world: %s\n  replay: %s", l.seed, l.comment, rep.Violation, rep.World, replayAtRev(l.seed))
		}
		if *update {
			l.world, l.trace = world, trace
			continue
		}
		switch {
		case l.world == "" || l.trace == "":
			t.Errorf("regression seed %d is not pinned to a world and a trace hash: %s", l.seed, repin)
		case l.world != world:
			t.Errorf("regression seed %d draws another world than it was pinned to (world=%s, pinned %s): Swarm changed, so it no longer runs the world where it found %q.\n"+
				"  Keep Swarm's old draws for it, or, if losing that world is intended, re-pin: %s", l.seed, world, l.world, l.comment, repin)
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
// comment, or any other line, kept as it is.
type seedLine struct {
	raw          string
	isSeed       bool
	seed         uint64
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
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		raw := sc.Text()
		l := seedLine{raw: raw}
		fields := strings.Fields(raw)
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			lines = append(lines, l)
			continue
		}
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
// knob of the run, the kernel and the server).
func worldDigest(t *testing.T, cfg Config) string {
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("%016x", h.Sum64())
}

// pinRev is the checkout's revision, as git says ("+": with uncommitted
// changes; "unknown" outside a checkout).
func pinRev() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "rev unknown"
	}
	rev := "rev " + strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err != nil || len(st) > 0 {
		rev += "+"
	}
	return rev
}

// replayAtRev is the replay command for a failing regression seed, with
// the revision it failed on.
func replayAtRev(seed uint64) string {
	return ReplayCommand(seed) + "   # at " + pinRev()
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
