package oracle

import (
	"bytes"

	"github.com/mobsim/mobsim/server"
)

// The server's claims: what its Observer says (Joined, Left, Closed,
// Frame), each checked against the rest of the history, and the world's
// word that a graceful shutdown began.

// ShutdownBegan says the world asked the server to shut down gracefully.
func (o *Oracle) ShutdownBegan() {
	if !o.shutdown {
		o.shutdown, o.downAt = true, o.now()
		o.tickAt = o.downAt // the server reads its clock as it starts the shutdown
	}
}

// Joined is the server's claim that id became a member: it is owed every
// frame that enters the order from now on.
func (o *Oracle) Joined(id ConnID) {
	c := o.conn(id)
	switch {
	case o.kernel && !c.accepted:
		o.failc(c, InvMembership, "%s joined without being accepted: the server counts a member the kernel never gave it", c.label())
	case c.joined:
		o.failc(c, InvMembership, "%s joined twice", c.label())
	case o.open >= o.cfg.ConnsMax:
		o.fact("open_conns", o.open)
		o.fact("conns_max", o.cfg.ConnsMax)
		o.failc(c, InvMembership, "%s joined with %d open, ConnsMax %d: the server took more clients than it is configured for", c.label(), o.open, o.cfg.ConnsMax)
	case len(c.errW) > 0:
		o.failc(c, InvDelivery, "%s was written %d bytes before it joined: its client receives bytes that are no frame of the chat", c.label(), len(c.errW))
	}
	c.joined = true
	c.join = o.order.end()
	c.liveIdx = len(o.live)
	o.live = append(o.live, c)
	o.open++
	o.members++
	o.progress++
}

// Frame is the server's claim that the next frame of the global order is
// head followed by tail, read from id. With a kernel record it must be the
// next frame cut from the server's reads; without, the next frame id's
// client completed sending. Its sender must be a member.
func (o *Oracle) Frame(id ConnID, head, tail []byte) {
	got := func() []byte { return clip(append(append([]byte(nil), head...), tail...)) }
	c := o.lookup(id)
	if c == nil || !c.member() {
		o.failc(c, InvDelivery, "the server broadcast a frame from %s, which is not a member (%q): the members receive a frame from outside the chat", o.lookup(id).labelOr(id), got())
		return
	}
	if o.kernel {
		if len(o.pend) == 0 {
			o.failc(c, InvDelivery, "the server broadcast a frame from %s that no read delivered whole (%q): the members receive a frame its client never sent", c.label(), got())
			return
		}
		f := o.pend[0]
		want := o.pendBytes[f.start:f.end]
		if f.id != id || len(want) != len(head)+len(tail) || !bytes.Equal(want[:len(head)], head) || !bytes.Equal(want[len(head):], tail) {
			o.fact("frame", o.order.frames)
			o.failc(c, InvDelivery, "the server broadcast frame %d as %q from %s, but the reads give %q from %s: the members receive the wrong frame",
				o.order.frames, got(), c.label(), clip(want), o.lookup(f.id).labelOr(f.id))
			return
		}
		o.pend = o.pend[1:]
	}
	frame := o.order.add(head, tail)
	c.frames++
	if !o.kernel {
		o.claimed(c, frame)
		o.recheckHeld()
	}
	o.trim()
}

// Left is the server's claim that id stopped being a member for reason r:
// it is owed the frames of the order up to here, then, for a protocol
// error, one error frame.
func (o *Oracle) Left(id ConnID, r server.CloseReason) {
	c := o.conn(id)
	if !c.member() {
		o.failc(c, InvMembership, "%s left (%v) while not a member", c.label(), r)
		return
	}
	c.left, c.stop, c.leaveWhy = true, o.order.end(), r
	c.leftAt, c.leftTick = o.now(), o.serverNow()
	o.leaves++
	o.members--
	o.progress++
	o.require(c, r, leaveRule(r), atClaim)
	o.require(c, r, leaveAlways, atClaim)
	o.holdPartial(c, 0) // the server drops what it held of an unfinished frame
	if !o.kernel {
		o.recheck(c)
	}
}

// Closed is the server's claim that it closed id for reason r.
func (o *Oracle) Closed(id ConnID, r server.CloseReason) {
	c := o.conn(id)
	if c.closed {
		o.failc(c, InvMembership, "%s closed twice", c.label())
		return
	}
	c.closed, c.closeWhy = true, r
	c.closeTick = o.tickNo
	o.progress++
	if !c.joined {
		c.join = o.order.end() // its window is empty
	}
	if !c.left {
		c.stop = o.order.end()
	}
	o.settlePending(c, r)
	o.require(c, r, closeRule(r), atClaim)
	o.holdPartial(c, 0)
	switch {
	case r.Rejects():
		c.rejected = true
	case !c.joined:
		o.failc(c, InvMembership, "%s closed (%v) but never joined", c.label(), r)
	default:
		o.open--
		if !c.left {
			o.members--
		}
		o.unlive(c)
		o.require(c, r, closeAlways, atClaim)
	}
	if !o.kernel {
		o.recheck(c)
		o.maybeFinish(c)
	}
}

// settlePending deals with the frames already cut from c's input but not
// yet claimed: a teardown drops them with the connection; any other close
// must have broadcast them first.
func (o *Oracle) settlePending(c *conn, r server.CloseReason) {
	if r.Aborts() {
		kept := o.pend[:0]
		for _, f := range o.pend {
			if f.id != c.id {
				kept = append(kept, f)
			}
		}
		o.pend = kept
		return
	}
	for _, f := range o.pend {
		if f.id == c.id {
			o.fact("unbroadcast_frame_bytes", f.end-f.start)
			o.failc(c, InvDelivery, "%s closed for %v with a complete frame read and never broadcast: the members never receive it", c.label(), r)
		}
	}
}

// unlive drops c from the connections joined and not closed.
func (o *Oracle) unlive(c *conn) {
	i, last := c.liveIdx, len(o.live)-1
	if i < 0 {
		return
	}
	o.live[i] = o.live[last]
	o.live[i].liveIdx = i
	o.live[last] = nil
	o.live = o.live[:last]
	c.liveIdx = -1
}
