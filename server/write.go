package server

// broadcast appends one frame (a then b), read from `from`, to the ring for
// every member. A connection that would then be owed more than
// QueueBytesMax is closed first, so the ring never holds more than that.
func (s *Server) broadcast(from *conn, a, b []byte) {
	if s.cfg.Observer != nil {
		s.cfg.Observer.Frame(from.stream, a, b)
	}
	s.idle.touch(from, s.now) // idle time counts complete frames, not bytes
	n := uint64(len(a) + len(b))
	end := s.ring.end + n
	limit := uint64(s.cfg.QueueBytesMax)
	for len(s.lag) > 0 && end-s.lag[0].cursor > limit {
		c := s.lag[0]
		s.log.Info("queue limit", "conn", c.stream, "owed", c.pending(s.ring.end), "behind", s.ring.end-c.cursor, "queue_bytes_max", limit)
		s.closeConn(c, ReasonQueueLimit, nil)
	}
	s.ring.reserve(int(n))
	s.ring.append(a)
	s.ring.append(b)
	s.stats.FramesIn++
	s.stats.FramesOut += uint64(len(s.members))
	if len(s.lag) > 0 {
		s.stats.QueuedBytesHi = max(s.stats.QueuedBytesHi, end-s.lag[0].cursor)
	} else {
		s.releaseRing() // nobody to deliver to
	}
	s.appended = true
}

func (s *Server) queueFlush(c *conn) {
	if !c.flushAgain {
		c.flushAgain = true
		s.flushQ.push(c)
	}
}

// flushAll writes out what the tick produced: to every member when frames
// were appended (one coalesced write each for the whole batch), then to the
// connections that asked (writable events, leaving, budget cuts).
func (s *Server) flushAll() {
	if s.appended {
		s.appended = false
		for _, c := range s.members { // a flush closes no member
			s.flush(c)
		}
	}
	// Connections queued from here on (budget cuts) wait for the next tick.
	round := s.flushQ.take()
	for _, c := range round {
		c.flushAgain = false
		s.flush(c)
	}
	s.flushQ.done(round)
}

// flush writes what c is owed until done, would-block (a writable edge is
// then guaranteed), the per-tick budget (then remembered for next tick), or
// an error (then c is broken: see drainBroken).
func (s *Server) flush(c *conn) {
	if c.state == stateClosed || c.wblocked || c.werr != nil {
		return
	}
	for s.refill(c); ; {
		to := min(s.ring.end, c.stop)
		a, b := s.ring.slices(c.cursor, to)
		if len(a)+len(b)+len(c.tail) == 0 {
			break
		}
		if c.writesLeft == 0 {
			s.queueFlush(c)
			return
		}
		c.writesLeft--
		n, err := s.write(c, a, b)
		if n > 0 {
			s.advance(c, uint64(n), to)
		}
		if err != nil {
			if isWouldBlock(err) {
				c.wblocked = true
				return
			}
			c.werr = err
			s.brokenQ.push(c)
			return
		}
	}
	if c.state == stateLeaving {
		s.finishLeaving(c)
	}
}

// write makes one write call for a, b and c's tail, using writev when the
// stream has it and there is more than one piece.
func (s *Server) write(c *conn, a, b []byte) (n int, err error) {
	switch {
	case len(b) == 0 && len(c.tail) == 0:
		n, err = c.stream.Write(a) // the usual case: one contiguous run
	case c.vw == nil:
		p := a
		if len(p) == 0 {
			p = b
		}
		if len(p) == 0 {
			p = c.tail
		}
		n, err = c.stream.Write(p)
	default:
		iov := s.iov[:0]
		for _, p := range [...][]byte{a, b, c.tail} {
			if len(p) > 0 {
				iov = append(iov, p)
			}
		}
		n, err = c.vw.Writev(iov)
		clear(s.iov[:]) // hold no reference to a tail past this call
	}
	s.stats.WriteCalls++
	s.stats.BytesOut += uint64(max(n, 0))
	return n, err
}

// advance records n bytes written to c: ring bytes up to `to` first, then
// its tail.
func (s *Server) advance(c *conn, n, to uint64) {
	k := min(n, to-c.cursor)
	c.cursor += k
	c.tail = c.tail[n-k:]
	if c.heapIdx < 0 {
		return
	}
	if c.state == stateLeaving && c.cursor >= c.stop {
		s.unlag(c) // owed nothing more from the ring
		return
	}
	s.lag.down(c.heapIdx) // a cursor only grows: it can only sink
	s.releaseRing()
}
