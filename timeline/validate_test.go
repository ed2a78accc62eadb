package timeline_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// This file checks a file against the rules of the Chrome trace-event
// format (the "Trace Event Format" document, and what Perfetto's JSON
// importer needs to show it as meant), not only that it is JSON: the
// fields each phase requires, timestamps in order where the format needs
// them, B/E pairs and X slices nested on each track, flow starts and ends
// paired and bound to slices, metadata naming every track, counters with
// numeric values.

type rawEvent struct {
	Name string                     `json:"name"`
	Cat  *string                    `json:"cat"`
	Ph   string                     `json:"ph"`
	Ts   *json.Number               `json:"ts"`
	Dur  *json.Number               `json:"dur"`
	Pid  *json.Number               `json:"pid"`
	Tid  *json.Number               `json:"tid"`
	S    string                     `json:"s"`
	ID   json.RawMessage            `json:"id"`
	Bp   string                     `json:"bp"`
	Args map[string]json.RawMessage `json:"args"`
}

// event is a checked record: times in nanoseconds.
type event struct {
	rawEvent
	index    int
	ts, dur  int64
	pid, tid int64
}

type trackKey struct{ pid, tid int64 }

// slice is a span on a track: an X, or a B with its E.
type slice struct {
	name       string
	start, end int64
}

// checked is what a valid file holds, for the tests' own assertions.
type checked struct {
	events     []event
	threads    map[trackKey]string
	process    map[int64]string
	slices     map[trackKey][]slice
	flows      int
	counters   map[string]int // name: samples
	violations []event        // global instants named VIOLATION...
}

func nanos(n *json.Number) (int64, error) {
	f, err := n.Float64()
	if err != nil {
		return 0, err
	}
	return int64(math.Round(f * 1000)), nil
}

func integer(n *json.Number) (int64, bool) {
	if n == nil {
		return 0, false
	}
	v, err := n.Int64()
	return v, err == nil
}

// validate checks data against the format's rules and returns what it holds.
func validate(data []byte) (*checked, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top struct {
		TraceEvents     []rawEvent     `json:"traceEvents"`
		DisplayTimeUnit string         `json:"displayTimeUnit"`
		OtherData       map[string]any `json:"otherData"`
	}
	if err := dec.Decode(&top); err != nil {
		return nil, fmt.Errorf("not a trace object: %w", err)
	}
	if top.TraceEvents == nil {
		return nil, fmt.Errorf("no traceEvents array")
	}
	if u := top.DisplayTimeUnit; u != "" && u != "ms" && u != "ns" {
		return nil, fmt.Errorf("displayTimeUnit %q: want ms or ns", u)
	}
	c := &checked{
		threads: map[trackKey]string{}, process: map[int64]string{},
		slices: map[trackKey][]slice{}, counters: map[string]int{},
	}
	for i, r := range top.TraceEvents {
		e, err := checkFields(i, r)
		if err != nil {
			return nil, err
		}
		c.events = append(c.events, e)
	}
	if err := c.checkMetadata(); err != nil {
		return nil, err
	}
	if err := c.checkTracks(); err != nil {
		return nil, err
	}
	if err := c.checkFlows(); err != nil {
		return nil, err
	}
	if err := c.checkCounters(); err != nil {
		return nil, err
	}
	return c, nil
}

// checkFields: the fields every event needs, and those its phase needs.
func checkFields(i int, r rawEvent) (event, error) {
	e := event{rawEvent: r, index: i}
	bad := func(format string, args ...any) (event, error) {
		return e, fmt.Errorf("event %d (%s %q): %s", i, r.Ph, r.Name, fmt.Sprintf(format, args...))
	}
	if !strings.Contains("BEXiICMstf", r.Ph) || len(r.Ph) != 1 {
		return bad("unknown phase")
	}
	var ok bool
	if e.pid, ok = integer(r.Pid); !ok {
		return bad("pid missing or not an integer")
	}
	if e.tid, ok = integer(r.Tid); !ok {
		return bad("tid missing or not an integer")
	}
	if r.Name == "" && r.Ph != "E" {
		return bad("no name")
	}
	if r.Ts == nil {
		if r.Ph != "M" {
			return bad("no ts")
		}
	} else {
		ts, err := nanos(r.Ts)
		if err != nil || ts < 0 {
			return bad("ts %v is not a time", r.Ts)
		}
		e.ts = ts
	}
	switch r.Ph {
	case "X":
		if r.Dur == nil {
			return bad("a complete event without dur")
		}
		d, err := nanos(r.Dur)
		if err != nil || d < 0 {
			return bad("dur %v is not a duration", r.Dur)
		}
		e.dur = d
	case "i", "I":
		if r.S != "" && r.S != "g" && r.S != "p" && r.S != "t" {
			return bad("instant scope %q: want g, p or t", r.S)
		}
	case "C":
		if len(r.Args) == 0 {
			return bad("a counter without values")
		}
		for k, v := range r.Args {
			var n float64
			if err := json.Unmarshal(v, &n); err != nil {
				return bad("counter value %s=%s is not a number", k, v)
			}
		}
	case "M":
		switch r.Name {
		case "process_name", "thread_name":
			var s string
			if err := json.Unmarshal(r.Args["name"], &s); err != nil || s == "" {
				return bad("metadata without a name")
			}
		case "process_sort_index", "thread_sort_index":
			var n float64
			if err := json.Unmarshal(r.Args["sort_index"], &n); err != nil {
				return bad("sort index is not a number")
			}
		default:
			return bad("unknown metadata")
		}
	case "s", "t", "f":
		if len(r.ID) == 0 {
			return bad("a flow event without id")
		}
		if r.Cat == nil {
			return bad("a flow event without cat (flows pair by cat and id)")
		}
		if r.Bp != "" && r.Bp != "e" {
			return bad("bp %q: want e", r.Bp)
		}
	}
	return e, nil
}

// checkMetadata: the process and every track that holds events are named.
func (c *checked) checkMetadata() error {
	for _, e := range c.events {
		if e.Ph != "M" {
			continue
		}
		var name string
		_ = json.Unmarshal(e.Args["name"], &name)
		switch e.Name {
		case "process_name":
			c.process[e.pid] = name
		case "thread_name":
			c.threads[trackKey{e.pid, e.tid}] = name
		}
	}
	for _, e := range c.events {
		if e.Ph == "M" || e.Ph == "C" {
			continue
		}
		if c.process[e.pid] == "" {
			return fmt.Errorf("event %d: process %d has no process_name", e.index, e.pid)
		}
		if c.threads[trackKey{e.pid, e.tid}] == "" {
			return fmt.Errorf("event %d (%q): track %d has no thread_name", e.index, e.Name, e.tid)
		}
	}
	return nil
}

// checkTracks: on each track, B/E come in time order and pair up like
// brackets, and every slice (B/E or X) nests: two slices of a track are
// disjoint or one holds the other.
func (c *checked) checkTracks() error {
	type open struct {
		name string
		ts   int64
	}
	stacks := map[trackKey][]open{}
	lastBE := map[trackKey]int64{}
	for _, e := range c.events {
		k := trackKey{e.pid, e.tid}
		switch e.Ph {
		case "B", "E":
			if last, ok := lastBE[k]; ok && e.ts < last {
				return fmt.Errorf("event %d (%s %q): ts %d before the track's last B/E at %d", e.index, e.Ph, e.Name, e.ts, last)
			}
			lastBE[k] = e.ts
			if e.Ph == "B" {
				stacks[k] = append(stacks[k], open{e.Name, e.ts})
				continue
			}
			st := stacks[k]
			if len(st) == 0 {
				return fmt.Errorf("event %d: E %q with no B open on track %d", e.index, e.Name, e.tid)
			}
			top := st[len(st)-1]
			if e.Name != "" && e.Name != top.name {
				return fmt.Errorf("event %d: E %q closes B %q", e.index, e.Name, top.name)
			}
			stacks[k] = st[:len(st)-1]
			c.slices[k] = append(c.slices[k], slice{top.name, top.ts, e.ts})
		case "X":
			c.slices[k] = append(c.slices[k], slice{e.Name, e.ts, e.ts + e.dur})
		}
	}
	for k, st := range stacks {
		if len(st) > 0 {
			return fmt.Errorf("track %d: B %q never ended", k.tid, st[len(st)-1].name)
		}
	}
	for k, ss := range c.slices {
		sorted := slices.Clone(ss)
		slices.SortStableFunc(sorted, func(a, b slice) int {
			return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(b.end, a.end))
		})
		var stack []slice
		for _, s := range sorted {
			for len(stack) > 0 && stack[len(stack)-1].end <= s.start {
				stack = stack[:len(stack)-1]
			}
			if len(stack) > 0 && s.end > stack[len(stack)-1].end {
				p := stack[len(stack)-1]
				return fmt.Errorf("track %d: slice %q [%d,%d] overlaps %q [%d,%d] without nesting", k.tid, s.name, s.start, s.end, p.name, p.start, p.end)
			}
			stack = append(stack, s)
		}
	}
	return nil
}

// checkFlows: every flow id has one start and one end, with the same cat
// and name, the end not before the start, each bound to a slice on its
// track (the start to the enclosing slice; an end with bp "e" too).
func (c *checked) checkFlows() error {
	type pair struct{ s, f *event }
	flows := map[string]*pair{}
	var order []string
	for i := range c.events {
		e := &c.events[i]
		if e.Ph != "s" && e.Ph != "f" && e.Ph != "t" {
			continue
		}
		if e.Ph == "t" {
			return fmt.Errorf("event %d: flow steps are not expected here", e.index)
		}
		id := string(e.ID)
		p := flows[id]
		if p == nil {
			p = &pair{}
			flows[id] = p
			order = append(order, id)
		}
		if (e.Ph == "s" && p.s != nil) || (e.Ph == "f" && p.f != nil) {
			return fmt.Errorf("event %d: flow %s has two %q events", e.index, id, e.Ph)
		}
		if e.Ph == "s" {
			p.s = e
		} else {
			p.f = e
		}
		if !c.encloses(e) {
			return fmt.Errorf("event %d: flow %s %q at %d is inside no slice of track %d", e.index, id, e.Ph, e.ts, e.tid)
		}
	}
	for _, id := range order {
		p := flows[id]
		switch {
		case p.s == nil || p.f == nil:
			return fmt.Errorf("flow %s is not paired", id)
		case *p.s.Cat != *p.f.Cat || p.s.Name != p.f.Name:
			return fmt.Errorf("flow %s: start %s/%s, end %s/%s", id, *p.s.Cat, p.s.Name, *p.f.Cat, p.f.Name)
		case p.f.ts < p.s.ts:
			return fmt.Errorf("flow %s ends at %d before it starts at %d", id, p.f.ts, p.s.ts)
		}
	}
	c.flows = len(order)
	return nil
}

func (c *checked) encloses(e *event) bool {
	for _, s := range c.slices[trackKey{e.pid, e.tid}] {
		if s.start <= e.ts && e.ts <= s.end {
			return true
		}
	}
	return false
}

// checkCounters: each counter's samples come in time order. It also
// collects the global violation instants.
func (c *checked) checkCounters() error {
	last := map[string]int64{}
	for _, e := range c.events {
		switch {
		case e.Ph == "C":
			key := fmt.Sprint(e.pid, "/", e.Name)
			if t, ok := last[key]; ok && e.ts < t {
				return fmt.Errorf("event %d: counter %q goes back in time (%d after %d)", e.index, e.Name, e.ts, t)
			}
			last[key] = e.ts
			c.counters[e.Name]++
		case (e.Ph == "i" || e.Ph == "I") && e.S == "g" && strings.HasPrefix(e.Name, "VIOLATION"):
			c.violations = append(c.violations, e)
		}
	}
	return nil
}
