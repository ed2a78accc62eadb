package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/mobsim/mobsim/sim"
)

// replay runs one seed, optionally tracing it, and reports.
func replay(o options, stdout, stderr io.Writer) int {
	tr := newTraces(o, stdout, fmt.Sprintf("seed %d", o.seed))
	opt := sim.Options{Bugs: o.bugs}
	if sink := tr.sink(); sink != nil {
		opt.Trace = sink.Add
	}
	rep := sim.RunSeed(o.seed, opt)
	tr.setOther(map[string]any{"seed": rep.Seed, "world": rep.World, "ok": rep.OK(), "trace_hash": fmt.Sprintf("%016x", rep.TraceHash)})
	if err := tr.finish(); err != nil {
		fmt.Fprintln(stderr, "mobsim:", err)
		return 1
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
		fmt.Fprintf(stderr, "  %v\n", rep.Violation)
		writeFacts(stderr, "    ", rep.Violation)
		fmt.Fprintf(stderr, "  replay: %s\n", replayLine(sim.ReplayCommand(rep.Seed, o.bugs...), revision()))
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

// writeFacts prints a violation's facts, one a line.
func writeFacts(w io.Writer, indent string, v *sim.Violation) {
	for _, f := range v.Facts {
		fmt.Fprintf(w, "%s%s\n", indent, f)
	}
}
