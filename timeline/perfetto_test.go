package timeline_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mobsim/mobsim/internal/tracecheck"
	"github.com/mobsim/mobsim/oracle"
	"github.com/mobsim/mobsim/sim"
	"github.com/mobsim/mobsim/timeline"
)

// perfettoOf runs a world with the Perfetto writer on, and checks the file.
func perfettoOf(t *testing.T, seed uint64, cfg sim.Config) (sim.Report, *tracecheck.Trace, []byte) {
	t.Helper()
	p := timeline.NewPerfetto("test")
	rep := sim.Run(seed, cfg, sim.Options{Trace: p.Add})
	var buf bytes.Buffer
	if _, err := p.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	c, err := tracecheck.Validate(buf.Bytes())
	if err != nil {
		t.Fatalf("seed %d: the trace breaks the format: %v", seed, err)
	}
	return rep, c, buf.Bytes()
}

// validated writes p's file and checks it.
func validated(t *testing.T, p *timeline.Perfetto) *tracecheck.Trace {
	t.Helper()
	var buf bytes.Buffer
	if _, err := p.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	c, err := tracecheck.Validate(buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.Bytes())
	}
	return c
}

var connTrack = regexp.MustCompile(`^conn \d+ \(client \d+, [a-z-]+\)$`)

// Seeds' traces follow the format and hold what the README promises:
// named tracks, a slice per tick, calls as slices with their facts as
// args, flows from reads to deliveries, counters.
func TestPerfettoTracks(t *testing.T) {
	flows, queued := 0, 0
	for seed := uint64(1); seed <= 12; seed++ {
		rep, c, _ := perfettoOf(t, seed, sim.Swarm(seed))
		if !rep.OK() {
			t.Fatalf("seed %d fails: %v", seed, rep.Violation)
		}
		names := map[string]bool{}
		conns := 0
		for _, n := range c.Threads {
			names[n] = true
			if connTrack.MatchString(n) {
				conns++
			}
		}
		for _, want := range []string{"server", "kernel", "sim"} {
			if !names[want] {
				t.Errorf("seed %d: no %q track (tracks %v)", seed, want, names)
			}
		}
		if conns == 0 {
			t.Errorf("seed %d: no connection track named like \"conn 3 (client 2, chatty)\": %v", seed, names)
		}
		ticks := 0
		for k, ss := range c.Slices {
			for _, s := range ss {
				if s.Name == "tick" {
					if c.Threads[k] != "server" {
						t.Fatalf("seed %d: a tick on track %q", seed, c.Threads[k])
					}
					ticks++
				}
			}
		}
		if ticks < rep.Steps/2 {
			t.Errorf("seed %d: %d tick slices for %d steps", seed, ticks, rep.Steps)
		}
		for _, name := range []string{"members", "open conns", "broadcast log bytes"} {
			if c.Counters[name] < ticks {
				t.Errorf("seed %d: counter %q has %d samples for %d ticks", seed, name, c.Counters[name], ticks)
			}
		}
		for name := range c.Counters {
			if strings.HasPrefix(name, "queued · conn ") {
				queued++
			}
		}
		checkCallArgs(t, seed, c)
		if rep.Frames > 0 && c.Flows == 0 {
			t.Errorf("seed %d: %d frames and no flow", seed, rep.Frames)
		}
		flows += c.Flows
	}
	if flows == 0 || queued == 0 {
		t.Fatalf("%d flows, %d queued-bytes counters over 12 seeds", flows, queued)
	}
}

// checkCallArgs: calls carry their facts structured, not as a line of text.
func checkCallArgs(t *testing.T, seed uint64, c *tracecheck.Trace) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range c.Events {
		if e.Ph != "X" {
			continue
		}
		if strings.Contains(e.Name, " fd=") || strings.Contains(e.Name, "=") {
			t.Fatalf("seed %d: event name %q is a formatted line", seed, e.Name)
		}
		need := map[string][]string{
			"read": {"fd", "bytes", "step"}, "writev": {"fd", "bytes"}, "write": {"fd", "bytes"},
			"ready": {"token", "ready"}, "register": {"fd", "token", "interest"}, "poll": {"events"},
		}[e.Name]
		for _, k := range need {
			if _, ok := e.Args[k]; !ok {
				t.Fatalf("seed %d: %s without %s: %v", seed, e.Name, k, e.Args)
			}
		}
		if len(need) > 0 {
			seen[e.Name] = true
		}
	}
	for _, want := range []string{"read", "ready", "register", "poll"} {
		if !seen[want] {
			t.Errorf("seed %d: no %s slice", seed, want)
		}
	}
}

// A world with no drain leaves its clients unserved: the liveness
// violation must be marked where it was found, not at 0.
func TestPerfettoViolationAtItsTime(t *testing.T) {
	var rep sim.Report
	var c *tracecheck.Trace
	for seed := uint64(1); seed < 50; seed++ {
		cfg := sim.Swarm(seed)
		cfg.DrainSteps = 0
		if rep, c, _ = perfettoOf(t, seed, cfg); !rep.OK() {
			break
		}
	}
	if rep.OK() {
		t.Fatal("no seed failed without a drain")
	}
	v := rep.Violation
	if len(c.Violations) != 1 {
		t.Fatalf("%d violation markers for %v", len(c.Violations), v)
	}
	m := c.Violations[0]
	if v.Time <= 0 || m.TsNs < int64(v.Time) || m.TsNs-int64(v.Time) >= int64(time.Microsecond) {
		t.Fatalf("marker at %dns, violation at %v", m.TsNs, v.Time)
	}
	var at int64
	if err := json.Unmarshal(m.Args["time_ns"], &at); err != nil || at != int64(v.Time) {
		t.Fatalf("marker's time_ns %s, violation at %d", m.Args["time_ns"], int64(v.Time))
	}
	if string(m.Args["invariant"]) != `"`+v.Invariant+`"` {
		t.Fatalf("marker's invariant %s, want %s", m.Args["invariant"], v.Invariant)
	}
}

// A violation found inside a tick is marked right after the call that
// caused it; the tick is closed even though the stream stops there.
func TestPerfettoViolationInsideATick(t *testing.T) {
	p := timeline.NewPerfetto("made up")
	at := 205860308 * time.Nanosecond
	for _, e := range []timeline.Event{
		{Op: timeline.OpLabel, Conn: 1, FD: timeline.NoFD, Text: "conn 1 (client 0, chatty)"},
		{Op: timeline.OpTickBegin, Time: at, Step: 81, FD: timeline.NoFD},
		{Op: timeline.OpReady, Time: at, Step: 81, Conn: 1, FD: 4, Token: 1 << 32, Ready: 1 | 4},
		{Op: timeline.OpClosed, Time: at, Step: 81, Conn: 1, FD: timeline.NoFD, Reason: "eof"},
		{Op: timeline.OpViolation, Time: at, Step: 81, Conn: 1, FD: timeline.NoFD, Violation: &oracle.Violation{
			Invariant: "membership", Step: 81, Time: at, Conn: 1, Detail: "made up",
			Facts: oracle.Facts{{Key: "unread_bytes", Value: 37}}}},
	} {
		p.Add(e)
	}
	c := validated(t, p)
	if len(c.Violations) != 1 || c.Violations[0].TsNs < int64(at) || c.Violations[0].TsNs > int64(at)+10 {
		t.Fatalf("markers %+v, violation at %d", c.Violations, at)
	}
	if !strings.Contains(string(c.Violations[0].Args["facts"]), `"unread_bytes":37`) {
		t.Fatalf("marker's facts %s", c.Violations[0].Args["facts"])
	}
}

// Flows: each frame gets an arrow from the read that completed it to each
// write that delivered its last byte, and none for bytes past a window.
func TestPerfettoFlows(t *testing.T) {
	p := timeline.NewPerfetto("made up")
	ev := func(op timeline.Op, conn uint64, n int64) timeline.Event {
		return timeline.Event{Op: op, Conn: conn, FD: 3 + int32(conn), N: n}
	}
	for _, e := range []timeline.Event{
		ev(timeline.OpJoined, 1, 0), ev(timeline.OpJoined, 2, 0),
		ev(timeline.OpRead, 1, 6), ev(timeline.OpFrame, 1, 3), ev(timeline.OpFrame, 1, 3),
		ev(timeline.OpWrite, 1, 6), // both frames at once
		ev(timeline.OpWrite, 2, 4), // the first, and part of the second
		ev(timeline.OpLeft, 2, 0),
		ev(timeline.OpRead, 2, 3), ev(timeline.OpFrame, 1, 3), // read after conn 2 left: not its
		ev(timeline.OpWrite, 2, 2+7), // the rest of the second, then an error frame
	} {
		p.Add(e)
	}
	c := validated(t, p)
	if c.Flows != 4 {
		t.Fatalf("%d flows, want 4 (2 frames to conn 1, 2 to conn 2)", c.Flows)
	}
}

// The validator refuses files that break the format's rules: each case is
// a rule a writer could get wrong.
func TestValidatorRefuses(t *testing.T) {
	meta := `{"name":"process_name","ph":"M","pid":1,"tid":1,"args":{"name":"p"}},{"name":"thread_name","ph":"M","pid":1,"tid":1,"args":{"name":"t"}}`
	for _, tc := range []struct{ name, events, says string }{
		{"not JSON events", `{"x":1}`, "no traceEvents"},
		{"unknown phase", `{"name":"a","ph":"Q","pid":1,"tid":1,"ts":0}`, "unknown phase"},
		{"no ts", `{"name":"a","ph":"X","pid":1,"tid":1,"dur":1}`, "no ts"},
		{"X without dur", `{"name":"a","ph":"X","pid":1,"tid":1,"ts":1}`, "without dur"},
		{"unnamed track", `{"name":"a","ph":"X","pid":1,"tid":2,"ts":1,"dur":1}`, "no thread_name"},
		{"E without B", `{"name":"a","ph":"E","pid":1,"tid":1,"ts":1}`, "no B open"},
		{"B never ended", `{"name":"a","ph":"B","pid":1,"tid":1,"ts":1}`, "never ended"},
		{"E out of order", `{"name":"a","ph":"B","pid":1,"tid":1,"ts":5},{"name":"a","ph":"E","pid":1,"tid":1,"ts":4}`, "before the track's last"},
		{"E closes another", `{"name":"a","ph":"B","pid":1,"tid":1,"ts":1},{"name":"b","ph":"B","pid":1,"tid":1,"ts":2},{"name":"a","ph":"E","pid":1,"tid":1,"ts":3}`, "closes B"},
		{"overlapping slices", `{"name":"a","ph":"X","pid":1,"tid":1,"ts":1,"dur":5},{"name":"b","ph":"X","pid":1,"tid":1,"ts":3,"dur":5}`, "without nesting"},
		{"unpaired flow", `{"name":"a","ph":"X","pid":1,"tid":1,"ts":1,"dur":1},{"name":"f","cat":"c","ph":"s","id":"1","pid":1,"tid":1,"ts":1}`, "not paired"},
		{"unbound flow", `{"name":"a","ph":"X","pid":1,"tid":1,"ts":1,"dur":1},{"name":"f","cat":"c","ph":"s","id":"1","pid":1,"tid":1,"ts":1},{"name":"f","cat":"c","ph":"f","bp":"e","id":"1","pid":1,"tid":1,"ts":9}`, "inside no slice"},
		{"flow without cat", `{"name":"f","ph":"s","id":"1","pid":1,"tid":1,"ts":1}`, "without cat"},
		{"counter not numeric", `{"name":"c","ph":"C","pid":1,"tid":1,"ts":1,"args":{"v":"3"}}`, "not a number"},
		{"counter back in time", `{"name":"c","ph":"C","pid":1,"tid":1,"ts":2,"args":{"v":3}},{"name":"c","ph":"C","pid":1,"tid":1,"ts":1,"args":{"v":4}}`, "back in time"},
		{"bad instant scope", `{"name":"i","ph":"i","s":"x","pid":1,"tid":1,"ts":1}`, "instant scope"},
	} {
		data := `{"traceEvents":[` + meta + "," + tc.events + `]}`
		if tc.name == "not JSON events" {
			data = tc.events
		}
		_, err := tracecheck.Validate([]byte(data))
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: got %v, want an error saying %q", tc.name, err, tc.says)
		}
	}
}
