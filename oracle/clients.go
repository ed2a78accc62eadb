package oracle

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/mobsim/mobsim/server"
)

// The clients' account: what each client sent and received and how its
// connection ended. It is optional; liveness needs it, and a history
// without a kernel record checks delivery through it. A live world may
// report it late (after the server's claims it caused): what cannot be
// judged yet is held until it can.

// End says how a client's reading of its connection ended.
type End uint8

// Ends.
const (
	EndNone      End = iota // it has not ended, or the client never read
	EndEOF                  // end of stream, right after the bytes it reported
	EndTruncated            // end of stream inside a frame whose bytes it did not report
	EndReset                // an error (ECONNRESET, ...) while its socket was still open
	EndLocal                // it closed its own socket first
)

var endNames = [...]string{"none", "eof", "truncated", "reset", "local"}

func (e End) String() string {
	if int(e) < len(endNames) {
		return endNames[e]
	}
	return "end(" + strconv.Itoa(int(e)) + ")"
}

// ClientConnected says a client opened connection id; name is how liveness
// reports call it.
func (o *Oracle) ClientConnected(id ConnID, name string) {
	c := o.conn(id)
	if c.client {
		return
	}
	c.client, c.name = true, name
	c.sentDec = newDecoder(o.cfg)
	o.clients = append(o.clients, c)
}

// ClientSent says id's client socket took p.
func (o *Oracle) ClientSent(id ConnID, p []byte) {
	c := o.conn(id)
	c.sent += uint64(len(p))
	o.progress++
	if o.kernel {
		c.sentMatch.feed(p, nil) // matched against the server's reads
		return
	}
	c.sentDec.feed(p, func(f []byte) {
		if at := c.sentMatch.feed(f, nil); at >= 0 {
			o.claimMismatch(c, at)
		}
	})
}

// ClientReceived says id's client read p.
func (o *Oracle) ClientReceived(id ConnID, p []byte) {
	c := o.conn(id)
	o.progress++
	if o.kernel {
		o.receivedWritten(c, p)
		return
	}
	c.recv += uint64(len(p))
	c.held = append(c.held, p...)
	o.recheck(c)
}

// ClientEnded says how id's client's reading ended.
func (o *Oracle) ClientEnded(id ConnID, how End) {
	c := o.conn(id)
	if c.ended != EndNone {
		return // the first end is how it ended
	}
	c.ended = how
	if !o.kernel || c.bad || (how != EndEOF && how != EndReset) {
		return
	}
	// An end of stream, or a reset, follows everything the server wrote
	// but what the kernel says it lost (an RST purges what was still
	// waiting). Without that report an RST may have destroyed anything, so
	// only a clean end is checked.
	written := c.written + uint64(len(c.errW))
	switch {
	case o.losses && c.recv+c.lostAll != written:
		o.fact("written_total_bytes", written)
		o.fact("lost_bytes", c.lostAll)
		o.failc(c, InvKernel, "%s: its client's stream ended (%v) after %d bytes, but the server wrote %d and the kernel lost %d: bytes went missing or appeared on the way", c.label(), how, c.recv, written, c.lostAll)
	case !o.losses && how == EndEOF && !c.reset && c.recv != written:
		o.fact("written_total_bytes", written)
		o.failc(c, InvKernel, "%s: its client read EOF after %d bytes; the server wrote %d: the kernel lost the last %d", c.label(), c.recv, written, written-min(c.recv, written))
	}
}

// ClientGone says id's client closed (or, if reset, reset) its socket, or
// gave up on it: nothing more comes from it. It is the last fact about a
// client.
func (o *Oracle) ClientGone(id ConnID, reset bool) {
	c := o.conn(id)
	c.gone = true
	c.clientReset = c.clientReset || reset
	if !o.kernel {
		o.maybeFinish(c)
	}
}

// sentArrived checks, with a kernel record, that what the server read from
// c is what its client sent: the kernel carries bytes faithfully.
func (o *Oracle) sentArrived(c *conn, p []byte) {
	if !c.client || c.bad {
		return
	}
	if at := c.sentMatch.feed(nil, p); at >= 0 {
		o.fact("at_byte", at)
		o.failc(c, InvKernel, "%s: byte %d the server read differs from what its client sent: the kernel corrupted its input", c.label(), at)
		return
	}
	if _, n := c.sentMatch.unmatched(); n > 0 {
		o.failc(c, InvKernel, "the server read %d bytes from %s beyond all its client sent: the kernel invented input", n, c.label())
	}
}

// receivedWritten checks, with a kernel record, what a client received
// against what the server wrote to its connection: the kernel must carry
// bytes faithfully.
func (o *Oracle) receivedWritten(c *conn, p []byte) {
	written := c.written + uint64(len(c.errW))
	if c.recv+uint64(len(p)) > written {
		o.failc(c, InvKernel, "%s: its client read %d bytes; the server wrote %d: the kernel invented output", c.label(), c.recv+uint64(len(p)), written)
		return
	}
	// The connection's stream is its window as written, then errW.
	off := c.recv
	if off < c.written {
		n := min(uint64(len(p)), c.written-off)
		if !bytes.Equal(p[:n], o.order.at(c.join+off, c.join+off+n)) {
			o.failc(c, InvKernel, "%s: its client received bytes %d..%d unlike what the server wrote: the kernel corrupted its output", c.label(), off, off+n)
			return
		}
		p, off = p[n:], off+n
	}
	if len(p) > 0 && !bytes.Equal(p, c.errW[off-c.written:off-c.written+uint64(len(p))]) {
		o.failc(c, InvKernel, "%s: its client received bytes %d.. unlike the error frame the server wrote: the kernel corrupted its output", c.label(), off)
		return
	}
	c.recv = off + uint64(len(p))
}

// claimed matches, without a kernel record, a frame the server claimed from
// c against the frames its client completed sending.
func (o *Oracle) claimed(c *conn, frame []byte) {
	if at := c.sentMatch.feed(nil, frame); at >= 0 {
		o.claimMismatch(c, at)
	}
}

func (o *Oracle) claimMismatch(c *conn, at int64) {
	o.fact("at_byte", at)
	o.failc(c, InvDelivery, "%s: the frames the server broadcast from it differ from the frames its client sent at byte %d (lost, reordered or invented)", c.label(), at)
}

// recheck judges, without a kernel record, what c's client received and
// could not be judged yet: against its window of the order as far as the
// order is known, then, once the window is final, against the one frame
// that may follow it.
func (o *Oracle) recheck(c *conn) {
	defer o.noteHolding(c)
	if len(c.held) == 0 || c.bad || (!c.joined && !c.closed) {
		return
	}
	checked := c.recv - uint64(len(c.held))
	if win := c.windowEnd(o) - c.join; checked < win {
		n := min(uint64(len(c.held)), win-checked)
		from := c.join + checked
		if i := firstDiff(c.held[:n], o.order.at(from, from+n)); i >= 0 {
			o.fact("at_byte", checked+uint64(i))
			o.failc(c, InvDelivery, "%s received %q at byte %d of its stream, where the order has %q: its client sees a gap, duplicate or reordering",
				c.label(), clip(c.held[i:n]), checked+uint64(i), clip(o.order.at(from+uint64(i), from+n)))
			return
		}
		o.delivered += uint64(o.order.framesEnding(from, from+n))
		c.held = shift(c.held, int(n))
	}
	if len(c.held) > 0 && (c.left || c.closed) {
		o.checkTail(c)
	}
}

// checkTail judges what c's client received past its final window: at most
// one frame, the one its close allows.
func (o *Oracle) checkTail(c *conn) {
	c.tailRecv = append(c.tailRecv, c.held...)
	c.held = c.held[:0]
	switch {
	case c.rejected:
		if line := o.rejectLine(); !bytes.HasPrefix(line, c.tailRecv) {
			o.failc(c, InvDelivery, "%s was turned away and received %q, not a prefix of %q", c.label(), clip(c.tailRecv), line)
		}
	case c.left && c.leaveWhy.TellsWhy():
		if !o.errorFramePrefix(c.tailRecv) {
			o.failc(c, InvDelivery, "%s left for %v and received %q after its window, not an error frame", c.label(), c.leaveWhy, clip(c.tailRecv))
		}
	default:
		o.failc(c, InvDelivery, "%s received %d bytes past its window: its client gets frames read after it left or was closed", c.label(), len(c.tailRecv))
	}
}

func (o *Oracle) noteHolding(c *conn) {
	if len(c.held) > 0 && !c.holding && !c.bad {
		c.holding = true
		o.holding = append(o.holding, c)
	}
}

// recheckHeld judges held receipts again: the order has grown.
func (o *Oracle) recheckHeld() {
	if len(o.holding) == 0 {
		return
	}
	hs := o.holding
	o.holding = nil
	for _, c := range hs {
		c.holding = false
		o.recheck(c)
	}
}

// maybeFinish runs, without a kernel record, the checks that need the
// whole of a connection's account, once the server has closed it and its
// client is gone; then it forgets the connection.
func (o *Oracle) maybeFinish(c *conn) {
	if !c.closed || !c.client || !c.gone || c.forgotten {
		return
	}
	o.recheck(c)
	if c.left {
		o.require(c, c.leaveWhy, leaveRule(c.leaveWhy), atEnd)
	}
	o.require(c, c.closeWhy, closeRule(c.closeWhy), atEnd)
	if c.joined {
		o.require(c, c.closeWhy, closeAlways, atEnd)
	}
	if _, n := c.sentMatch.unmatched(); n > 0 {
		o.failc(c, InvDelivery, "the server broadcast %d bytes from %s that its client never sent", n, c.label())
	}
	o.forget(c)
}

// receivedWhole is the client-side form of the flush promise: a client that
// read to the end of stream after a close that promises the flush received
// its whole window, then its error frame if it broke the framing.
func (o *Oracle) receivedWhole(c *conn, r server.CloseReason) string {
	if !r.PromisesFlush() || !c.left {
		return ""
	}
	switch c.ended {
	case EndEOF:
		got, window := min(c.recv, c.stop-c.join), c.stop-c.join
		if got < window {
			return fmt.Sprintf("%s closed for %v after a flush, but its client read only %d of its %d bytes before the end of stream: it lost the last %d", c.label(), r, got, window, window-got)
		}
		if r.TellsWhy() && !o.isErrorFrame(c.tailRecv) {
			return fmt.Sprintf("%s closed for %v without the error frame (got %q): its client is never told why", c.label(), r, clip(c.tailRecv))
		}
		o.complete++
	case EndTruncated:
		return fmt.Sprintf("%s closed for %v after a flush, yet its stream ended inside a frame: its client got a cut frame", c.label(), r)
	}
	return ""
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
