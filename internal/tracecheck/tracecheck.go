// Package tracecheck checks a file against the rules of the Chrome trace-event
// format (the "Trace Event Format" document, and what Perfetto's JSON
// importer needs to show it as meant), not only that it is JSON: the
// fields each phase requires, timestamps in order where the format needs
// them, B/E pairs and X slices nested on each track, flow starts and ends
// paired and bound to slices, metadata naming every track, counters with
// numeric values. It is for tests: the writers of timeline and the
// commands that write its files check their output with it.
package tracecheck

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

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

// Event is a checked record: times in nanoseconds.
type Event struct {
	rawEvent
	index    int
	TsNs     int64 // ts in nanoseconds
	dur      int64
	pid, tid int64
}

// Track is a (pid, tid) pair: one track of the file.
type Track struct{ pid, tid int64 }

// Slice is a span on a track: an X, or a B with its E.
type Slice struct {
	Name       string
	Start, End int64
}

// Trace is what a valid file holds, for the tests' own assertions.
type Trace struct {
	Events     []Event
	Threads    map[Track]string
	Process    map[int64]string
	Slices     map[Track][]Slice
	Flows      int
	Counters   map[string]int // name: samples
	Violations []Event        // global instants named VIOLATION...
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

// Validate checks data against the format's rules and returns what it holds.
func Validate(data []byte) (*Trace, error) {
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
	c := &Trace{
		Threads: map[Track]string{}, Process: map[int64]string{},
		Slices: map[Track][]Slice{}, Counters: map[string]int{},
	}
	for i, r := range top.TraceEvents {
		e, err := checkFields(i, r)
		if err != nil {
			return nil, err
		}
		c.Events = append(c.Events, e)
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
func checkFields(i int, r rawEvent) (Event, error) {
	e := Event{rawEvent: r, index: i}
	bad := func(format string, args ...any) (Event, error) {
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
		e.TsNs = ts
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
func (c *Trace) checkMetadata() error {
	for _, e := range c.Events {
		if e.Ph != "M" {
			continue
		}
		var name string
		_ = json.Unmarshal(e.Args["name"], &name)
		switch e.Name {
		case "process_name":
			c.Process[e.pid] = name
		case "thread_name":
			c.Threads[Track{e.pid, e.tid}] = name
		}
	}
	for _, e := range c.Events {
		if e.Ph == "M" || e.Ph == "C" {
			continue
		}
		if c.Process[e.pid] == "" {
			return fmt.Errorf("event %d: process %d has no process_name", e.index, e.pid)
		}
		if c.Threads[Track{e.pid, e.tid}] == "" {
			return fmt.Errorf("event %d (%q): track %d has no thread_name", e.index, e.Name, e.tid)
		}
	}
	return nil
}

// checkTracks: on each track, B/E come in time order and pair up like
// brackets, and every slice (B/E or X) nests: two slices of a track are
// disjoint or one holds the other.
func (c *Trace) checkTracks() error {
	type open struct {
		name string
		ts   int64
	}
	stacks := map[Track][]open{}
	lastBE := map[Track]int64{}
	for _, e := range c.Events {
		k := Track{e.pid, e.tid}
		switch e.Ph {
		case "B", "E":
			if last, ok := lastBE[k]; ok && e.TsNs < last {
				return fmt.Errorf("event %d (%s %q): ts %d before the track's last B/E at %d", e.index, e.Ph, e.Name, e.TsNs, last)
			}
			lastBE[k] = e.TsNs
			if e.Ph == "B" {
				stacks[k] = append(stacks[k], open{e.Name, e.TsNs})
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
			c.Slices[k] = append(c.Slices[k], Slice{top.name, top.ts, e.TsNs})
		case "X":
			c.Slices[k] = append(c.Slices[k], Slice{e.Name, e.TsNs, e.TsNs + e.dur})
		}
	}
	for k, st := range stacks {
		if len(st) > 0 {
			return fmt.Errorf("track %d: B %q never ended", k.tid, st[len(st)-1].name)
		}
	}
	for k, ss := range c.Slices {
		sorted := slices.Clone(ss)
		slices.SortStableFunc(sorted, func(a, b Slice) int {
			return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(b.End, a.End))
		})
		var stack []Slice
		for _, s := range sorted {
			for len(stack) > 0 && stack[len(stack)-1].End <= s.Start {
				stack = stack[:len(stack)-1]
			}
			if len(stack) > 0 && s.End > stack[len(stack)-1].End {
				p := stack[len(stack)-1]
				return fmt.Errorf("track %d: slice %q [%d,%d] overlaps %q [%d,%d] without nesting", k.tid, s.Name, s.Start, s.End, p.Name, p.Start, p.End)
			}
			stack = append(stack, s)
		}
	}
	return nil
}

// checkFlows: every flow id has one start and one end, with the same cat
// and name, the end not before the start, each bound to a slice on its
// track (the start to the enclosing slice; an end with bp "e" too).
func (c *Trace) checkFlows() error {
	type pair struct{ s, f *Event }
	flows := map[string]*pair{}
	var order []string
	for i := range c.Events {
		e := &c.Events[i]
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
			return fmt.Errorf("event %d: flow %s %q at %d is inside no slice of track %d", e.index, id, e.Ph, e.TsNs, e.tid)
		}
	}
	for _, id := range order {
		p := flows[id]
		switch {
		case p.s == nil || p.f == nil:
			return fmt.Errorf("flow %s is not paired", id)
		case *p.s.Cat != *p.f.Cat || p.s.Name != p.f.Name:
			return fmt.Errorf("flow %s: start %s/%s, end %s/%s", id, *p.s.Cat, p.s.Name, *p.f.Cat, p.f.Name)
		case p.f.TsNs < p.s.TsNs:
			return fmt.Errorf("flow %s ends at %d before it starts at %d", id, p.f.TsNs, p.s.TsNs)
		}
	}
	c.Flows = len(order)
	return nil
}

func (c *Trace) encloses(e *Event) bool {
	for _, s := range c.Slices[Track{e.pid, e.tid}] {
		if s.Start <= e.TsNs && e.TsNs <= s.End {
			return true
		}
	}
	return false
}

// checkCounters: each counter's samples come in time order. It also
// collects the global violation instants.
func (c *Trace) checkCounters() error {
	last := map[string]int64{}
	for _, e := range c.Events {
		switch {
		case e.Ph == "C":
			key := fmt.Sprint(e.pid, "/", e.Name)
			if t, ok := last[key]; ok && e.TsNs < t {
				return fmt.Errorf("event %d: counter %q goes back in time (%d after %d)", e.index, e.Name, e.TsNs, t)
			}
			last[key] = e.TsNs
			c.Counters[e.Name]++
		case (e.Ph == "i" || e.Ph == "I") && e.S == "g" && strings.HasPrefix(e.Name, "VIOLATION"):
			c.Violations = append(c.Violations, e)
		}
	}
	return nil
}
