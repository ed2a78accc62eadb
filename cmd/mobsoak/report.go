package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mobsim/mobsim/server"
)

// report is what a run found.
type report struct {
	o         options
	nofile    uint64
	elapsed   time.Duration
	drainTook time.Duration

	conns     uint64
	byBeh     [behaviourCount]behTally
	dialErrs  uint64
	lastDial  error
	survivors int

	frames, frameBytes  uint64
	delivered, complete uint64
	reasons             [32]uint64
	stats               *server.Stats

	violations uint64
	firstViols []string
	failures   []string

	rss, hwm            int64
	memErr              error
	fdsBefore, fdsAfter int
	fdErr               error
	fdList              string // the descriptors, when they differ
	cpu                 time.Duration
	cpuErr              error

	recording *recordingReport // -record: what became of it
}

// fail records a failure of the run itself (a drain step that timed out,
// a leaked descriptor, a bad exit).
func (r *report) fail(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *report) ok() bool { return r.violations == 0 && len(r.failures) == 0 }

// collect takes the figures from the clients and the oracle, and checks
// what needs all of them: descriptors, and the server's own counters
// against the events.
func (r *report) collect(s *soak, or *oracle) {
	r.conns = uint64(s.nextID.Load())
	r.dialErrs = s.dialErrs.Load()
	s.mu.Lock()
	r.lastDial = s.lastDial
	r.survivors = len(s.survivors)
	s.mu.Unlock()

	or.mu.Lock()
	defer or.mu.Unlock()
	r.byBeh = or.byBeh
	r.frames, r.frameBytes = uint64(or.o.Frames()), or.frameBytes
	r.delivered, r.complete = or.o.Delivered(), or.o.Complete()
	r.reasons = or.reasons
	r.stats = or.finalStats
	r.violations, r.firstViols = or.o.Violations(), or.firstViols

	if r.fdErr == nil && r.fdsAfter != r.fdsBefore {
		r.fail("the server holds %d descriptors after the run, %d before (%s)", r.fdsAfter, r.fdsBefore, r.fdList)
	}
	if r.dialErrs > 0 {
		r.fail("%d connects failed (last: %v)", r.dialErrs, r.lastDial)
	}
	st := r.stats
	if st == nil {
		r.fail("the server sent no final counters")
		return
	}
	if st.FramesIn != r.frames {
		r.fail("the server counted %d frames in; its Observer reported %d", st.FramesIn, r.frames)
	}
	for _, reason := range server.Reasons() {
		if st.Closed[reason] != r.reasons[reason] {
			r.fail("the server counted %d closes for %s; its Observer reported %d", st.Closed[reason], reason, r.reasons[reason])
		}
	}
	if st.QueuedBytesHi > uint64(r.o.queueBytesMax) {
		r.fail("a connection was owed %d bytes, over -queue-bytes-max %d", st.QueuedBytesHi, r.o.queueBytesMax)
	}
	if st.Accepted != r.conns {
		r.fail("the server accepted %d connections; the clients made %d", st.Accepted, r.conns)
	}
}

func (r *report) print(w io.Writer) {
	o := r.o
	fmt.Fprintf(w, "mobsoak: %v of churn, %d client slots, seed %d, rate %g frames/s, %d source address(es), RLIMIT_NOFILE %d\n",
		o.duration, o.clients, o.seed, o.rate, o.sources, r.nofile)
	if o.bug != "" {
		fmt.Fprintf(w, "BUG SWITCHED ON in the server: %s\n", o.bug)
	}
	fmt.Fprintf(w, "server limits: frame-bytes-max %d, queue-bytes-max %d, send-buf-bytes %d, idle-timeout %v, linger-timeout %v\n",
		o.frameBytesMax, o.queueBytesMax, o.sendBufBytes, o.idleTimeout, o.lingerTimeout)
	fmt.Fprintf(w, "run:            %v in all, drain %v\n", r.elapsed.Round(time.Millisecond), r.drainTook.Round(time.Millisecond))

	var behs []string
	for b := range behaviourCount {
		behs = append(behs, fmt.Sprintf("%s %d", b, r.byBeh[b].conns))
	}
	fmt.Fprintf(w, "connections:    %d (%s); connect failures %d\n", r.conns, strings.Join(behs, ", "), r.dialErrs)
	fmt.Fprintf(w, "global order:   %d frames, %.1f MiB of bodies (%.0f frames/s)\n",
		r.frames, float64(r.frameBytes)/(1<<20), float64(r.frames)/o.duration.Seconds())
	fmt.Fprintf(w, "deliveries:     %d checked in order and byte-exact; %d connections checked complete to their leave; %d survivors got everything\n",
		r.delivered, r.complete, r.survivors)
	fmt.Fprintf(w, "close reasons:  %s\n", reasonList(r.reasons[:]))
	for b := range behaviourCount {
		fmt.Fprintf(w, "  %-13s %s\n", b.String()+":", reasonList(r.byBeh[b].reasons[:]))
	}
	if st := r.stats; st != nil {
		fmt.Fprintf(w, "server stats:   accepted %d, frames in %d, frames out %d, bytes in %d, bytes out %d, read calls %d, write calls %d (%d in %d batches), stale events %d, accept errors %d, queued bytes high-water %d\n",
			st.Accepted, st.FramesIn, st.FramesOut, st.BytesIn, st.BytesOut, st.ReadCalls, st.WriteCalls, st.BatchedWrites, st.WriteBatches,
			st.StaleEvents, st.AcceptErrors, st.QueuedBytesHi)
	}
	if r.memErr != nil {
		fmt.Fprintf(w, "server memory:  unavailable (%v)\n", r.memErr)
	} else {
		fmt.Fprintf(w, "server memory:  peak RSS (VmHWM) %.1f MiB, RSS at the end %.1f MiB\n",
			float64(r.hwm)/(1<<20), float64(r.rss)/(1<<20))
	}
	if r.fdErr != nil {
		fmt.Fprintf(w, "server fds:     unavailable (%v)\n", r.fdErr)
	} else {
		fmt.Fprintf(w, "server fds:     %d before the clients, %d after they left\n", r.fdsBefore, r.fdsAfter)
	}
	if r.cpuErr != nil {
		fmt.Fprintf(w, "server CPU:     unavailable (%v)\n", r.cpuErr)
	} else {
		fmt.Fprintf(w, "server CPU:     %v user+system (%.0f%% of one core over the run)\n",
			r.cpu.Round(10*time.Millisecond), 100*r.cpu.Seconds()/r.elapsed.Seconds())
	}
	fmt.Fprintf(w, "violations:     %d\n", r.violations)
	for _, v := range r.firstViols {
		fmt.Fprintf(w, "  %s\n", v)
	}
	if r.violations > uint64(len(r.firstViols)) {
		fmt.Fprintf(w, "  ... %d more\n", r.violations-uint64(len(r.firstViols)))
	}
	for _, f := range r.failures {
		fmt.Fprintf(w, "FAILED: %s\n", f)
	}
	r.recording.print(w, o.bug)
	if r.ok() {
		fmt.Fprintln(w, "PASS")
	} else {
		fmt.Fprintln(w, "FAIL")
	}
}

// reasonList lays out nonzero close counts by reason name.
func reasonList(counts []uint64) string {
	var parts []string
	for _, r := range server.Reasons() {
		if n := counts[r]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", r, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
