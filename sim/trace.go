package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/oracle"
	"github.com/mobsim/mobsim/server"
	"github.com/mobsim/mobsim/timeline"
)

// The human trace of a run (Options.Trace) is a stream of timeline events
// built from the same structured facts the oracle gets: the fake kernel's
// records, the server's claims, the run's ticks and the server's gauges,
// and the oracle's first violation where it is found. It feeds no check.

// TraceEvent is one event of a run's timeline (package timeline).
type TraceEvent = timeline.Event

// traceOf turns a kernel record into a timeline event.
func traceOf(rec *netfake.Record, step int) timeline.Event {
	e := timeline.Event{
		Time: rec.Time, Step: step, Conn: rec.Conn, FD: rec.FD, Token: rec.Token,
		Ready: rec.Ready, N: rec.N,
	}
	if rec.Kind == netfake.KindWrite || rec.Kind == netfake.KindWritev {
		e.Want = rec.Want
	}
	if rec.Err != netfake.OK {
		e.Errno = rec.Err.String()
	}
	if rec.Fault != netfake.FaultNone {
		e.Fault = rec.Fault.String()
	}
	switch k := rec.Kind; {
	case k == netfake.KindRead:
		e.Op = timeline.OpRead
	case k == netfake.KindWrite || k == netfake.KindWritev:
		e.Op, e.Name = timeline.OpWrite, k.String()
	case k == netfake.KindPoll:
		e.Op = timeline.OpPoll
	case k == netfake.KindEvent:
		e.Op = timeline.OpReady
	case k >= netfake.KindConnect && k <= netfake.KindClientClose:
		e.Op, e.Name = timeline.OpClient, k.String()
	case k >= netfake.KindDataToServer:
		e.Op, e.Name = timeline.OpNet, k.String()
	default:
		e.Op, e.Name = timeline.OpCall, k.String()
	}
	return e
}

// emit sends e to the trace at the current step and time, then the
// oracle's violation if it has just found one.
func (r *run) emit(e timeline.Event) {
	if e.Time == 0 && r.k != nil {
		e.Time = r.k.Now()
	}
	e.Step = r.step
	r.trace(e)
	r.traceViolation()
}

// traceViolation puts the first violation in the trace once, where it is
// first seen: right after the fact that caused it.
func (r *run) traceViolation() {
	if v := firstViolation(r.o, &r.traced); v != nil {
		r.explain(v)
		r.trace(violationEvent(v))
	}
}

// firstViolation is o's violation the first time it is asked once there
// is one (*traced then true), nil before and after: any world's trace
// shows the violation once, where it was found.
func firstViolation(o *oracle.Oracle, traced *bool) *oracle.Violation {
	if *traced || o == nil {
		return nil
	}
	v := o.Violation()
	*traced = v != nil
	return v
}

// violationEvent is v as a timeline event, at its own step and time.
func violationEvent(v *oracle.Violation) timeline.Event {
	return timeline.Event{Op: timeline.OpViolation, Time: v.Time, Step: v.Step, Conn: v.Conn, FD: timeline.NoFD, Violation: v}
}

// explain adds to the oracle's facts what only the run knows: the last
// readiness the kernel reported to the server for the connection (a
// hang-up hint, say). It runs once, as soon as the violation is seen, so a
// traced and an untraced run of a seed tell the same facts.
func (r *run) explain(v *Violation) {
	if r.explained {
		return
	}
	r.explained = true
	if v.Conn >= uint64(len(r.lastReady)) {
		return
	}
	if lr := r.lastReady[v.Conn]; lr.ready != 0 {
		v.Facts = append(v.Facts,
			oracle.Fact{Key: "last_readiness", Value: lr.ready.String()},
			oracle.Fact{Key: "last_readiness_at", Value: lr.at})
	}
}

// readyAt is the last readiness event the server got for a connection.
type readyAt struct {
	ready kernel.Ready
	at    time.Duration
}

// noteReady keeps what explain needs: the last readiness the server got
// for each connection.
func (r *run) noteReady(id uint64, ready kernel.Ready, at time.Duration) {
	if id >= 1<<16 {
		return
	}
	for uint64(len(r.lastReady)) <= id {
		r.lastReady = append(r.lastReady, readyAt{})
	}
	r.lastReady[id] = readyAt{ready, at}
}

// traceRecord passes a kernel record to the trace, naming a connecting
// client's connection first.
func (r *run) traceRecord(rec *netfake.Record) {
	if c := r.connecting; c != nil && rec.Conn != 0 {
		r.connecting = nil
		r.emit(timeline.Event{Op: timeline.OpLabel, Time: rec.Time, Conn: rec.Conn, FD: timeline.NoFD, Text: connLabel(rec.Conn, c)})
	}
	e := traceOf(rec, r.step)
	r.trace(e)
	r.traceViolation()
}

// connLabel is how every report names a client's connection: its id, the
// client and its kind ("conn 3 (client 2, chatty)").
func connLabel(id uint64, c *client) string {
	return fmt.Sprintf("conn %d (client %d, %v)", id, c.idx, c.spec.Kind)
}

// traceClaim is ClaimFeed's Event: a server claim into the trace.
func (r *run) traceClaim(op timeline.Op, id uint64, why server.CloseReason, n int) {
	e := timeline.Event{Op: op, Conn: id, FD: timeline.NoFD, N: int64(n)}
	if op == timeline.OpLeft || op == timeline.OpClosed {
		e.Reason = why.String()
	}
	r.emit(e)
}

// traceTick marks a tick's beginning or end; at the end come the server's
// gauges.
func (r *run) traceTick(op timeline.Op) {
	if r.trace == nil {
		return
	}
	r.emit(timeline.Event{Op: op, FD: timeline.NoFD})
	if op == timeline.OpTickEnd {
		st := r.srv.Stats()
		r.emit(timeline.Event{Op: timeline.OpGauges, FD: timeline.NoFD, Gauges: timeline.Gauges{Conns: st.Conns, Members: st.Members, RingBytes: st.QueuedBytes}})
	}
}

func (r *run) tracef(who string, conn uint64, format string, args ...any) {
	if r.trace != nil {
		r.emit(timeline.Event{Op: timeline.OpNote, Name: who, Conn: conn, FD: timeline.NoFD, Text: strings.TrimSpace(fmt.Sprintf(format, args...))})
	}
}
