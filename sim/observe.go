package sim

import (
	"time"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/server"
)

// TraceEvent is one line of a run's timeline.
type TraceEvent struct {
	Time time.Duration // virtual time
	Step int
	Who  string // "kernel", "client", "server" or "sim"
	Conn uint64 // connection id, 0 when none
	What string
}

// idOf returns the kernel's connection id for a server-side stream.
func idOf(st kernel.Stream) uint64 {
	if s, ok := st.(interface{ ID() uint64 }); ok {
		return s.ID()
	}
	return 0
}

// serverObserver feeds the server's membership claims to the oracle.
type serverObserver struct{ r *run }

func (o serverObserver) Joined(st kernel.Stream) {
	id := idOf(st)
	o.r.tracef("server", id, "conn %d joins", id)
	o.r.o.joined(id)
}

func (o serverObserver) Left(st kernel.Stream, why server.CloseReason) {
	id := idOf(st)
	o.r.tracef("server", id, "conn %d leaves: %v", id, why)
	o.r.o.left(id, why)
}

func (o serverObserver) Closed(st kernel.Stream, why server.CloseReason) {
	id := idOf(st)
	o.r.tracef("server", id, "conn %d closed: %v", id, why)
	o.r.o.closed(id, why)
}

// kernelObserver feeds the kernel's record of server syscalls to the oracle.
type kernelObserver struct{ r *run }

func (o kernelObserver) Accepted(id uint64) {
	o.r.o.accepted(id)
}

func (o kernelObserver) Read(id uint64, p []byte)  { o.r.o.read(id, p) }
func (o kernelObserver) Wrote(id uint64, p []byte) { o.r.o.wrote(id, p) }
func (o kernelObserver) ClosedWrite(id uint64)     { o.r.o.shutWrite(id) }
func (o kernelObserver) Closed(uint64)             {}
func (o kernelObserver) Reset(id uint64)           { o.r.o.kernelReset(id) }

func (o serverObserver) Frame(st kernel.Stream, head, tail []byte) {
	o.r.o.frameClaim(idOf(st), head, tail)
}
