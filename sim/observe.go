package sim

import (
	"fmt"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/oracle"
	"github.com/mobsim/mobsim/server"
	"github.com/mobsim/mobsim/timeline"
)

// The simulator feeds the oracle (package oracle) from three sources: the
// server's Observer (membership claims and frames), the fake kernel's
// structured record of the server's syscalls (its Observer for the bytes,
// its Records for outcomes: an EOF, a write call, a failed accept), and
// its own clients (what each sent and received). The human trace is a
// separate consumer of the same records and feeds nothing.

// idOf returns the kernel's connection id for a server-side stream.
func idOf(st kernel.Stream) uint64 {
	if s, ok := st.(interface{ ID() uint64 }); ok {
		return s.ID()
	}
	return 0
}

// ClaimFeed is a server.Observer that passes the server's claims to an
// oracle, naming each stream by its fake kernel connection id. Note, if
// set, is told each membership claim in words (for logs); Event, if set,
// is told each claim as a timeline op (for traces), with the frame's size.
type ClaimFeed struct {
	O     *oracle.Oracle
	Note  func(id uint64, what string)
	Event func(op timeline.Op, id uint64, why server.CloseReason, frameBytes int)
}

var _ server.Observer = (*ClaimFeed)(nil)

func (f *ClaimFeed) Joined(st kernel.Stream) {
	id := idOf(st)
	if f.Note != nil {
		f.Note(id, fmt.Sprintf("conn %d joins", id))
	}
	f.O.Joined(id)
	if f.Event != nil {
		f.Event(timeline.OpJoined, id, 0, 0)
	}
}

func (f *ClaimFeed) Left(st kernel.Stream, why server.CloseReason) {
	id := idOf(st)
	if f.Note != nil {
		f.Note(id, fmt.Sprintf("conn %d leaves: %v", id, why))
	}
	f.O.Left(id, why)
	if f.Event != nil {
		f.Event(timeline.OpLeft, id, why, 0)
	}
}

func (f *ClaimFeed) Closed(st kernel.Stream, why server.CloseReason) {
	id := idOf(st)
	if f.Note != nil {
		f.Note(id, fmt.Sprintf("conn %d closed: %v", id, why))
	}
	f.O.Closed(id, why)
	if f.Event != nil {
		f.Event(timeline.OpClosed, id, why, 0)
	}
}

func (f *ClaimFeed) Frame(st kernel.Stream, head, tail []byte) {
	id := idOf(st)
	f.O.Frame(id, head, tail)
	if f.Event != nil {
		f.Event(timeline.OpFrame, id, 0, len(head)+len(tail))
	}
}

// KernelFeed passes the fake kernel's structured record of the server's
// syscalls to an oracle: install it with SetObserver (the bytes each call
// moved) and its Record with SetTracer (what the Observer does not carry:
// every read and write call and accept with its outcome, an EOF, and the
// client's bytes as they reach the server's socket). Records before O is
// set are not the oracle's (the server's setup).
type KernelFeed struct {
	O *oracle.Oracle
	K *netfake.Kernel // for what a closed socket still holds (nil in a replay)
}

var _ netfake.LossObserver = (*KernelFeed)(nil)

func (f *KernelFeed) Accepted(id uint64)        { f.O.Accepted(id) }
func (f *KernelFeed) Read(id uint64, p []byte)  { f.O.Read(id, p) }
func (f *KernelFeed) Wrote(id uint64, p []byte) { f.O.Wrote(id, p) }
func (f *KernelFeed) ClosedWrite(id uint64)     { f.O.ShutWrite(id) }
func (f *KernelFeed) Closed(id uint64) {
	if f.K == nil {
		return // a replay: no kernel to ask
	}
	if info, ok := f.K.Conn(id); ok {
		f.O.Released(id, info.ServerUnsent)
	}
}
func (f *KernelFeed) Reset(id uint64)       { f.O.Reset(id) }
func (f *KernelFeed) Lost(id uint64, n int) { f.O.Lost(id, n) }

// Record takes one of the kernel's records.
func (f *KernelFeed) Record(rec netfake.Record) {
	if f.O == nil {
		return
	}
	switch rec.Kind {
	case netfake.KindRead:
		f.O.ReadCall(rec.Conn)
		if rec.Err == netfake.EOF {
			f.O.ReadEOF(rec.Conn)
		}
	case netfake.KindWrite, netfake.KindWritev:
		f.O.WriteCall(rec.Conn, rec.Err == netfake.EAGAIN || (rec.Err == netfake.OK && rec.N < rec.Want))
	case netfake.KindAccept:
		f.O.AcceptCall(acceptOutcome(rec.Err))
	case netfake.KindDataToServer:
		if rec.Err == netfake.OK { // with an error: bytes lost to a server side that is gone
			f.O.Arrived(rec.Conn, int(rec.N))
		}
	}
}

// acceptOutcome classes an Accept's errno as the oracle's rules need it:
// EMFILE is the fake kernel's one resource error (the server backs off),
// the others concern one connection or none.
func acceptOutcome(e netfake.Errno) oracle.AcceptOutcome {
	switch e {
	case netfake.OK:
		return oracle.AcceptOK
	case netfake.EAGAIN:
		return oracle.AcceptEmpty
	case netfake.EMFILE:
		return oracle.AcceptExhausted
	}
	return oracle.AcceptRetry
}

// record takes each of the kernel's records: to the oracle, then to the
// human trace.
func (r *run) record(rec netfake.Record) {
	r.feed.Record(rec)
	if rec.Kind == netfake.KindEvent && rec.Conn != 0 {
		r.noteReady(rec.Conn, rec.Ready, rec.Time)
	}
	if !r.explained && r.o != nil && r.o.Violation() != nil {
		r.explain(r.o.Violation())
	}
	if r.trace != nil {
		r.traceRecord(&rec)
	}
}
