package properties

import (
	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/oracle"
)

// This file holds the world's checks: the oracle's verdict and the world's
// own accounting after every step, the drain, and what must hold after it.
// What a client is owed is the oracle's (package oracle); none of it is
// restated here.

// tick runs one server tick and checks everything.
func (w *world) tick() {
	w.o.TickBegin()
	if err := w.srv.Tick(); err != nil {
		w.t.Fatalf("tick: %v", err)
	}
	w.o.TickEnd()
	w.check()
}

// check verifies what holds between any two steps: the oracle found
// nothing, the server's own invariants, and its counts against the
// kernel's descriptors and the oracle's membership.
func (w *world) check() {
	if v := w.o.Violation(); v != nil {
		w.t.Fatalf("%s: %s", v.Invariant, v.Detail)
	}
	if err := w.srv.Check(); err != nil {
		w.t.Fatalf("server invariants: %v", err)
	}
	st := w.srv.Stats()
	lnFDs := 1
	if w.shutdown {
		lnFDs = 0
	}
	if fds := w.k.OpenFDs() - lnFDs; st.Conns != fds {
		w.t.Fatalf("server counts %d connections, the kernel has %d accepted fds open", st.Conns, fds)
	}
	if regs, fds := w.k.Registrations(), w.k.OpenFDs(); regs != fds {
		w.t.Fatalf("%d registrations for %d open fds", regs, fds)
	}
	if st.Conns != w.o.Open() || st.Members != w.o.Members() {
		w.t.Fatalf("server counts %d connections and %d members; its observer reported %d and %d", st.Conns, st.Members, w.o.Open(), w.o.Members())
	}
}

// quietSig is what changes while the world still has work to do. The clock
// is left out: a server at its fd limit retries accept on a timer forever
// (each retry moves the clock), and a due timer fires within one tick of the
// drain anyway, since Poll advances the clock to it.
type quietSig struct {
	in, out, accepted, closed, frames            uint64
	conns, members, unsent, edges, pending, recv int
}

func (w *world) sig() quietSig {
	st := w.srv.Stats()
	s := quietSig{in: st.BytesIn, out: st.BytesOut, accepted: st.Accepted, closed: st.ClosedTotal(),
		frames: st.FramesIn, conns: st.Conns, members: st.Members, unsent: w.k.Unsent(), edges: w.k.PendingEdges(), pending: w.ln.Pending()}
	for _, c := range w.clients {
		s.recv += len(c.recv) + c.unsent()
	}
	return s
}

// drain switches faults and chaos off and runs the world until it is quiet:
// clients write what they started and read everything, and a client that
// reads EOF closes, as a real one would.
func (w *world) drain() {
	w.t.Logf("drain: faults and chaos off")
	w.k.SetFaults(netfake.FaultPlan{})
	w.setChaos(false)
	w.poll.SetLog(nil, nil)
	var last quietSig
	stable := 0
	for range 20000 {
		for _, c := range w.clients {
			w.pump(c, 1<<30)
			w.read(c, 1<<30)
			if c.eof && !c.closed {
				w.close(c)
			}
		}
		w.k.Flush()
		w.tick()
		// A connection its input rate stopped has data waiting for a
		// timer, which may come later than the rounds below last.
		if s := w.sig(); s == last && w.srv.Stats().Throttled == 0 {
			if stable++; stable == 3 {
				return
			}
		} else {
			stable, last = 0, s
		}
	}
	w.t.Fatalf("the world did not settle within 20000 drain rounds")
}

// final checks what must hold after the drain: a shutdown finished, and the
// oracle finds the history live.
func (w *world) final() {
	if w.shutdown && (!w.srv.Done() || w.k.OpenFDs() != 0) {
		w.t.Fatalf("shutdown did not finish: done=%v, %d fds open", w.srv.Done(), w.k.OpenFDs())
	}
	if msg := w.o.Stuck(oracle.Settled{FDsOpen: w.k.OpenFDs(), FDsMax: w.k.Config().FDMax}); msg != "" {
		w.t.Fatalf("%s: %s", oracle.InvLiveness, msg)
	}
}
