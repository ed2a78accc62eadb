package server

import (
	"errors"
	"fmt"
)

// pendingAll is everything c is still owed: ring bytes and its tail.
func (c *conn) pendingAll(end uint64) uint64 { return c.pending(end) + uint64(len(c.tail)) }

// leave ends c's membership: it receives no frame read from now on, is
// flushed what it is owed (then msg, if any), and is closed after that.
func (s *Server) leave(c *conn, reason CloseReason, msg []byte) {
	if c.state != stateMember {
		return
	}
	s.removeMember(c)
	s.idle.unlink(c)
	c.state = stateLeaving
	c.reason = reason
	c.stop = s.ring.end
	c.tail = msg
	c.partial = nil
	if s.cfg.Observer != nil {
		s.cfg.Observer.Left(c.stream, reason)
	}
	if c.cursor >= c.stop {
		s.unlag(c)
	}
	s.linger.pushBack(c, s.now)
	s.queueFlush(c)
}

// finishLeaving runs once a leaving connection has been flushed. If its peer
// already sent FIN the connection closes now. Otherwise the server sends FIN
// and waits (at most LingerTimeout) for the peer's; the read phase reads and
// drops anything before it (readDiscard): closing with unread data would
// reset the connection and could destroy the output it was just sent.
func (s *Server) finishLeaving(c *conn) {
	if c.eof {
		s.closeConn(c, c.reason, nil)
		return
	}
	if !c.wclosed {
		c.wclosed = true
		if err := c.stream.CloseWrite(); err != nil {
			// Everything owed was written; the peer is already gone
			// (ENOTCONN after its reset). Nothing more to wait for.
			s.closeConn(c, c.reason, err)
			return
		}
	}
	s.queueRead(c) // the read phase reads to its FIN: flush only writes
}

// flushed reports whether a leaving connection has been written everything
// it was owed and sent its FIN: a close now keeps the server's promise, so
// it is counted under the reason it left for, not as a timeout.
func (c *conn) flushed(end uint64) bool { return c.wclosed && c.pendingAll(end) == 0 }

// protocolError tells c what was wrong with its input and lets it leave.
func (s *Server) protocolError(c *conn, err error) {
	reason := ReasonBadHeader
	if errors.Is(err, ErrFrameTooLarge) {
		reason = ReasonFrameTooLarge
	}
	s.log.Info("protocol error", "conn", c.stream, "err", err)
	s.leave(c, reason, s.cfg.Framing.Encode(nil, fmt.Appendf(nil, "error: %v", err)))
}

// closeConn releases c at once. Events still in this batch for its token
// find the slot freed (or reused under a new generation) and are dropped.
func (s *Server) closeConn(c *conn, reason CloseReason, err error) {
	switch c.state {
	case stateClosed:
		return
	case stateMember:
		s.removeMember(c)
		s.idle.unlink(c)
	case stateLeaving:
		s.linger.unlink(c)
	}
	if c.heapIdx >= 0 {
		s.unlag(c)
	}
	c.state = stateClosed
	c.partial, c.tail = nil, nil
	s.tab.remove(c.tok)
	s.stats.Closed[reason]++
	if s.cfg.Observer != nil {
		s.cfg.Observer.Closed(c.stream, reason)
	}
	// Log before Close: a stream may describe itself by its fd.
	if err != nil {
		s.log.Debug("closed", "conn", c.stream, "reason", reason, "err", err)
	} else {
		s.log.Debug("closed", "conn", c.stream, "reason", reason)
	}
	if cerr := c.stream.Close(); cerr != nil {
		s.log.Debug("close", "err", cerr)
	}
}

// unlag removes c from the lag heap: it holds no more ring bytes.
func (s *Server) unlag(c *conn) {
	s.lag.remove(c)
	s.releaseRing()
}

// releaseRing makes the ring forget what nobody is owed any more: every
// byte before the cursor furthest behind, or all of it when no connection
// holds ring bytes. Everything that moves a cursor or leaves the lag heap
// calls it, so the ring never holds more than the largest backlog.
func (s *Server) releaseRing() {
	if len(s.lag) > 0 {
		s.ring.release(s.lag[0].cursor)
	} else {
		s.ring.release(s.ring.end)
	}
}

// removeMember drops c from the member list in O(1); order among members
// does not matter for delivery (every member gets the same ring).
func (s *Server) removeMember(c *conn) {
	i, last := c.memberIdx, len(s.members)-1
	s.members[i] = s.members[last]
	s.members[i].memberIdx = i
	s.members[last] = nil
	s.members = s.members[:last]
	c.memberIdx = -1
}
