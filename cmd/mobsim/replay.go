package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/mobsim/mobsim/sim"
)

// replay runs one seed, optionally tracing it, and reports.
func replay(o options, stdout, stderr io.Writer) int {
	var events []sim.TraceEvent
	opt := sim.Options{Bugs: o.bugs}
	if o.trace || o.traceOut != "" {
		opt.Trace = func(e sim.TraceEvent) {
			if o.trace {
				fmt.Fprintln(stdout, formatEvent(e))
			}
			if o.traceOut != "" {
				events = append(events, e)
			}
		}
	}
	rep := sim.RunSeed(o.seed, opt)
	if o.traceOut != "" {
		if err := writeChromeTrace(o.traceOut, rep, events); err != nil {
			fmt.Fprintln(stderr, "mobsim:", err)
			return 1
		}
	}
	if o.json {
		r, err := newSeedResult(rep, o.bugs)
		if err == nil {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			err = enc.Encode(r)
		}
		if err != nil {
			fmt.Fprintln(stderr, "mobsim:", err)
			return 2
		}
	}
	fmt.Fprintf(stderr, "seed %d: %s\n  world: %s\n  steps %d, events %d, frames %d, trace hash %016x\n",
		rep.Seed, verdict(rep), rep.World, rep.Steps, rep.Events, rep.Frames, rep.TraceHash)
	if !rep.OK() {
		fmt.Fprintf(stderr, "  %v\n  replay: %s\n", rep.Violation, sim.ReplayCommand(rep.Seed, o.bugs...))
		return 1
	}
	return 0
}

func verdict(r sim.Report) string {
	if r.OK() {
		return "ok"
	}
	return "VIOLATION"
}

func formatEvent(e sim.TraceEvent) string {
	return fmt.Sprintf("%6d %-7s %s", e.Step, e.Who, e.What)
}

// writeChromeTrace writes the Trace Event Format (the JSON Perfetto and
// chrome://tracing open): one instant event per record, a track per
// connection, virtual time in microseconds.
func writeChromeTrace(path string, rep sim.Report, events []sim.TraceEvent) error {
	type ev struct {
		Name string         `json:"name"`
		Cat  string         `json:"cat"`
		Ph   string         `json:"ph"`
		Ts   float64        `json:"ts"`
		Pid  int            `json:"pid"`
		Tid  uint64         `json:"tid"`
		S    string         `json:"s,omitempty"`
		Args map[string]any `json:"args,omitempty"`
	}
	out := struct {
		TraceEvents     []ev           `json:"traceEvents"`
		DisplayTimeUnit string         `json:"displayTimeUnit"`
		OtherData       map[string]any `json:"otherData"`
	}{DisplayTimeUnit: "ms", OtherData: map[string]any{"seed": rep.Seed, "world": rep.World, "ok": rep.OK()}}
	for _, e := range events {
		out.TraceEvents = append(out.TraceEvents, ev{
			Name: e.What, Cat: e.Who, Ph: "i", S: "t",
			Ts: float64(e.Time.Nanoseconds()) / 1e3, Pid: 1, Tid: e.Conn,
			Args: map[string]any{"step": e.Step},
		})
	}
	if rep.Violation != nil {
		out.TraceEvents = append(out.TraceEvents, ev{Name: "VIOLATION: " + rep.Violation.Error(), Cat: "sim", Ph: "i", S: "g", Pid: 1})
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("trace-out: %w", err)
	}
	if err := json.NewEncoder(f).Encode(out); err != nil {
		f.Close()
		return fmt.Errorf("trace-out: %w", err)
	}
	return f.Close()
}
