package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/mobsim/mobsim/sim"
)

// Exit statuses of -replay beyond the seed's 0 (pass), 1 (a violation) and
// 2 (usage).
const (
	// exitDiverged: the core made a call the recording does not have: it
	// is not deterministic given its inputs, or this binary is not the one
	// that recorded (the report names both builds). What the oracle found
	// before the divergence is reported too.
	exitDiverged = 3
	// exitUnreplayable: the recording cannot be replayed at all: not a
	// recording, damaged, another format version, a config this build's
	// server refuses, or catalog bugs in a build without them.
	exitUnreplayable = 4
)

// replayFile runs the core against the recording o.replay, with the
// oracle over its history, and reports like a seed: -trace, -trace-out
// and -json as there.
func replayFile(o options, stdout, stderr io.Writer) int {
	tr := newTraces(o, stdout, "replay of "+o.replay)
	var opt sim.ReplayOptions
	if sink := tr.sink(); sink != nil {
		opt.Trace = sink.Add
	}
	began := time.Now()
	rep := sim.Replay(o.replay, opt)
	took := time.Since(began)
	if rep.Err == nil {
		tr.setOther(map[string]any{
			"replay": rep.Path, "program": rep.Core.Program, "recorded_by": fmt.Sprint(rep.Recorded),
			"ok": rep.OK(), "diverged": rep.Divergence != nil, "trace_hash": fmt.Sprintf("%016x", rep.TraceHash),
		})
		if err := tr.finish(); err != nil {
			fmt.Fprintln(stderr, "mobsim:", err)
			return exitUnreplayable
		}
	}
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(newReplayResult(rep)); err != nil {
			fmt.Fprintln(stderr, "mobsim:", err)
			return 2
		}
	}
	printReplay(stderr, rep, took)
	switch {
	case rep.Err != nil:
		return exitUnreplayable
	case rep.Divergence != nil:
		return exitDiverged
	case rep.Violation != nil:
		return 1
	}
	return 0
}

// roundShort rounds d for a report: to the millisecond, or to the
// microsecond below one (a small recording replays in well under 1 ms).
func roundShort(d time.Duration) time.Duration {
	if d < time.Millisecond {
		return d.Round(time.Microsecond)
	}
	return d.Round(time.Millisecond)
}

func replayVerdict(r sim.ReplayReport) string {
	switch {
	case r.Err != nil:
		return "CANNOT REPLAY"
	case r.Divergence != nil:
		return "DIVERGED"
	case r.Violation != nil:
		return "VIOLATION"
	}
	return "ok"
}

// printReplay writes the report: the verdict, the builds, the counts,
// the speed, then what went wrong.
func printReplay(w io.Writer, r sim.ReplayReport, took time.Duration) {
	fmt.Fprintf(w, "replay %s: %s\n", r.Path, replayVerdict(r))
	if r.Err != nil {
		fmt.Fprintf(w, "  %v\n", r.Err)
		return
	}
	bugs := ""
	if len(r.Core.Bugs) > 0 {
		bugs = fmt.Sprintf(", bugs %v", r.Core.Bugs)
	}
	fmt.Fprintf(w, "  recorded by %s (%s, %s framing, writes %s%s)\n  replayed by %s\n",
		r.Recorded, r.Core.Program, r.Core.Server.Framing, r.Core.Writes, bugs, r.Replaying)
	end := r.End
	if end == "" {
		end = "its end not reached"
	}
	fmt.Fprintf(w, "  records %d (%s), seam calls %d, ticks %d, frames %d, clients' account %s, trace hash %016x\n",
		r.Records, end, r.Calls, r.Ticks, r.Frames, accountsLine(r.Accounts), r.TraceHash)
	if secs := took.Seconds(); secs > 0 {
		fmt.Fprintf(w, "  replayed in %v: %.0f records/s, %.0f calls/s; the live run took %v (%.1fx its wall time)\n",
			roundShort(took), float64(r.Records)/secs, float64(r.Calls)/secs, r.Span.Round(time.Millisecond), r.Span.Seconds()/secs)
	}
	if r.Violation != nil {
		fmt.Fprintf(w, "  %v\n", r.Violation)
	}
	if r.Divergence != nil {
		fmt.Fprintf(w, "  %v\n", r.Divergence)
	}
}

func accountsLine(n int) string {
	if n == 0 {
		return "none (the clients' side is not checked)"
	}
	return fmt.Sprintf("%d connections", n)
}

// replayResult is -replay's report as JSON.
type replayResult struct {
	File      string         `json:"file"`
	OK        bool           `json:"ok"`
	Verdict   string         `json:"verdict"`
	Error     string         `json:"error,omitempty"`
	Violation *sim.Violation `json:"violation,omitempty"`
	// Divergence is the first call the core made that the recording does
	// not have next.
	Divergence *divergenceResult `json:"divergence,omitempty"`
	RecordedBy string            `json:"recorded_by"`
	ReplayedBy string            `json:"replayed_by"`
	Program    string            `json:"program,omitempty"`
	Bugs       []string          `json:"bugs"`
	End        string            `json:"end,omitempty"`
	Records    uint64            `json:"records"`
	Calls      uint64            `json:"calls"`
	Ticks      uint64            `json:"ticks"`
	Frames     int               `json:"frames"`
	Accounts   int               `json:"accounts"`
	SpanNs     int64             `json:"span_ns"`
	// TraceHash is 16 hex digits, as for a seed.
	TraceHash string `json:"trace_hash"`
}

type divergenceResult struct {
	Step     uint64 `json:"step"`
	Offset   int64  `json:"offset"`
	Called   string `json:"called"`
	Recorded string `json:"recorded"`
	Detail   string `json:"detail"`
	// SameBuild: the recording and replaying builds are the same stamped
	// build, so the core is not deterministic given its inputs.
	SameBuild bool `json:"same_build"`
}

func newReplayResult(r sim.ReplayReport) replayResult {
	res := replayResult{
		File: r.Path, OK: r.OK(), Verdict: replayVerdict(r), Violation: r.Violation,
		RecordedBy: r.Recorded.String(), ReplayedBy: r.Replaying.String(), Program: r.Core.Program,
		Bugs: append([]string{}, r.Core.Bugs...), End: r.End, Records: r.Records, Calls: r.Calls, Ticks: r.Ticks, Frames: r.Frames,
		Accounts: r.Accounts, SpanNs: r.Span.Nanoseconds(), TraceHash: fmt.Sprintf("%016x", r.TraceHash),
	}
	if r.Err != nil {
		res.Error = r.Err.Error()
	}
	if d := r.Divergence; d != nil {
		res.Divergence = &divergenceResult{Step: d.Step, Offset: d.Offset, Called: d.Got.String(), Recorded: d.Want.String(),
			Detail: d.Detail, SameBuild: d.Recorded.Same(d.Replaying)}
	}
	return res
}
