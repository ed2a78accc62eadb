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
	c.lastData = o.now()
	c.input = newDecoder(o.cfg)
	o.progress++
	o.tick.accepts++
}

// AcceptFailed says an Accept failed with an error other than would-block
// (EMFILE, ECONNABORTED, ...): a call that counts against AcceptsPerTickMax.
func (o *Oracle) AcceptFailed() { o.tick.accepts++ }

// Read says a server Read on id returned p (len(p) > 0). Its frames join
// the claims the server owes before its next read.
func (o *Oracle) Read(id ConnID, p []byte) {
	c := o.conn(id)
	o.progress++
	o.tick.note(id, 0, len(p))
	c.readBytes += uint64(len(p))
	if c.left {
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
	c.lastData = o.now()
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
// it returned: a call that counts against WriteCallsPerTickMax.
func (o *Oracle) WriteCall(id ConnID) { o.tick.note(id, 1, 0) }

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
// sent an RST because input was left unread.
func (o *Oracle) Reset(id ConnID) {
	c := o.conn(id)
	c.reset = true
	if !o.losses && c.closed && c.joined && c.closeWhy.PromisesFlush() && !o.tick.readSpent(id, o.cfg.ReadBytesPerTickMax) {
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
	if n <= 0 || !c.closed || !c.joined || !c.closeWhy.PromisesFlush() || c.gone {
		return
	}
	if c.late || o.shuttingDownLate() {
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

// shuttingDownLate: a shutdown is under way and its deadline has passed.
func (o *Oracle) shuttingDownLate() bool {
	return o.shutdown && o.now()-o.downAt >= o.cfg.ShutdownTimeout
}

func (o *Oracle) failLost(c *conn) {
	o.fact("lost_bytes", c.lost)
	o.failc(c, InvDelivery, "%s closed for %v, then its RST destroyed %d bytes of the output the server claims it delivered: its client never receives them", c.label(), c.closeWhy, c.lost)
}

// judgeLosses fails the losses between ticks that no client excused.
func (o *Oracle) judgeLosses() {
	for _, id := range o.lossPending {
		if c := o.conns[id]; c != nil && !c.gone && !c.bad {
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
