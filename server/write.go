package server

import "github.com/mobsim/mobsim/kernel"

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
// connections that asked (writable events, leaving, budget cuts). Through a
// kernel.BatchWriter, the first write of each goes in one batch.
func (s *Server) flushAll() {
	appended := s.appended
	s.appended = false
	// Connections queued from here on (budget cuts) wait for the next tick.
	round := s.flushQ.take()
	if s.bw != nil {
		s.flushBatch(appended, round)
	} else {
		if appended {
			for _, c := range s.members { // a flush closes no member
				s.flush(c)
			}
		}
		for _, c := range round {
			c.flushAgain = false
			s.flush(c)
		}
	}
	s.flushQ.done(round)
}

// flushBatch is flushAll through the kernel's BatchWriter: the first write
// of every member (when frames were appended) and of every connection in
// round goes in one batch, each result is taken as flush takes a write's,
// and flush then writes what a short write left and finishes what it
// finishes (a leaving connection's FIN) for those the batch wrote, and
// serves the rest of round.
func (s *Server) flushBatch(appended bool, round []*conn) {
	ws := s.batch[:0]
	if appended {
		for _, c := range s.members {
			ws = s.batchWrite(ws, c)
		}
	}
	for _, c := range round {
		c.flushAgain = false
		ws = s.batchWrite(ws, c)
	}
	if len(ws) > 0 {
		s.bw.WriteBatch(ws)
		s.stats.WriteBatches++
		s.stats.BatchedWrites += uint64(len(ws))
		for i := range ws {
			w, it := &ws[i], s.batchTo[i]
			s.stats.WriteCalls++
			s.stats.BytesOut += uint64(max(w.N, 0))
			if s.wrote(it.c, w.N, w.Err, it.to) {
				s.flush(it.c)
			}
		}
		clear(ws) // hold no stream or tail past the batch
		clear(s.batchTo)
		s.batch, s.batchTo = ws[:0], s.batchTo[:0]
	}
	for _, c := range round {
		if c.batchTick != s.tick {
			s.flush(c)
		}
	}
}

// batchItem is what a batch write's result is applied to: the connection,
// and the end of the ring range the write carried.
type batchItem struct {
	c  *conn
	to uint64
}

// batchWrite appends c's first write of the tick to ws, if flush would
// make one now: c has bytes owed, room for them as far as it knows, and
// write calls left (without them it is queued for the next tick, as flush
// does). A connection goes in a tick's batch at most once.
func (s *Server) batchWrite(ws []kernel.BatchWrite, c *conn) []kernel.BatchWrite {
	if c.state == stateClosed || c.wblocked || c.werr != nil || c.batchTick == s.tick {
		return ws
	}
	s.refill(c)
	a, b, to := s.owed(c)
	switch {
	case len(a)+len(b)+len(c.tail) == 0:
		return ws
	case c.writesLeft == 0:
		s.queueFlush(c)
		return ws
	}
	c.batchTick = s.tick
	c.writesLeft--
	s.batchTo = append(s.batchTo, batchItem{c: c, to: to})
	if len(ws) == cap(ws) {
		ws = append(ws, kernel.BatchWrite{})
	} else {
		ws = ws[:len(ws)+1] // cleared after the last batch
	}
	// Field by field: a composite literal would be built aside and then
	// copied in, which costs more than the rest of the fan-out's upkeep.
	w := &ws[len(ws)-1]
	w.Stream = c.stream
	w.Bufs[0], w.Bufs[1], w.Bufs[2] = a, b, c.tail
	return ws
}

// flush writes what c is owed until done, would-block (a writable edge is
// then guaranteed), the per-tick budget (then remembered for next tick), or
// an error (then c is broken: see drainBroken).
func (s *Server) flush(c *conn) {
	if c.state == stateClosed || c.wblocked || c.werr != nil {
		return
	}
	for s.refill(c); ; {
		a, b, to := s.owed(c)
		if len(a)+len(b)+len(c.tail) == 0 {
			break
		}
		if c.writesLeft == 0 {
			s.queueFlush(c)
			return
		}
		c.writesLeft--
		n, err := s.write(c, a, b)
		if !s.wrote(c, n, err, to) {
			return
		}
	}
	if c.state == stateLeaving {
		s.finishLeaving(c)
	}
}

// owed returns the ring bytes c is owed now, as at most two slices, and
// the end of their range; c's tail follows them.
func (s *Server) owed(c *conn) (a, b []byte, to uint64) {
	to = min(s.ring.end, c.stop)
	a, b = s.ring.slices(c.cursor, to)
	return a, b, to
}

// wrote takes the result of one write to c that carried the ring up to
// `to` and then c's tail: it advances c by what was written, and on
// would-block or an error marks c and reports false (no more writes to c
// now). Writes one by one and writes in a batch both end here.
func (s *Server) wrote(c *conn, n int, err error, to uint64) bool {
	if n > 0 {
		s.advance(c, uint64(n), to)
	}
	if err == nil {
		return true
	}
	if isWouldBlock(err) {
		c.wblocked = true
		return false
	}
	c.werr = err
	c.readToEnd = true // the read phase reads it to its end
	s.brokenQ.push(c)
	return false
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
