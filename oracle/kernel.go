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
		o.failc(c, InvKernel, "conn %d accepted twice", id)
	}
	c.accepted = true
	c.lastFrame = o.now()
	c.bucket, c.bucketAt = int64(o.cfg.InputBurstBytes)*int64(time.Second), o.now()
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
	o.spend(c, len(p))
	o.sentArrived(c, p)
	if len(o.pend) > 0 {
		o.failc(c, InvDelivery, "server read again before broadcasting the %d frames it had read from conn %d", len(o.pend), o.pend[0].id)
		return
	}
	o.pendBytes = o.pendBytes[:0]
	switch {
	case c.rejected:
		o.failc(c, InvMembership, "server read from conn %d, which it turned away", id)
		return
	case !c.joined:
		o.failc(c, InvMembership, "server read from conn %d before it joined", id)
		return
	case c.left || c.input.err != 0:
		return // a leaving connection's input is read and dropped
	}
	fresh := len(c.input.buf) == 0
	c.input.feed(p, func(f []byte) {
		start := len(o.pendBytes)
		o.pendBytes = append(o.pendBytes, f...)
		o.pend = append(o.pend, pending{id: id, start: start, end: len(o.pendBytes)})
		c.lastFrame, fresh = o.now(), true
	})
	if len(c.input.buf) > 0 && fresh {
		c.partialAt = o.now() // its last frame began in this read
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
	c.partial = n
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
	if now := o.now(); now > c.bucketAt {
		earned := int64(now-c.bucketAt) * rate
		if earned < 0 || earned > full { // overflow, or a long pause
			earned = full
		}
		c.bucket, c.bucketAt = min(full, c.bucket+earned), now
	}
	if c.bucket -= int64(n) * int64(time.Second); c.bucket < 0 {
		o.failc(c, InvFairness, "conn %d read faster than its input rate (%d bytes/s, burst %d): %d bytes over",
			c.id, rate, o.cfg.InputBurstBytes, (-c.bucket+int64(time.Second)-1)/int64(time.Second))
	}
}

// ReadEOF says a server Read on id returned end of stream.
func (o *Oracle) ReadEOF(id ConnID) {
	c := o.conn(id)
	for _, f := range o.pend {
		if f.id == id {
			o.failc(c, InvDelivery, "server read EOF on conn %d before broadcasting a frame it had read", id)
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
		o.failc(c, InvKernel, "write to conn %d after the server closed it", id)
		return
	case !c.joined: // a connection about to be turned away: its line
		c.errW = append(c.errW, p...)
		return
	}
	limit := c.windowEnd(o)
	pos := c.join + c.written
	n := min(uint64(len(p)), limit-pos)
	if want := o.order.at(pos, pos+n); !bytes.Equal(p[:n], want) {
		o.failc(c, InvDelivery, "conn %d: bytes %d..%d of its stream differ from the broadcast (got %q, want %q)",
			id, c.written, c.written+n, clip(p[:n]), clip(want))
		return
	}
	c.written += n
	rest := p[n:]
	if len(rest) == 0 {
		return
	}
	switch {
	case !c.left:
		o.failc(c, InvDelivery, "conn %d: %d bytes written past everything the server read (duplicate or invented)", id, len(rest))
	case !c.leaveWhy.TellsWhy():
		o.failc(c, InvDelivery, "conn %d left for %v, then was written %d bytes past its leave point", id, c.leaveWhy, len(rest))
	default:
		c.errW = append(c.errW, rest...)
		if !o.errorFramePrefix(c.errW) {
			o.failc(c, InvDelivery, "conn %d left for %v and was written %q after its window, not an error frame", id, c.leaveWhy, clip(c.errW))
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
		o.failc(c, InvDelivery, "server sent conn %d its FIN while it was a member", id)
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
		o.failc(c, InvMemory, "conn %d was dropped for %v, but its kernel socket still holds %d bytes of its output (the close was not abortive)", id, c.closeWhy, held)
	}
}

// Reset says the kernel reported connection id reset on the server's side:
// a read or write failed with ECONNRESET or EPIPE, or the server's close
// sent an RST because input was left unread.
func (o *Oracle) Reset(id ConnID) {
	c := o.conn(id)
	c.reset = true
	if !o.losses && c.closed && c.joined && c.closeWhy.PromisesFlush() && !o.tick.readSpent(id, o.cfg.ReadBytesPerTickMax) {
		o.failc(c, InvDelivery, "conn %d closed for %v with unread input: its RST may destroy output the server claims it delivered", id, c.closeWhy)
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
	c.lost += uint64(n)
	if o.inTick {
		o.failLost(c)
		return
	}
	o.lossPending = append(o.lossPending, id)
}

func (o *Oracle) failLost(c *conn) {
	o.failc(c, InvDelivery, "conn %d closed for %v, then its RST destroyed %d bytes of the output the server claims it delivered", c.id, c.closeWhy, c.lost)
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
		return fmt.Sprintf("conn %d %s for %v still owed %d bytes", c.id, what, r, owed)
	}
	if r.TellsWhy() && !o.isErrorFrame(c.errW) {
		return fmt.Sprintf("conn %d %s for %v without a complete error frame (got %q)", c.id, what, r, clip(c.errW))
	}
	return ""
}
