package server

import (
	"errors"
	"fmt"

	"github.com/mobsim/mobsim/kernel"
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
	s.framing.unlink(c)
	c.state = stateLeaving
	c.reason = reason
	c.stop = s.ring.end
	c.tail = msg
	s.setPartial(c, nil)
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
// and waits, at most LingerTimeout, until closing is safe: until the peer's
// FIN, or until the peer has acknowledged everything, FIN included
// (awaitAck). Meanwhile the read phase reads and drops what it sends
// (readDiscard): closing with unread data would reset the connection and
// destroy what it had not acknowledged yet.
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
		s.awaitAck(c)
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
	s.leave(c, reason, s.errorFrame("error: %v", err))
}

// errorFrame is the frame that tells a leaving client why: "error: ..."
// in the server's framing.
func (s *Server) errorFrame(format string, args ...any) []byte {
	return s.cfg.Framing.Encode(nil, fmt.Appendf(nil, format, args...))
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
		s.framing.unlink(c)
	case stateLeaving:
		s.linger.unlink(c)
	}
	if c.heapIdx >= 0 {
		s.unlag(c)
	}
	s.unthrottle(c)
	s.setPartial(c, nil)
	c.state = stateClosed
	c.tail = nil
	c.ackWait = false // checkAcks drops it from Server.ackWait
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
	if cerr := s.release(c.stream, reason); cerr != nil {
		s.log.Debug("close", "err", cerr)
	}
}

// release closes st: abortively when reason resets the connection and the
// kernel can (kernel.Aborter), so that its send buffer is freed at once
// instead of outliving it for a peer that does not read.
func (s *Server) release(st kernel.Stream, reason CloseReason) error {
	if reason.Resets() {
		if a, ok := st.(kernel.Aborter); ok {
			return a.Abort()
		}
	}
	return st.Close()
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
