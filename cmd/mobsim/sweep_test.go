package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/sim"
)

// fakeFailures are made-up failures: seed → invariant and the step count
// of the failing run. A normal build has no failing seed to test with.
var fakeFailures = map[uint64]struct {
	inv   string
	steps int
}{
	3: {sim.InvDelivery, 50}, 5: {sim.InvLiveness, 20}, 9: {sim.InvDelivery, 30},
	12: {sim.InvDelivery, 30}, 40: {sim.InvMembership, 7},
}

func fakeRun(seed uint64) sim.Report {
	rep := sim.Report{Seed: seed, World: "fake world", Steps: 100, Events: 10, TraceHash: seed * 0x9e3779b97f4a7c15}
	if f, ok := fakeFailures[seed]; ok {
		rep.Steps = f.steps
		rep.Violation = &sim.Violation{Invariant: f.inv, Step: f.steps, Detail: "made up"}
	}
	return rep
}

func sweepOpts(args ...string) options {
	o, err := parseFlags(args, new(bytes.Buffer))
	if err != nil {
		panic(err)
	}
	return o
}

// fakeSweep sweeps made-up failures and decodes the JSON summary.
func fakeSweep(t *testing.T, args ...string) (summary, int, []byte) {
	t.Helper()
	var out, errb bytes.Buffer
	code := sweepWith(sweepOpts(append(args, "-json", "-quiet")...), fakeRun, progressWriter{w: &errb, every: time.Hour}, &out, &errb)
	var sum summary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("%q: %v\n%s%s", args, err, out.Bytes(), errb.Bytes())
	}
	return sum, code, out.Bytes()
}

// Goal: a sweep's failures come grouped by invariant, each group naming its
// shortest failing seed (fewest steps, then lowest seed) with the command
// that replays it, and every failure carries its replay command. Method:
// sweep made-up failures and read the JSON and the text summaries.
func TestSweepGroupsFailuresByInvariant(t *testing.T) {
	sum, code, _ := fakeSweep(t, "-seeds", "100")
	if code != 1 || sum.Failed != 5 || sum.Passed != 95 || !sum.Complete {
		t.Fatalf("exit %d, %+v", code, sum)
	}
	want := []invariantGroup{
		{Invariant: sim.InvDelivery, Failed: 3, Seeds: []uint64{3, 9, 12}, ShortestSeed: 9, ShortestSteps: 30, Replay: sim.ReplayCommand(9)},
		{Invariant: sim.InvLiveness, Failed: 1, Seeds: []uint64{5}, ShortestSeed: 5, ShortestSteps: 20, Replay: sim.ReplayCommand(5)},
		{Invariant: sim.InvMembership, Failed: 1, Seeds: []uint64{40}, ShortestSeed: 40, ShortestSteps: 7, Replay: sim.ReplayCommand(40)},
	}
	if fmt.Sprint(sum.Invariants) != fmt.Sprint(want) {
		t.Errorf("invariants\n got %+v\nwant %+v", sum.Invariants, want)
	}
	for _, f := range sum.Failures {
		if f.Replay != sim.ReplayCommand(f.Seed) || f.OK {
			t.Errorf("failure %d: replay %q, ok %v", f.Seed, f.Replay, f.OK)
		}
	}

	var text, errb bytes.Buffer
	sweepWith(sweepOpts("-seeds", "100", "-quiet"), fakeRun, progressWriter{w: &errb, every: time.Hour}, &text, &errb)
	if !strings.Contains(text.String(), "delivery: 3 seeds; shortest: seed 9 (30 steps): "+sim.ReplayCommand(9)+"\n") {
		t.Errorf("text summary lacks the delivery group:\n%s", text.String())
	}
}

// Goal: the JSON is safe for jq and JavaScript: the trace hash a hex
// string, failures an empty list and not null, the world an object.
// Method: sweep and replay real seeds (which pass) with -json.
func TestJSONShape(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-seeds", "3", "-json", "-quiet"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !bytes.Contains(out.Bytes(), []byte(`"failures": []`)) || !bytes.Contains(out.Bytes(), []byte(`"invariants": []`)) {
		t.Errorf("a clean sweep's failures and invariants are not empty lists:\n%s", out.Bytes())
	}

	out.Reset()
	if code := run([]string{"-seed", "7", "-json"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var r struct {
		TraceHash any `json:"trace_hash"`
		World     struct {
			Server  map[string]any
			Clients []map[string]any
		}
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	rep := sim.RunSeed(7, sim.Options{})
	if want := fmt.Sprintf("%016x", rep.TraceHash); r.TraceHash != want {
		t.Errorf("trace_hash %#v, want the string %q", r.TraceHash, want)
	}
	if r.World.Server["framing"] != sim.Swarm(7).Server.Framing.String() || len(r.World.Clients) != len(sim.Swarm(7).Clients) {
		t.Errorf("world is not the drawn config as an object:\n%s", out.Bytes())
	}
}

// Goal: -failfast stops a sweep soon after the first failure, and says the
// sweep is incomplete. Method: made-up failures, the first at seed 3 of
// 5000; compare with the same sweep without -failfast.
func TestFailfast(t *testing.T) {
	full, code, _ := fakeSweep(t, "-seeds", "5000", "-parallel", "2")
	if code != 1 || full.Seeds != 5000 || !full.Complete {
		t.Fatalf("without -failfast: exit %d, %d seeds, complete %v", code, full.Seeds, full.Complete)
	}
	ff, code, _ := fakeSweep(t, "-seeds", "5000", "-parallel", "2", "-failfast")
	if code != 1 || ff.Complete || ff.Seeds >= 1000 || ff.Failed < 1 || ff.Failures[0].Seed != 3 {
		t.Fatalf("-failfast: exit %d, %d seeds run, complete %v, failures %d", code, ff.Seeds, ff.Complete, ff.Failed)
	}
	var text, errb bytes.Buffer
	sweepWith(sweepOpts("-seeds", "5000", "-failfast", "-quiet"), fakeRun, progressWriter{w: &errb, every: time.Hour}, &text, &errb)
	if !strings.Contains(text.String(), "stopped early (-failfast)") {
		t.Errorf("text summary does not say it stopped early:\n%s", text.String())
	}
	var e bytes.Buffer
	if code := run([]string{"-seed", "1", "-failfast"}, &e, &e); code != 2 {
		t.Errorf("-failfast with -seed: exit %d, want 2", code)
	}
}

// Goal: the progress line redraws itself with \r only on a terminal, and
// shows an ETA. Method: sweep into a buffer (not a terminal) and into a
// writer marked as one; compute ETAs from fixed figures.
func TestProgressLine(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"-seeds", "20"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if bytes.ContainsRune(errb.Bytes(), '\r') || !strings.Contains(errb.String(), "20/20 seeds") {
		t.Errorf("progress into a pipe or file: %q", errb.String())
	}
	if p := newProgressWriter(&errb); p.tty || p.every != progressLineEvery {
		t.Errorf("progress into a buffer: %+v", p)
	}

	slow := func(seed uint64) sim.Report { time.Sleep(time.Millisecond); return fakeRun(seed) }
	for _, tty := range []bool{false, true} {
		errb.Reset()
		prog := progressWriter{w: &errb, tty: tty, every: 5 * time.Millisecond}
		sweepWith(sweepOpts("-seeds", "300", "-parallel", "1"), slow, prog, &out, &errb)
		lines, redraws := bytes.Count(errb.Bytes(), []byte("\n")), bytes.Count(errb.Bytes(), []byte("\r"))
		switch {
		case !tty && (redraws > 0 || lines < 3):
			t.Errorf("not a terminal: %d lines, %d carriage returns: %q", lines, redraws, errb.String())
		case tty && (lines != 1 || redraws < 3 || !strings.HasSuffix(errb.String(), "\x1b[K\n")):
			t.Errorf("terminal: %d lines, %d redraws: %q", lines, redraws, errb.String())
		}
	}

	for _, c := range []struct {
		done, total uint64
		el          time.Duration
		eta         string
	}{
		{25, 100, 10 * time.Second, "ETA 30s"}, {0, 100, time.Second, "ETA ?"},
		{100, 100, 5 * time.Second, "ETA 0s"}, {1, 7201, time.Second, "ETA 2h0m0s"},
	} {
		if l := progressLine(c.done, c.total, 0, 0, c.el); !strings.HasSuffix(l, c.eta) {
			t.Errorf("%d/%d after %v: %q, want %q", c.done, c.total, c.el, l, c.eta)
		}
	}
	if isTerminal(&out) {
		t.Error("a buffer taken for a terminal")
	}
}

// sweepSeeds lists the failing seeds of a summary.
func failingSeeds(s summary) []uint64 {
	var seeds []uint64
	for _, f := range s.Failures {
		seeds = append(seeds, f.Seed)
	}
	return seeds
}

// Goal: the summary's failures are unique and in seed order whatever order
// the workers finish in. Method: give setFailures a shuffled list with a
// repeat.
func TestSetFailuresOrdersAndDedups(t *testing.T) {
	var s summary
	s.setFailures([]seedResult{{Seed: 9}, {Seed: 2}, {Seed: 9}, {Seed: 4}})
	if got := failingSeeds(s); !slices.Equal(got, []uint64{2, 4, 9}) {
		t.Errorf("failures %v", got)
	}
}
