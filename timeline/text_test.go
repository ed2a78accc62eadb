package timeline_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/mobsim/mobsim/sim"
	"github.com/mobsim/mobsim/timeline"
)

func textOf(t *testing.T, seed uint64, cfg sim.Config, f timeline.Filter) (sim.Report, []string) {
	t.Helper()
	var buf bytes.Buffer
	tx := timeline.NewText(&buf, f)
	rep := sim.Run(seed, cfg, sim.Options{Trace: tx.Add})
	if tx.Err() != nil {
		t.Fatal(tx.Err())
	}
	return rep, strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
}

// The text trace starts with its column header; connections are named as
// the failures name them.
func TestTextHeaderAndNames(t *testing.T) {
	_, lines := textOf(t, 7, sim.Swarm(7), timeline.Filter{})
	if h := strings.Fields(lines[0]); strings.Join(h, " ") != "step time track event details" {
		t.Fatalf("header %q", lines[0])
	}
	named := false
	for _, l := range lines[1:] {
		named = named || connTrack.MatchString(strings.TrimSpace(trackColumn(l)))
	}
	if !named {
		t.Fatal("no line names its connection as \"conn N (client I, kind)\"")
	}
}

// trackColumn cuts the track column out of a trace line.
func trackColumn(line string) string {
	if len(line) < 21+32 {
		return ""
	}
	return line[21 : 21+32]
}

// The violation is printed in the trace where it is found, with its facts
// under it, and the filters keep it.
func TestTextViolationInPlace(t *testing.T) {
	for seed := uint64(1); seed < 50; seed++ {
		cfg := sim.Swarm(seed)
		cfg.DrainSteps = 0
		rep, lines := textOf(t, seed, cfg, timeline.Filter{})
		if rep.OK() {
			continue
		}
		at := -1
		for i, l := range lines {
			if strings.Contains(l, "!!! "+rep.Violation.Error()) {
				at = i
			}
		}
		if at < 0 {
			t.Fatalf("seed %d: no violation line for %v", seed, rep.Violation)
		}
		if f := strings.Fields(lines[at]); f[0] != strconv.Itoa(rep.Violation.Step) {
			t.Fatalf("violation line %q is not at step %d", lines[at], rep.Violation.Step)
		}
		for i, fact := range rep.Violation.Facts {
			if at+1+i >= len(lines) || strings.TrimSpace(lines[at+1+i]) != fact.String() {
				t.Fatalf("fact %d %q not under the violation:\n%s", i, fact, strings.Join(lines[at:], "\n"))
			}
		}
		_, only := textOf(t, seed, cfg, timeline.Filter{Steps: true, From: 0, To: 0})
		if !strings.Contains(strings.Join(only, "\n"), "!!! ") {
			t.Fatal("a step filter dropped the violation")
		}
		return
	}
	t.Fatal("no seed failed without a drain")
}

// -conn N shows only that connection; -steps A:B only those steps.
func TestTextFilters(t *testing.T) {
	_, all := textOf(t, 7, sim.Swarm(7), timeline.Filter{})
	_, one := textOf(t, 7, sim.Swarm(7), timeline.Filter{Conn: 2})
	if len(one) < 10 || len(one) >= len(all) {
		t.Fatalf("conn 2: %d of %d lines", len(one), len(all))
	}
	for _, l := range one[1:] {
		if !strings.HasPrefix(strings.TrimSpace(trackColumn(l)), "conn 2 ") {
			t.Fatalf("-conn 2 shows %q", l)
		}
	}
	_, some := textOf(t, 7, sim.Swarm(7), timeline.Filter{Steps: true, From: 10, To: 20})
	if len(some) < 10 {
		t.Fatalf("steps 10:20: %d lines", len(some))
	}
	for _, l := range some[1:] {
		if n, err := strconv.Atoi(strings.Fields(l)[0]); err != nil || n < 10 || n > 20 {
			t.Fatalf("-steps 10:20 shows %q", l)
		}
	}
}

func TestParseSteps(t *testing.T) {
	for in, want := range map[string][2]int{"3:9": {3, 9}, "4:": {4, int(^uint(0) >> 1)}, ":7": {0, 7}, "5:5": {5, 5}} {
		a, b, err := timeline.ParseSteps(in)
		if err != nil || a != want[0] || b != want[1] {
			t.Errorf("ParseSteps(%q) = %d, %d, %v", in, a, b, err)
		}
	}
	for _, bad := range []string{"", "3", "a:b", "9:3", "-1:4", "1:x"} {
		if _, _, err := timeline.ParseSteps(bad); err == nil {
			t.Errorf("ParseSteps(%q) accepted", bad)
		}
	}
}
