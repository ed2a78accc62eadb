package server

import (
	"time"

	"github.com/mobsim/mobsim/kernel"
)

// Closing a leaving connection safely. Everything it was owed is written
// and its FIN sent; what is left is to close without destroying what the
// peer has not received. Closing while the peer's input is unread resets
// the connection, and a reset destroys every byte the peer has not
// acknowledged; a byte it has acknowledged is in its kernel and survives
// (kernel.UnackedCounter). So the server closes at the first of: the peer's
// FIN (nothing more will come, the close sends a FIN); the peer's
// acknowledgement of everything, FIN included, whatever it still sends;
// LingerTimeout or the shutdown deadline.

const (
	// ackCheckMin and ackCheckMax bound the pause between two checks of
	// the connections waiting for their peer's acknowledgement. No edge
	// announces an ACK, so a timer asks the kernel: 1 ms after a
	// connection starts waiting (on loopback the ACK of a FIN takes
	// microseconds), then doubling while any still waits, so that a peer
	// that never acknowledges (it does not read) costs one ioctl per 50 ms.
	ackCheckMin = time.Millisecond
	ackCheckMax = 50 * time.Millisecond

	// shutdownLogEvery is how often a shutdown that is still waiting
	// logs what for.
	shutdownLogEvery = time.Second

	// ackStallMin is how long the count of what a peer has not
	// acknowledged must stand still before the peer counts as not taking
	// its output (it does not read): a peer that reads acknowledges within
	// a round trip, and its count falls.
	ackStallMin = 4 * ackCheckMax
)

// awaitAck puts c, just written its FIN, on the list the ack timer checks,
// if its kernel can count what the peer has not acknowledged. Otherwise c
// waits for its peer's FIN or its deadline.
func (s *Server) awaitAck(c *conn) {
	if _, ok := c.stream.(kernel.UnackedCounter); !ok || c.ackWait {
		return
	}
	c.ackWait, c.unacked, c.unackedAt = true, -1, s.now
	s.ackWait = append(s.ackWait, c)
	// The next check comes ackCheckMin from now at the latest, never
	// later than one already due: a stream of new leavers must not keep
	// postponing the check the earlier ones wait for.
	next := after(s.now, ackCheckMin)
	if len(s.ackWait) == 1 || next < s.ackAt {
		s.ackStep, s.ackAt = ackCheckMin, next
	}
}

// checkAcks closes every waiting connection whose peer has acknowledged
// everything, and keeps the others for the next check, which comes twice
// as late as this one did (at most ackCheckMax).
func (s *Server) checkAcks() {
	waiting := s.ackWait[:0]
	for i, c := range s.ackWait {
		s.ackWait[i] = nil
		if !c.ackWait {
			continue // closed meanwhile
		}
		if !s.acked(c) {
			if c.ackWait {
				waiting = append(waiting, c)
			}
			continue
		}
		c.ackWait = false
		s.closeAcked(c)
	}
	s.ackWait = waiting
	if len(waiting) > 0 {
		s.ackStep = min(2*s.ackStep, ackCheckMax)
		s.ackAt = after(s.now, s.ackStep)
	}
}

// acked reports whether c has been written everything it was owed and its
// FIN, and its peer has acknowledged all of it: a close now, even one that
// resets, costs the peer nothing. It asks the kernel; a kernel that cannot
// tell (no kernel.UnackedCounter, or an error) makes it false for good.
func (s *Server) acked(c *conn) bool {
	if !c.flushed(s.ring.end) {
		return false
	}
	u, ok := c.stream.(kernel.UnackedCounter)
	if !ok || c.ackUnknown {
		return false
	}
	n, err := u.UnackedBytes()
	s.stats.AckChecks++
	if err != nil {
		c.ackWait, c.ackUnknown = false, true // not asked again
		s.log.Debug("unacked bytes", "conn", c.stream, "err", err)
		return false
	}
	if c.unacked >= 0 && n < c.unacked {
		c.unackedAt = s.now // it falls: the peer is taking its output
	}
	c.unacked = n
	return n == 0
}

// closeAcked closes c, whose peer has everything (closeDrained).
func (s *Server) closeAcked(c *conn) { s.closeDrained(c, c.reason) }

// closeDrained closes c, whose peer has acknowledged everything, for
// reason. It reads first what the peer sent (lastDrain), so that the close
// is a FIN rather than a reset where it can be: a reset is safe now, but a
// peer still sending sees an error. A peer that sent more than
// LingerBytesMax meanwhile is cut (linger-bytes, a reset): it goes on
// sending to a connection that owes it nothing.
func (s *Server) closeDrained(c *conn, reason CloseReason) {
	if !s.lastDrain(c) {
		reason = ReasonLingerBytes
	}
	if c.state != stateClosed {
		s.closeConn(c, reason, nil)
	}
}

// logShutdownWait says what a shutdown still waits for: connections still
// being written what they are owed, and those written everything whose
// peers have not acknowledged it (the last count) or sent their FIN.
func (s *Server) logShutdownWait() {
	flushing, owed, acking, unacked := 0, uint64(0), 0, 0
	for _, c := range s.tab.conns {
		if c == nil || c.state != stateLeaving {
			continue
		}
		if p := c.pendingAll(s.ring.end); p > 0 || !c.wclosed {
			flushing++
			owed += p
			continue
		}
		acking++
		unacked += max(c.unacked, 0) // -1: not counted yet, or the kernel cannot count
	}
	s.log.Info("shutdown waiting", "conns", s.tab.live, "flushing", flushing, "owed_bytes", owed,
		"awaiting_ack_or_fin", acking, "unacked_bytes", unacked, "deadline_in", s.shutdownAt-s.now)
}

// lingerCut is what LingerBytesMax allows once a leaving connection has
// sent that much since it left, and reports whether it closed c: if c was
// written everything and its peer acknowledged it, the safe close
// (closeDrained: for the reason it left for, or linger-bytes if it keeps
// sending); if it left for a protocol error, was written its error frame
// and FIN and ignores them, the cut (reason linger-bytes, a reset).
// Ignoring them means not taking them: where the kernel counts what the
// peer has not acknowledged, a peer whose count still falls (it reads, the
// acknowledgement is on its way) is not cut, since a reset would destroy
// the error frame it is about to get; one whose count stood still for
// ackStallMin is. A connection still owed output is never cut for what it
// sends: its peer cannot know to stop, since the server's FIN comes only
// after the flush. Its reading keeps the input rate meanwhile.
func (s *Server) lingerCut(c *conn) bool {
	switch {
	case s.acked(c):
		s.closeDrained(c, c.reason)
	case !c.flushed(s.ring.end) || !c.reason.IsProtocolError():
		return false
	case c.ackWait && s.now-c.unackedAt < ackStallMin:
		return false // still taking its output: wait for the acknowledgement
	default:
		s.closeConn(c, ReasonLingerBytes, nil)
	}
	return true
}
