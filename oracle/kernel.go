package oracle

import (
	"bytes"
	"fmt"

	"github.com/mobsim/mobsim/server"
)

// The kernel's record: what each of the server's syscalls returned, one
// call per fact, in the order the calls were made. A world that has it
// says so (Config.Kernel) and reports every call.

// Accepted says Accept returned the server's side of connection id.
func (o *Oracle) Accepted(id ConnID) {
	c := o.conn(id)
	if c.accepted {
		o.failc(c, InvKernel, "%s accepted twice", c.label())
	}
	c.accepted = true
	c.lastData, c.lastDataTick = o.now(), o.serverNow()
	c.input = newDecoder(o.cfg)
	o.progress++
}

// Arrived says n bytes from id's client reached the server's socket:
// readable from now on.
func (o *Oracle) Arrived(id ConnID, n int) {
	c := o.conn(id)
	if c.arrTick != o.tickNo {
		c.arrTick, c.arrivedBefore = o.tickNo, c.arrived
	}
	c.arrived += uint64(n)
}

// ReadCall says the server made one Read call on id, whatever it returned
// (its bytes, if any, follow as Read).
func (o *Oracle) ReadCall(id ConnID) {
	c := o.conn(id)
	o.calls++
	c.arrivedAtRead, c.readCallAt = c.arrived, o.calls
}

// unreadLeft is the input of c the server has not read though it could
// have, as it closes c: bytes that had reached its socket before this tick
// began, or before its last read call on c; and if that read was not its
// last call before the close, everything that arrived (it could have read
// again right before closing). Only bytes arriving just after a read that
// the close follows at once are a race no server can win.
func (o *Oracle) unreadLeft(c *conn) uint64 {
	seen := c.arrived
	if c.readCallAt == o.calls {
		seen = c.arrivedAtRead
		if c.arrTick != o.tickNo {
			seen = c.arrived // it all came before the tick
		} else {
			seen = max(seen, c.arrivedBefore)
		}
	}
	if seen > c.readBytes {
		return seen - c.readBytes
	}
	return 0
}

// Read says a server Read on id returned p (len(p) > 0). Its frames join
// the claims the server owes before its next read.
func (o *Oracle) Read(id ConnID, p []byte) {
	c := o.conn(id)
	o.progress++
	o.tick.note(id, 0, len(p))
	c.readBytes += uint64(len(p))
	if c.left {
		if c.readLeft > uint64(o.cfg.LingerBytesMax) && !c.closed {
			o.fact("read_since_leaving_bytes", c.readLeft)
			o.failc(c, InvMembership, "the server read %s again after it had sent %d bytes since it left (LingerBytesMax %d): it should have been closed", c.label(), c.readLeft, o.cfg.LingerBytesMax)
			return
		}
		c.readLeft += uint64(len(p))
	}
	o.sentArrived(c, p)
	if len(o.pend) > 0 {
		o.fact("frames_waiting", len(o.pend))
		o.failc(c, InvDelivery, "the server read again before broadcasting the %d frames it had read from %s: the order no longer follows its reads", len(o.pend), o.lookup(o.pend[0].id).labelOr(o.pend[0].id))
		return
	}
	o.pendBytes = o.pendBytes[:0]
	switch {
	case c.rejected:
		o.failc(c, InvMembership, "the server read from %s, which it had turned away", c.label())
		return
	case !c.joined:
		o.failc(c, InvMembership, "the server read from %s before it joined: its frames would reach no one", c.label())
		return
	case c.left || c.input.err != 0:
		return // a leaving connection's input is read and dropped
	}
	c.lastData, c.lastDataTick = o.now(), o.serverNow()
	c.input.feed(p, func(f []byte) {
		start := len(o.pendBytes)
		o.pendBytes = append(o.pendBytes, f...)
		o.pend = append(o.pend, pending{id: id, start: start, end: len(o.pendBytes)})
	})
}

// ReadEOF says a server Read on id returned end of stream.
func (o *Oracle) ReadEOF(id ConnID) {
	c := o.conn(id)
	for _, f := range o.pend {
		if f.id == id {
			o.failc(c, InvDelivery, "the server read the end of %s's stream before broadcasting a frame it had read from it: the frame may be lost", c.label())
		}
	}
	if c.joined && !c.left && c.eofAt < 0 {
		c.eofAt = int64(o.order.end())
	}
}

// WriteCall says the server made one Write or Writev call on id, whatever
// it returned: a call that counts against WriteCallsPerTickMax. cut says
// the kernel took less than the call asked for because its buffer was full
// (a short count, or would-block).
func (o *Oracle) WriteCall(id ConnID, cut bool) {
	o.calls++
	o.tick.note(id, 1, 0)
	if cut {
		o.conn(id).writeCut = true
	}
}

// Wrote says a server write on id took p (len(p) > 0). A Writev that took
// several buffers may be reported as one call per piece, in order.
func (o *Oracle) Wrote(id ConnID, p []byte) {
	c := o.conn(id)
	o.progress++
	switch {
	case c.closed:
		o.failc(c, InvKernel, "a write to %s after the server closed it", c.label())
		return
	case !c.joined: // a connection about to be turned away: its line
		c.errW = append(c.errW, p...)
		return
	}
	limit := c.windowEnd(o)
	pos := c.join + c.written
	n := min(uint64(len(p)), limit-pos)
	if want := o.order.at(pos, pos+n); !bytes.Equal(p[:n], want) {
		o.fact("at_byte", c.written+uint64(firstDiff(p[:n], want)))
		o.failc(c, InvDelivery, "%s: bytes %d..%d of its stream differ from the broadcast (got %q, want %q): its client receives a wrong or reordered frame",
			c.label(), c.written, c.written+n, clip(p[:n]), clip(want))
		return
	}
	c.written += n
	rest := p[n:]
	if len(rest) == 0 {
		return
	}
	switch {
	case !c.left:
		o.failc(c, InvDelivery, "%s: %d bytes written past everything the server read: its client receives a duplicate or invented frame", c.label(), len(rest))
	case !c.leaveWhy.IsProtocolError():
		o.failc(c, InvDelivery, "%s left for %v, then was written %d bytes past its leave point: its client receives frames read after it left", c.label(), c.leaveWhy, len(rest))
	default:
		c.errW = append(c.errW, rest...)
		if !o.errorFramePrefix(c.errW) {
			o.failc(c, InvDelivery, "%s left for %v and was written %q after its window, not an error frame", c.label(), c.leaveWhy, clip(c.errW))
		}
	}
}

// ShutWrite says CloseWrite on id queued the server's FIN. For a member
// that left, the FIN ends its stream: everything owed must precede it.
func (o *Oracle) ShutWrite(id ConnID) {
	c := o.conn(id)
	o.calls++
	c.shut = true
	if !c.joined {
		return // a turned-away connection's line is best effort
	}
	if !c.left {
		o.failc(c, InvDelivery, "the server sent %s its FIN while it was a member: its client sees the chat end though it never left", c.label())
		return
	}
	if msg := o.flushFailure(c, "sent its FIN", c.leaveWhy); msg != "" {
		o.failc(c, InvDelivery, "%s", msg)
	}
}

// Reset says the kernel reported connection id reset on the server's side:
// a read or write failed with ECONNRESET or EPIPE, or the server's close
// sent an RST because input was left unread. After a close that promises
// the flush, that RST is the server's: it must have read everything it
// could (see unreadLeft), and without a report of lost output
// (Config.Losses) the RST may have destroyed some, so it is a violation.
func (o *Oracle) Reset(id ConnID) {
	c := o.conn(id)
	c.reset = true
	if !c.closed || !c.joined || !c.closeWhy.PromisesFlush() {
		return
	}
	if n := o.unreadLeft(c); n > 0 {
		o.fact("unread_bytes", n)
		o.failc(c, InvDelivery, "%s closed for %v with %d bytes of input it could have read left unread: the close reset the connection, and output in flight may be lost", c.label(), c.closeWhy, n)
		return
	}
	if !o.losses {
		o.failc(c, InvDelivery, "%s closed for %v with unread input: its RST may destroy output the server claims it delivered", c.label(), c.closeWhy)
	}
}

// Lost says n more bytes the server wrote to id will never reach its
// client (Config.Losses): an RST purged them from the send buffer, or they
// were discarded on the wire. After a close that promises the flush that
// is a loss the server caused, unless the client closed or reset its own
// socket first; a loss inside a tick is the server's own doing.
func (o *Oracle) Lost(id ConnID, n int) {
	c := o.conn(id)
	if n <= 0 {
		return
	}
	c.lostAll += uint64(n)
	if !c.closed || !c.joined || !c.closeWhy.PromisesFlush() || c.gone {
		return
	}
	if c.late {
		// Tolerated until issue 11: a close at the end of the linger
		// time (or the shutdown deadline) counts as graceful once
		// everything was written to the kernel, though the peer may not
		// have taken it yet and unread input then resets the connection.
		return
	}
	c.lost += uint64(n)
	if o.inTick {
		o.failLost(c)
		return
	}
	o.lossPending = append(o.lossPending, id)
}

func (o *Oracle) failLost(c *conn) {
	o.fact("lost_bytes", c.lost)
	o.failc(c, InvDelivery, "%s closed for %v, then its RST destroyed %d bytes of the output the server claims it delivered: its client never receives them", c.label(), c.closeWhy, c.lost)
}

// judgeLosses fails the losses between ticks that no client excused.
func (o *Oracle) judgeLosses() {
	for _, id := range o.lossPending {
		if c := o.lookup(id); c != nil && !c.gone && !c.bad {
			o.failLost(c)
		}
	}
	o.lossPending = o.lossPending[:0]
}

// flushFailure says what is missing if c, which has left, was not written
// everything it was owed for reason r: its window, then a whole error frame
// if r is a protocol error.
func (o *Oracle) flushFailure(c *conn, what string, r server.CloseReason) string {
	if owed := c.owed(o); owed > 0 {
		o.fact("unwritten_bytes", owed)
		return fmt.Sprintf("%s %s for %v still owed %d bytes: its client never receives the last of the chat", c.label(), what, r, owed)
	}
	if r.IsProtocolError() && !o.isErrorFrame(c.errW) {
		return fmt.Sprintf("%s %s for %v without a complete error frame (got %q): its client is never told why", c.label(), what, r, clip(c.errW))
	}
	return ""
}
