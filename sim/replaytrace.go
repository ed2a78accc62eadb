package sim

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netrec"
	"github.com/mobsim/mobsim/server"
	"github.com/mobsim/mobsim/timeline"
)

// A replay's trace is the same timeline a seed's is, so the text trace and
// the Perfetto file read alike for a live run and a simulated one: each
// recorded call is an event on its connection's track, each Poll opens a
// tick, the server's notes are its claims, and the oracle's first
// violation goes in where it is found.

// traceRecord turns one record into timeline events. call is the record
// as its own format prints it, kept as the event's Text so that nothing
// the recording holds is lost from the text trace.
func (p *replay) traceRecord(rec *netrec.Record, conn uint64, call string) {
	if rec.Op == netrec.OpListen {
		p.listener = rec.ID
	}
	if conn == p.listener {
		conn = 0 // the listener's calls are the server's, on its track
	}
	if rec.Op == netrec.OpAccept && rec.Err == nil {
		p.traceLabel(rec)
	}
	e := timeline.Event{Time: rec.Time, Step: int(rec.Step), Conn: conn, FD: timeline.NoFD, Text: call}
	if rec.Err != nil {
		e.Errno = errnoName(rec.Err)
	}
	switch rec.Op {
	case netrec.OpPoll:
		p.traceTick(timeline.OpTickEnd, rec)
		p.traceTick(timeline.OpTickBegin, rec)
		e.Op, e.N, e.Text = timeline.OpPoll, int64(rec.N), ""
		p.trace(e)
		for _, ev := range rec.Events {
			p.trace(timeline.Event{Time: rec.Time, Step: int(rec.Step), Op: timeline.OpReady, FD: timeline.NoFD, Token: ev.Token, Ready: ev.Ready})
		}
	case netrec.OpRead:
		e.Op, e.N, e.Text = timeline.OpRead, int64(rec.N), ""
		p.trace(e)
	case netrec.OpWrite, netrec.OpWritev:
		e.Op, e.Name, e.N, e.Want, e.Text = timeline.OpWrite, rec.Op.String(), int64(rec.N), int64(wantOf(rec)), ""
		p.trace(e)
	case netrec.OpWriteBatch:
		// Each write of the batch on its own track: a flow arrow ends at
		// the write that delivered a frame, whichever batch carried it.
		for i := range rec.Batch {
			it := rec.Batch[i].Record()
			w := timeline.Event{Time: rec.Time, Step: int(rec.Step), Op: timeline.OpWrite, Name: "batch write", Conn: it.ID, FD: timeline.NoFD, N: int64(it.N), Want: int64(wantOf(&it))}
			if it.Err != nil {
				w.Errno = errnoName(it.Err)
			}
			p.trace(w)
		}
	case netrec.OpNote:
		p.traceNote(rec, e)
	case netrec.OpEnd, netrec.OpStop:
		p.traceTick(timeline.OpTickEnd, rec)
		e.Op, e.Name, e.Conn = timeline.OpNote, "live", 0
		p.trace(e)
	default:
		e.Op, e.Name = timeline.OpCall, rec.Op.String()
		switch rec.Op {
		case netrec.OpRegister, netrec.OpReregister:
			// The interest bits are the readiness bits they ask for.
			e.Token, e.Ready, e.Text = rec.Token, kernel.Ready(rec.Interest), ""
		case netrec.OpAccept:
			e.N = -1 // the live descriptor is not recorded; the call's text names the stream
		case netrec.OpListen:
			e.Name = "listener" // its backlog is not recorded
		case netrec.OpNow:
			e.Text = "" // the time column says it
		}
		if e.Text != "" {
			e.Errno = "" // the call's text says it
		}
		p.trace(e)
	}
	p.traceViolation()
}

// traceLabel names a new connection's track as the clients' account
// names its client, as the soak's report does: "conn 14 (half-closer,
// 127.0.0.5:40726; the server's conn 7)". Without an account the track is
// "conn 7", the recording's id.
func (p *replay) traceLabel(rec *netrec.Record) {
	for i := range p.accounts {
		a := &p.accounts[i]
		if a.Conn != rec.NewID || a.Name == "" {
			continue
		}
		label := a.Name + fmt.Sprintf(" (the server's conn %d)", rec.NewID)
		if strings.HasSuffix(a.Name, ")") {
			label = fmt.Sprintf("%s; the server's conn %d)", strings.TrimSuffix(a.Name, ")"), rec.NewID)
		}
		p.trace(timeline.Event{Op: timeline.OpLabel, Time: rec.Time, Step: int(rec.Step), Conn: rec.NewID, FD: timeline.NoFD, Text: label})
		return
	}
}

// traceTick opens or closes the tick slice; a tick is what lies between
// two polls of the live loop.
func (p *replay) traceTick(op timeline.Op, rec *netrec.Record) {
	switch {
	case op == timeline.OpTickBegin:
		p.inTick = true
	case !p.inTick:
		return
	default:
		p.inTick = false
	}
	p.trace(timeline.Event{Time: rec.Time, Step: int(rec.Step), Op: op, FD: timeline.NoFD})
	if op == timeline.OpTickEnd && p.srv != nil {
		st := p.srv.Stats()
		p.trace(timeline.Event{Time: rec.Time, Step: int(rec.Step), Op: timeline.OpGauges, FD: timeline.NoFD,
			Gauges: timeline.Gauges{Conns: st.Conns, Members: st.Members, RingBytes: st.QueuedBytes}})
	}
}

// traceNote traces a note of the caller's own. The server's notes
// (joined, left, closed, frame) are not traced from the recording: the
// replayed core makes the same claims (the notes are matched against
// them), and traceClaim traces those, frames included when the recording
// skipped their notes.
func (p *replay) traceNote(rec *netrec.Record, e timeline.Event) {
	switch rec.Kind {
	case netrec.NoteJoined, netrec.NoteLeft, netrec.NoteClosed, netrec.NoteFrame:
		return
	}
	e.Op, e.Name, e.N = timeline.OpNote, "server", int64(rec.Arg)
	p.trace(e)
}

// traceClaim is the claim feed's Event: a claim of the replayed core, at
// the record the replay has reached.
func (p *replay) traceClaim(op timeline.Op, id uint64, why server.CloseReason, n int) {
	if p.rp.Err() != nil {
		return // past the recording's end: not the live core's claims
	}
	e := timeline.Event{Op: op, Time: p.now, Step: int(p.step), Conn: id, FD: timeline.NoFD, N: int64(n)}
	if op == timeline.OpLeft || op == timeline.OpClosed {
		e.Reason = why.String()
	}
	p.trace(e)
	p.traceViolation()
}

// traceViolation puts the oracle's first violation in the trace once,
// right after the record that revealed it.
func (p *replay) traceViolation() {
	if v := firstViolation(p.o, &p.traced); v != nil {
		p.trace(violationEvent(v))
	}
}

// wantOf is the bytes a write asked to move.
func wantOf(rec *netrec.Record) int {
	if rec.Op != netrec.OpWritev {
		return rec.Len
	}
	n := 0
	for _, b := range rec.Bufs {
		n += b
	}
	return n
}

// errnoName names a recorded error as the simulator's trace does.
func errnoName(err error) string {
	switch {
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.Is(err, kernel.ErrWouldBlock):
		return "EAGAIN"
	case errors.Is(err, syscall.ECONNRESET):
		return "ECONNRESET"
	case errors.Is(err, syscall.EPIPE):
		return "EPIPE"
	case errors.Is(err, syscall.ENOTCONN):
		return "ENOTCONN"
	case errors.Is(err, syscall.ECONNABORTED):
		return "ECONNABORTED"
	case errors.Is(err, syscall.EMFILE):
		return "EMFILE"
	}
	return err.Error()
}
