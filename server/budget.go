package server

import "encoding/binary"

// The input budget. Complete frames are broadcast from the shared read
// buffer and cost nothing to keep; only the start of a frame still
// arriving is copied into its connection's partial buffer, and those
// buffers are bounded as a whole: the capacity of every buffer that holds
// part of a frame, summed over every connection, never exceeds
// InputBytesMax. A buffer grows by doubling, up to what its frame can need
// (the size a mob header announces, or FrameBytesMax for a line) and never
// past it, and is freed once its frame is out unless it is small
// (PartialKeepBytesMax): an emptied buffer kept for the next frame is not
// charged to the budget until that frame needs it, so at most
// ConnsMax × PartialKeepBytesMax more is kept, and a client's legal frame
// is never refused room that an idle kept buffer takes.
//
// At the budget the largest holder is evicted: it leaves with an
// "error: input budget ..." frame (reason input-budget), is flushed what
// it is owed, and its buffer is freed. Holding back instead (not reading
// the holders until room frees up) could deadlock: every holder needs
// more room to complete its frame, and none frees any. Evicting the
// largest frees the most for the fewest evictions, and leaves clients
// that send complete frames, or small ones, served. FrameTimeout bounds
// how long any buffer is held at all.

// partialMinBytes is the first capacity of a partial-frame buffer: small
// frames split across reads take one allocation, not several.
const partialMinBytes = 64

// keep appends p to c's partial frame within the input budget, and
// reports whether c is still a member: making room may evict it.
func (s *Server) keep(c *conn, p []byte) bool {
	need := len(c.partial) + len(p)
	switch {
	case need > cap(c.partial):
		grow := s.partialCap(c, need)
		if !s.reserveInput(c, grow-c.charged) {
			return false
		}
		buf := make([]byte, len(c.partial), grow)
		copy(buf, c.partial)
		s.setPartial(c, buf)
	case c.charged < cap(c.partial): // a kept buffer taken up again
		if !s.reserveInput(c, cap(c.partial)-c.charged) {
			return false
		}
		s.charge(c)
	}
	c.partial = append(c.partial, p...)
	return true
}

// partialCap is the capacity to give c's partial buffer so it can hold
// need bytes: double what it has (at least partialMinBytes), but never more
// than its frame can take.
func (s *Server) partialCap(c *conn, need int) int {
	most := s.cfg.FrameBytesMax // a partial line never holds its newline
	if s.cfg.Framing == FramingMob {
		most += MobHeaderBytes
		if len(c.partial) >= MobHeaderBytes {
			// The header is valid (completePartial checked it): the frame
			// is exactly this long.
			most = MobHeaderBytes + int(binary.BigEndian.Uint64(c.partial))
		}
	}
	return max(need, min(max(2*cap(c.partial), partialMinBytes), most))
}

// reserveInput makes room for delta more bytes of partial buffers for c,
// evicting the largest holders while the budget would be exceeded. It
// reports whether c is still a member: it may be the largest itself.
func (s *Server) reserveInput(c *conn, delta int) bool {
	for s.inputHeld+delta > s.cfg.InputBytesMax && len(s.holders) > 0 {
		h := s.holders[0]
		s.stats.InputEvictions++
		s.log.Info("input budget", "conn", h.stream, "partial_bytes", cap(h.partial),
			"held_bytes", s.inputHeld, "input_bytes_max", s.cfg.InputBytesMax)
		s.leave(h, ReasonInputBudget, s.errorFrame("error: input budget: %d bytes of unfinished frames held, limit %d; this connection held the most (%d)",
			s.inputHeld, s.cfg.InputBytesMax, cap(h.partial)))
		if h == c {
			return false
		}
	}
	return c.state == stateMember
}

// setPartial replaces c's partial buffer (nil frees it) and charges it.
func (s *Server) setPartial(c *conn, buf []byte) {
	c.partial = buf
	s.charge(c)
}

// charge makes the budget's account of c its buffer's capacity, keeping
// the holders' heap: the connections charged, largest first.
func (s *Server) charge(c *conn) { s.setCharge(c, cap(c.partial)) }

// keepEmpty keeps c's emptied buffer for its next frame, uncharged.
func (s *Server) keepEmpty(c *conn) {
	c.partial = c.partial[:0]
	s.setCharge(c, 0)
}

func (s *Server) setCharge(c *conn, n int) {
	s.inputHeld += n - c.charged
	c.charged = n
	switch {
	case n == 0 && c.holdIdx >= 0:
		s.holders.remove(c)
	case n > 0 && c.holdIdx < 0:
		s.holders.push(c)
	case n > 0:
		s.holders.fix(c.holdIdx)
	}
	s.stats.InputBytesHi = max(s.stats.InputBytesHi, uint64(s.inputHeld))
}

// timeFrame keeps member c in the frame timer's list while it holds a
// partial frame, by when that frame began: now if began (it started in
// the data just consumed).
func (s *Server) timeFrame(c *conn, began bool) {
	switch {
	case c.state != stateMember || len(c.partial) == 0:
		s.framing.unlink(c)
	case began || !c.timers[timerFrame].linked:
		s.framing.touch(c, s.now)
	}
}
