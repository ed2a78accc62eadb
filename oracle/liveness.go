package oracle

import (
	"fmt"
	"time"
)

// Liveness: once the world has settled (clients only finish what they
// started and read everything, and time has passed for every server timer
// to fire), every client still connected was accepted and is either a
// member that is up to date both ways or closed, and no connection is stuck
// leaving.

// Settled is the world's own state when it asks whether the history is
// live: the kernel's descriptors (a backlog may wait only while none is
// free; FDsMax 0 if unknown), and how late an idle close may come (the
// world's longest poll wait).
type Settled struct {
	FDsOpen, FDsMax int
	IdleSlack       time.Duration
}

// Quiet reports whether nothing is left to move: every client still
// connected was accepted, every member has been read everything its client
// sent and has received everything it is owed, no member's client is gone
// (with the kernel's record: the server has its end to read), and no
// connection is still leaving. (Whether the clients themselves have more
// to send is the world's to say.)
func (o *Oracle) Quiet() bool {
	for _, c := range o.clients {
		if o.kernel && c.gone && c.member() {
			return false
		}
		if c.done() {
			continue
		}
		if o.kernel && !c.accepted {
			return false
		}
		if c.member() && o.lagOf(c) != lagNone {
			return false
		}
	}
	for _, c := range o.list {
		if c.left && !c.closed {
			return false
		}
	}
	return true
}

// Stuck returns what keeps the history from being live, or "": the first
// client still connected that the server has not served. The world decides
// when to ask (after its drain), and whether to wait and ask again (a live
// world) or record it (FailStuck).
func (o *Oracle) Stuck(s Settled) string {
	why, _ := o.stuck(s)
	return why
}

// FailStuck records what Stuck finds, if anything, as a liveness violation
// about the connection it names, with that connection's facts, and
// reports whether it found something.
func (o *Oracle) FailStuck(s Settled) bool {
	why, c := o.stuck(s)
	if why == "" {
		return false
	}
	o.failc(c, InvLiveness, "%s", why)
	return true
}

func (o *Oracle) stuck(s Settled) (string, *conn) {
	o.judgeLosses()
	for _, c := range o.clients {
		if why := o.unserved(c, s); why != "" {
			return why, c
		}
	}
	for _, c := range o.list {
		if c.left && !c.closed && !c.forgotten {
			return fmt.Sprintf("%s: left (%v) and was never closed: its client waits for an end of stream that never comes", c.label(), c.leaveWhy), c
		}
	}
	return "", nil
}

// unserved says how the server has not served client connection c, or "".
func (o *Oracle) unserved(c *conn, s Settled) string {
	switch {
	case o.kernel && c.gone && c.member():
		// Its client closed or reset its socket: what reached the
		// server, then that end, is the server's to read.
		if c.readBytes < c.arrived {
			return fmt.Sprintf("%s is gone; the server read %d of the %d bytes that reached it: its last frames never reach the chat (data stranded)", c.label(), c.readBytes, c.arrived)
		}
		return fmt.Sprintf("%s is gone, and its connection is still a member: the server never read its end", c.label())
	case c.done():
	case o.kernel && !c.accepted:
		if s.FDsMax == 0 || s.FDsOpen < s.FDsMax {
			return fmt.Sprintf("%s never got in: it is still in the backlog after the drain with fds free (%d of %d open)", c.label(), s.FDsOpen, s.FDsMax)
		}
	case c.member():
		if it := o.cfg.IdleTimeout; o.kernel && o.clock != nil && it > 0 && o.now()-c.lastFrame > it+s.IdleSlack {
			return fmt.Sprintf("%s: no complete frame for %v, still a member (idle timeout %v)", c.label(), o.now()-c.lastFrame, it)
		}
		if ft := o.cfg.FrameTimeout; o.kernel && o.clock != nil && ft > 0 && c.partial > 0 && o.now()-c.partialAt > ft+s.IdleSlack {
			return fmt.Sprintf("%s: a frame begun %v ago is still unfinished, and it is still a member (frame timeout %v)", c.label(), o.now()-c.partialAt, ft)
		}
		if why := o.lagging(c); why != "" {
			return c.label() + ": " + why
		}
	case c.left && !c.closed:
		return fmt.Sprintf("%s: left (%v) and was never closed: its client waits for an end of stream that never comes", c.label(), c.leaveWhy)
	}
	return ""
}

// done: c's client is gone, or its reading ended: it expects nothing more.
func (c *conn) done() bool { return c.gone || c.ended != EndNone }

// lagging says how member c is behind, or "": its client's input not all
// read (claimed), its output not all written, or not all received.
func (o *Oracle) lagging(c *conn) string {
	owed := c.windowEnd(o) - c.join
	switch o.lagOf(c) {
	case lagUnread:
		return fmt.Sprintf("the server read %d of the %d bytes it sent: its last %d bytes never reach the chat (data stranded)", c.readBytes, c.sent, c.sent-c.readBytes)
	case lagUnwritten:
		return fmt.Sprintf("the server wrote %d of the %d bytes it owes: its client never sees the last %d (output stranded)", c.written, owed, owed-c.written)
	case lagUnreceived:
		return fmt.Sprintf("its client received %d of %d bytes written", c.recv, c.written)
	case lagUnclaimed:
		unclaimed, _ := c.sentMatch.unmatched()
		return fmt.Sprintf("%d bytes of complete frames it sent never broadcast: the chat never sees them (data stranded)", unclaimed)
	case lagUnchecked:
		return fmt.Sprintf("its client received %d of the %d bytes it is owed", c.recv-uint64(len(c.held)), owed)
	}
	return ""
}

// lag is what keeps a member from being up to date, first found first.
type lag uint8

const (
	lagNone       lag = iota
	lagUnread         // kernel record: the server has not read all its client sent
	lagUnwritten      // kernel record: the server has not written all it owes
	lagUnreceived     // kernel record: its client has not received all written
	lagUnclaimed      // no kernel record: complete frames its client sent were not broadcast
	lagUnchecked      // no kernel record: its client has not received all it is owed
)

// lagOf finds c's lag without words: Quiet asks it of every member on
// every step of a drain.
func (o *Oracle) lagOf(c *conn) lag {
	owed := c.windowEnd(o) - c.join
	if o.kernel {
		switch {
		case c.readBytes < c.sent:
			return lagUnread
		case c.written < owed:
			return lagUnwritten
		case c.recv < c.written:
			return lagUnreceived
		}
		return lagNone
	}
	switch unclaimed, _ := c.sentMatch.unmatched(); {
	case unclaimed > 0:
		return lagUnclaimed
	case c.recv-uint64(len(c.held)) < owed:
		return lagUnchecked
	}
	return lagNone
}
