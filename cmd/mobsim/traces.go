package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mobsim/mobsim/timeline"
)

// traces are the trace outputs the flags ask for: the text trace on stdout
// as the run goes (-trace, filtered by -conn and -steps), the Perfetto file
// once it is over (-trace-out). Any world that yields timeline events (a
// seed, a replayed recording) feeds them the same way.
type traces struct {
	text *timeline.Text
	perf *timeline.Perfetto
	path string
}

func newTraces(o options, stdout io.Writer, title string) *traces {
	t := &traces{path: o.traceOut}
	if o.trace {
		t.text = timeline.NewText(stdout, o.filter)
	}
	if o.traceOut != "" {
		t.perf = timeline.NewPerfetto(title)
	}
	return t
}

// sink is where the run's events go, or nil if no trace was asked for.
func (t *traces) sink() timeline.Sink {
	var s timeline.Sinks
	if t.text != nil {
		s = append(s, t.text)
	}
	if t.perf != nil {
		s = append(s, t.perf)
	}
	if len(s) == 0 {
		return nil
	}
	return s
}

// setOther gives the Perfetto file's otherData: what the run found.
func (t *traces) setOther(other map[string]any) {
	if t.perf != nil {
		t.perf.Other = other
	}
}

// finish writes the Perfetto file and reports any write error.
func (t *traces) finish() error {
	if t.text != nil && t.text.Err() != nil {
		return fmt.Errorf("trace: %w", t.text.Err())
	}
	if t.perf == nil {
		return nil
	}
	f, err := os.Create(t.path)
	if err != nil {
		return fmt.Errorf("trace-out: %w", err)
	}
	if _, err := t.perf.WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("trace-out %s: %w", t.path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("trace-out %s: %w", t.path, err)
	}
	return nil
}
