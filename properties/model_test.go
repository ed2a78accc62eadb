package properties

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/mobsim/mobsim/kernel"
	"github.com/mobsim/mobsim/netfake"
	"github.com/mobsim/mobsim/server"
)

// This file holds the world's model (see the world type): the checks run
// after every step, the observers through which the server and the kernel
// report, and the drain with the checks that hold once the world is quiet.

// tick runs one server tick and checks everything.
func (w *world) tick() {
	if err := w.srv.Tick(); err != nil {
		w.t.Fatalf("tick: %v", err)
	}
	w.check()
}

// check verifies the invariants that hold between any two steps.
func (w *world) check() {
	if w.bad != "" {
		w.t.Fatal(w.bad)
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
	if st.Conns != w.open || st.Members != w.members {
		w.t.Fatalf("server counts %d connections and %d members; its observer reported %d and %d", st.Conns, st.Members, w.open, w.members)
	}
	for _, c := range w.clients {
		w.checkPrefix(c, "server wrote", c.wrote)
		w.checkPrefix(c, "client received", c.recv)
	}
	if w.bad != "" {
		w.t.Fatal(w.bad)
	}
}

// owed is what c is owed: the broadcast range, and whether an error frame
// may follow it.
func (w *world) owed(c *client) ([]byte, bool) {
	switch {
	case c.rejected:
		return w.reject, false
	case !c.joined:
		return nil, false
	}
	end := len(w.all)
	if c.left {
		end = c.leave
	}
	protocol := c.left && (c.leftWhy == server.ReasonFrameTooLarge || c.leftWhy == server.ReasonBadHeader)
	return w.all[c.join:end], protocol
}

func (w *world) checkPrefix(c *client, what string, got []byte) {
	exp, errFrame := w.owed(c)
	n := min(len(got), len(exp))
	if i := firstDiff(got[:n], exp[:n]); i >= 0 {
		w.fail("%s: %s %s at byte %d, where it is owed %s (from the frame log at offset %d)",
			c.name, what, excerpt(got, i), i, excerpt(exp, i), c.join+i)
		return
	}
	if len(got) <= len(exp) {
		return
	}
	if !errFrame {
		w.fail("%s: %s %d bytes beyond the %d it is owed: %q", c.name, what, len(got)-len(exp), len(exp), got[len(exp):])
		return
	}
	if !w.errorFramePrefix(got[len(exp):]) {
		w.fail("%s: %s %q after its %d owed bytes, not an error frame", c.name, what, got[len(exp):], len(exp))
	}
}

// errorFramePrefix reports whether b can be the start of one frame whose
// body starts with "error: ".
func (w *world) errorFramePrefix(b []byte) bool {
	const want = "error: "
	body := b
	if w.cfg.Framing == server.FramingMob {
		if len(b) < server.MobHeaderBytes {
			return true
		}
		size := binary.BigEndian.Uint64(b)
		body = b[server.MobHeaderBytes:]
		if uint64(len(body)) > size {
			return false
		}
	} else if i := bytes.IndexByte(b, '\n'); i >= 0 && i != len(b)-1 {
		return false
	}
	m := min(len(body), len(want))
	return string(body[:m]) == want[:m]
}

// errorFrameWhole reports whether b is exactly one complete error frame.
func (w *world) errorFrameWhole(b []byte) bool {
	n, err := w.cfg.Framing.Scan(b, len(b))
	return err == nil && n == len(b) && n > 0 && w.errorFramePrefix(b)
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

func excerpt(b []byte, at int) string {
	from, to := max(0, at-12), min(len(b), at+12)
	return fmt.Sprintf("%q", b[from:to])
}

// --- observers ---

type serverObserver struct{ w *world }

func (o serverObserver) Joined(st kernel.Stream) {
	w := o.w
	c := w.clientOf(st)
	if c == nil || c.joined || !c.accepted {
		w.fail("server: %v joins, but the kernel never accepted it (or it joined twice)", st)
		return
	}
	c.joined, c.join, c.lastRead = true, len(w.all), w.k.Now()
	w.open++
	w.members++
	w.t.Logf("server: %s joins at log offset %d", c.name, c.join)
}

func (o serverObserver) Left(st kernel.Stream, why server.CloseReason) {
	w := o.w
	c := w.clientOf(st)
	if c == nil || !c.joined || c.left || c.closedSrv {
		w.fail("server: %v leaves (%v) but is not a member", st, why)
		return
	}
	c.left, c.leave, c.leftWhy, c.leftAt = true, len(w.all), why, w.k.Now()
	w.members--
	w.t.Logf("server: %s leaves (%v) at log offset %d", c.name, why, c.leave)
	info, _ := w.k.Conn(c.id)
	switch why {
	case server.ReasonEOF:
		if !info.ServerEOF {
			w.fail("server: %s leaves for eof, but no FIN arrived from it", c.name)
		}
	case server.ReasonFrameTooLarge, server.ReasonBadHeader:
		if !c.poisoned {
			w.fail("server: %s leaves for %v, but it only sent well-formed frames", c.name, why)
		}
	case server.ReasonIdle:
		if idle := w.k.Now() - c.lastRead; w.cfg.IdleTimeout <= 0 || idle < w.cfg.IdleTimeout {
			w.fail("server: %s leaves for idleness after %v without input (idle timeout %v)", c.name, idle, durOrOff(w.cfg.IdleTimeout))
		}
	case server.ReasonShutdown:
		if !w.shutdown {
			w.fail("server: %s leaves for shutdown, but none began", c.name)
		}
	default:
		w.fail("server: %s leaves for %v, not a reason to leave", c.name, why)
	}
}

func (o serverObserver) Closed(st kernel.Stream, why server.CloseReason) {
	w := o.w
	c := w.clientOf(st)
	if c == nil || c.closedSrv || c.rejected {
		w.fail("server: %v closed (%v) twice or unknown", st, why)
		return
	}
	info, _ := w.k.Conn(c.id)
	if why == server.ReasonConnsLimit {
		c.rejected = true
		w.t.Logf("server: %s turned away (conns-limit with %d open)", c.name, w.open)
		if c.joined || w.open < w.cfg.ConnsMax {
			w.fail("server: %s turned away at the connection limit with %d of %d open", c.name, w.open, w.cfg.ConnsMax)
		}
		return
	}
	if !c.joined {
		w.fail("server: %s closed (%v) but never joined", c.name, why)
		return
	}
	c.closedSrv, c.closedWhy = true, why
	w.open--
	if !c.left {
		w.members--
	}
	w.t.Logf("server: %s closed (%v)", c.name, why)
	switch why {
	case server.ReasonReset, server.ReasonWriteError:
		if !info.ServerReset {
			w.fail("server: %s closed for %v, but the kernel never reset it", c.name, why)
		}
	case server.ReasonEOF:
		if !info.ServerEOF || info.ServerUnread > 0 {
			w.fail("server: %s closed for eof with FIN=%v and %d bytes unread", c.name, info.ServerEOF, info.ServerUnread)
		}
	case server.ReasonQueueLimit:
		// The ring now ends with the frame being appended; c's cursor
		// is its join offset plus the ring bytes it was written.
		exp, _ := w.owed(c)
		cursor := c.join + min(len(c.wrote), len(exp))
		if span := len(w.all) - cursor; span <= w.cfg.QueueBytesMax {
			w.fail("server: %s closed for queue-limit holding %d ring bytes, within QueueBytesMax %d", c.name, span, w.cfg.QueueBytesMax)
		}
	case server.ReasonLingerTimeout:
		if d := w.k.Now() - c.leftAt; !c.left || d < w.cfg.LingerTimeout {
			w.fail("server: %s closed for linger-timeout %v after leaving (linger timeout %v)", c.name, d, w.cfg.LingerTimeout)
		}
	case server.ReasonShutdownTimeout:
		if d := w.k.Now() - w.downAt; !w.shutdown || d < w.cfg.ShutdownTimeout {
			w.fail("server: %s closed for shutdown-timeout %v into the shutdown (timeout %v)", c.name, d, w.cfg.ShutdownTimeout)
		}
	case server.ReasonRegisterError, server.ReasonNone:
		w.fail("server: %s closed for %v", c.name, why)
	}
	if why != server.ReasonReset && why != server.ReasonWriteError && why != server.ReasonQueueLimit && !c.left {
		w.fail("server: %s closed for %v without leaving first", c.name, why)
	}
}

func (o serverObserver) Frame(st kernel.Stream, head, tail []byte) {
	w := o.w
	c := w.clientOf(st)
	frame := append(append([]byte(nil), head...), tail...)
	w.all = append(w.all, frame...)
	w.frames++
	switch {
	case c == nil:
		w.fail("server: frame %q from an unknown stream %v", frame, st)
		return
	case !c.joined || c.left || c.closedSrv:
		w.fail("server: reads frame %q from %s, which is not a member (joined=%v left=%v closed=%v)", frame, c.name, c.joined, c.left, c.closedSrv)
	case c.reported >= len(c.sent):
		w.fail("server: reads frame %q from %s, which has completed only %d frames (all reported)", frame, c.name, len(c.sent))
	case !bytes.Equal(frame, c.sent[c.reported]):
		w.fail("server: reads frame %q from %s, whose frame #%d was %q", frame, c.name, c.reported+1, c.sent[c.reported])
	}
	c.reported++
	w.t.Logf("server: reads %q from %s", frame, c.name)
}

type kernelObserver struct{ w *world }

func (o kernelObserver) Accepted(id uint64) {
	if c := o.client(id); c != nil {
		c.accepted = true
	}
}
func (o kernelObserver) Read(id uint64, _ []byte) {
	if c := o.client(id); c != nil {
		c.lastRead = o.w.k.Now()
	}
}
func (o kernelObserver) Wrote(id uint64, p []byte) {
	if c := o.client(id); c != nil {
		c.wrote = append(c.wrote, p...)
	}
}
func (o kernelObserver) ClosedWrite(id uint64) {
	if c := o.client(id); c != nil {
		c.serverFIN = true
	}
}
func (o kernelObserver) Closed(uint64) {}
func (o kernelObserver) Reset(id uint64) {
	if c := o.client(id); c != nil {
		c.kernelReset = true
	}
}

func (o kernelObserver) client(id uint64) *client {
	if id == 0 || id > uint64(len(o.w.byID)) {
		o.w.fail("kernel: unknown connection %d", id)
		return nil
	}
	return o.w.byID[id-1]
}

// --- the drain and the final checks ---

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
				c.closed = true
				_ = c.cl.Close()
			}
		}
		w.k.Flush()
		w.tick()
		if s := w.sig(); s == last {
			if stable++; stable == 3 {
				return
			}
		} else {
			stable, last = 0, s
		}
	}
	w.t.Fatalf("the world did not settle within 20000 drain rounds")
}

// final checks what must hold after the drain: every prefix is whole where
// nothing cut the connection short, and no connection is stranded.
func (w *world) final() {
	if w.shutdown {
		if !w.srv.Done() || w.k.OpenFDs() != 0 {
			w.t.Fatalf("shutdown did not finish: done=%v, %d fds open", w.srv.Done(), w.k.OpenFDs())
		}
	} else if w.ln.Pending() > 0 && w.k.OpenFDs() < w.k.Config().FDMax {
		w.t.Fatalf("%d connections stranded in the backlog with fds free", w.ln.Pending())
	}
	for _, c := range w.clients {
		info, _ := w.k.Conn(c.id)
		reset := info.ClientReset || info.ServerReset || c.kernelReset
		if !reset && !info.InBacklog && !c.accepted && !w.shutdown {
			w.t.Fatalf("%s was never accepted", c.name)
		}
		if c.left && !c.closedSrv && !w.shutdown {
			w.t.Fatalf("%s left (%v) and was never closed", c.name, c.leftWhy)
		}
		if reset {
			continue
		}
		// The server's side: what it wrote, and what it read.
		exp, errFrame := w.owed(c)
		member := c.joined && !c.left && !c.closedSrv
		graceful := c.left && (c.serverFIN || isGraceful(c.closedWhy))
		// A connection turned away at ConnsMax is sent its error line best
		// effort (one write into a fresh socket), so only the prefix rule
		// applies to it.
		if member || graceful {
			if !bytes.HasPrefix(c.wrote, exp) {
				w.t.Fatalf("%s: server wrote %d of the %d bytes it owes (member=%v, left=%v %v, closed=%v %v)",
					c.name, len(c.wrote), len(exp), member, c.left, c.leftWhy, c.closedSrv, c.closedWhy)
			}
			if rest := c.wrote[len(exp):]; errFrame && !w.errorFrameWhole(rest) {
				w.t.Fatalf("%s: after its %d owed bytes the server wrote %q, want one error frame", c.name, len(exp), rest)
			}
		}
		if member || (c.left && c.leftWhy != server.ReasonIdle && c.leftWhy != server.ReasonShutdown) {
			if c.reported != len(c.sent) {
				w.t.Fatalf("%s completed %d frames and the server read %d of them (member=%v, left=%v %v)",
					c.name, len(c.sent), c.reported, member, c.left, c.leftWhy)
			}
		}
		// The client's side: what arrived, if it kept reading to the end.
		if !c.rst && !c.readErr && (c.eof || !c.closed) && !bytes.Equal(c.recv, c.wrote) {
			w.t.Fatalf("%s received %d bytes, the server wrote it %d", c.name, len(c.recv), len(c.wrote))
		}
	}
}

func isGraceful(r server.CloseReason) bool {
	switch r {
	case server.ReasonEOF, server.ReasonFrameTooLarge, server.ReasonBadHeader, server.ReasonIdle, server.ReasonShutdown:
		return true
	}
	return false
}
