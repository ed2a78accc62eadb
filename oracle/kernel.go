package oracle

import (
	"bytes"
	"fmt"
	"time"

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
	c.lastFrame, c.lastFrameTick = o.now(), o.serverNow()
	c.bucket, c.bucketAt = int64(o.cfg.InputBurstBytes)*int64(time.Second), o.serverNow() // the server earns by its own clock
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
		c.readLeft += uint64(len(p))
	}
	o.spend(c, len(p))
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
	fresh := len(c.input.buf) == 0
	c.input.feed(p, func(f []byte) {
		start := len(o.pendBytes)
		o.pendBytes = append(o.pendBytes, f...)
		o.pend = append(o.pend, pending{id: id, start: start, end: len(o.pendBytes)})
		c.lastFrame, c.lastFrameTick, fresh = o.now(), o.serverNow(), true
	})
	if len(c.input.buf) > 0 && fresh {
		c.partialAt, c.partialAtTick = o.now(), o.serverNow() // its last frame began in this read
	}
	o.holdPartial(c, len(c.input.buf))
}

// holdPartial records that c's input now ends n bytes into a frame (0 at
// a frame boundary, or once the server drops it): bytes the server must
// keep for it, and counts against InputBytesMax.
func (o *Oracle) holdPartial(c *conn, n int) {
	if c.input.err != 0 || c.left || c.closed {
		n = 0
	}
	o.partials += n - c.partial
	o.holders += b2i(n > 0) - b2i(c.partial > 0)
	c.partial = n
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// spend takes n bytes read from c out of its input-rate bucket: the server
// may not read a connection faster than InputRateBytesPerSec, with
// InputBurstBytes at once. The bucket earns exactly (in byte-nanoseconds),
// so the server, which earns in whole bytes, can only be below it. A read
// of a connection whose write failed (readBroken: the kernel reported the
// reset) is exempt: it is closing.
func (o *Oracle) spend(c *conn, n int) {
	rate := int64(o.cfg.InputRateBytesPerSec)
	if rate <= 0 || o.clock == nil || c.reset {
		return
	}
	full := int64(o.cfg.InputBurstBytes) * int64(time.Second)
	if now := o.serverNow(); now > c.bucketAt {
		earned := int64(now-c.bucketAt) * rate
		if earned < 0 || earned > full { // overflow, or a long pause
			earned = full
		}
		c.bucket, c.bucketAt = min(full, c.bucket+earned), now
	}
	if c.bucket -= int64(n) * int64(time.Second); c.bucket >= 0 {
		return
	}
	if c.left && !c.overRate {
		// Perhaps its last drain, which the close that follows in the
		// same tick excuses (see lastDrain): judged at the tick's end.
		c.overRate = true
		o.rateOver = append(o.rateOver, c)
		return
	}
	if !c.left {
		o.failRate(c)
	}
}

func (o *Oracle) failRate(c *conn) {
	over := (-c.bucket + int64(time.Second) - 1) / int64(time.Second)
	o.fact("over_rate_bytes", over)
	o.failc(c, InvFairness, "%s was read faster than its input rate (%d bytes/s, burst %d), %d bytes over: a flooder is served before the others",
		c.label(), o.cfg.InputRateBytesPerSec, o.cfg.InputBurstBytes, over)
}

// judgeRates fails, at the end of a tick, the leavers read past their
// input rate in it that it did not close: only a last drain may be.
func (o *Oracle) judgeRates() {
	for _, c := range o.rateOver {
		if !c.closed || c.closeTick != o.tickNo {
			o.failRate(c)
		}
	}
	o.rateOver = o.rateOver[:0]
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
	case !c.leaveWhy.TellsWhy():
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

// Released says the server's close of id returned, its kernel socket
// still holding held bytes of output it never sent (behind the peer's
// closed window). A close for a reason that resets the connection must
// leave none: the server drops that peer anyway, and an orphaned socket
// keeps its send buffer for as long as the kernel retries a peer that does
// not read (kernel.Aborter frees it at once).
func (o *Oracle) Released(id ConnID, held int) {
	c := o.conn(id)
	if c.closed && c.closeWhy.Resets() && held > 0 {
		o.fact("kernel_held_bytes", held)
		o.failc(c, InvMemory, "%s was dropped for %v, but its kernel socket still holds %d bytes of its output (the close was not abortive): kernel memory outlives the connection", c.label(), c.closeWhy, held)
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

// promisedWhole reports whether c's close promised that the client loses
// none of its output: a close that promises the flush, and a linger-bytes
// cut of a connection that had not left for a protocol error, which the
// server may make only once the peer acknowledged everything (it is owed
// nothing; see the linger-bytes rule in reasons.go).
func (o *Oracle) promisedWhole(c *conn) bool {
	return c.closeWhy.PromisesFlush() || (c.closeWhy == server.ReasonLingerBytes && !c.leaveWhy.IsProtocolError())
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
	if !c.closed || !c.joined || !o.promisedWhole(c) || c.gone {
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
	if r.TellsWhy() && !o.isErrorFrame(c.errW) {
		return fmt.Sprintf("%s %s for %v without a complete error frame (got %q): its client is never told why", c.label(), what, r, clip(c.errW))
	}
	return ""
}
