package server

import (
	"bytes"
	"errors"
	"io"
)

// readReady handles read readiness for c according to its state.
func (s *Server) readReady(c *conn) {
	switch c.state {
	case stateMember:
		s.readFrames(c)
	case stateLeaving:
		s.readDiscard(c)
	}
}

// resumeReads continues reads a budget cut short on an earlier tick.
func (s *Server) resumeReads() {
	round := s.readQ.take()
	for _, c := range round {
		c.readAgain = false
		s.readReady(c)
	}
	s.readQ.done(round)
}

func (s *Server) queueRead(c *conn) {
	if !c.readAgain {
		c.readAgain = true
		s.readQ.push(c)
	}
}

// readEnd is what a read says about the stream after its bytes.
type readEnd uint8

const (
	readMore      readEnd = iota // bytes came; more may be waiting
	readDrained                  // would-block, or a short read: the next arrival brings an edge
	readBudget                   // the tick's read budget is spent; no read made
	readThrottled                // the input rate is spent: stopped until a timer resumes it
	readEOF                      // the peer's FIN
	readFailed                   // any other error: the connection is broken
)

// read makes one read from c within its per-tick read budget and, if
// limited, its input rate, and counts it. It is the core's only read of a
// stream; its callers decide what the bytes and the end mean. The bytes
// stay valid until the next read.
//
// A short read (fewer bytes than this call asked for, the budget's or the
// rate's cut included) drains the stream as would-block does: the seam
// promises an edge for the next arrival, so the read that would only say
// so is saved. Not once an event hinted at a FIN or an error, or a write
// failed (c.readToEnd): that end came with the bytes and no edge will
// announce it again, so reading goes on to it. Nor before a close that
// must not reset the connection (closeLate): no edge can be waited for
// there, so reading goes on to would-block, whatever the kernel's short
// reads promise.
func (s *Server) read(c *conn, limited bool) ([]byte, readEnd, error) {
	s.refill(c)
	if c.readLeft <= 0 {
		return nil, readBudget, nil
	}
	asked := min(len(s.rbuf), c.readLeft)
	if limited && s.cfg.InputRateBytesPerSec > 0 {
		if c.throttled || !s.earn(c) {
			return nil, readThrottled, nil
		}
		asked = int(min(int64(asked), c.tokens))
	}
	n, err := c.stream.Read(s.rbuf[:asked])
	n = max(n, 0)
	s.stats.ReadCalls++
	s.stats.BytesIn += uint64(n)
	c.readLeft -= n
	c.tokens -= int64(n)
	p := s.rbuf[:n]
	switch {
	case err == nil && n > 0 && (n == asked || c.readToEnd):
		return p, readMore, nil
	case err == nil || isWouldBlock(err):
		return p, readDrained, nil
	case errors.Is(err, io.EOF):
		return p, readEOF, nil
	default:
		return p, readFailed, err
	}
}

// readFrames reads until would-block or a short read (edge-triggered:
// stopping early strands data) and broadcasts every complete frame. It reads at most
// ReadBytesPerTickMax per tick and remembers the rest of the work.
func (s *Server) readFrames(c *conn) {
	for {
		p, end, err := s.read(c, true)
		if len(p) > 0 {
			if perr := s.consume(c, p); perr != nil {
				s.protocolError(c, perr)
				s.readDiscard(c) // keep draining: no edge is promised for what is left
				return
			}
			if c.state != stateMember { // fell behind its own echo
				return
			}
		}
		switch end {
		case readMore:
			continue
		case readBudget:
			s.queueRead(c)
		case readThrottled:
			s.throttle(c)
		case readEOF:
			c.eof = true
			s.leave(c, ReasonEOF, nil)
		case readFailed:
			s.closeConn(c, ReasonReset, err)
		}
		return
	}
}

// readDiscard reads and drops what a leaving connection sends, to see its
// FIN: closing a socket with unread data resets it, and a reset can destroy
// output the peer has not acknowledged yet. A peer that goes on sending is
// read at its input rate, like a member, and cut only when that costs it
// nothing it is owed (see lingerCut).
func (s *Server) readDiscard(c *conn) {
	for {
		p, end, err := s.read(c, true)
		if c.dropped += len(p); c.dropped > s.cfg.LingerBytesMax && s.lingerCut(c) {
			return
		}
		switch end {
		case readMore:
			continue
		case readBudget:
			s.queueRead(c)
		case readThrottled:
			s.throttle(c)
		default:
			s.discardEnd(c, end, err)
		}
		return
	}
}

// lastDrain is a leaving connection's last read, before the caller closes
// it: it reads and drops what the peer sent to would-block or the peer's
// FIN, past the tick's read budget and the input rate (no edge and no
// timer will come for what they leave: the close follows), and past short
// reads. LingerBytesMax bounds it instead: it reports false if the peer
// sent more than that in it, so that input may be left unread (c is still
// open then, and the close resets it).
func (s *Server) lastDrain(c *conn) bool {
	s.refill(c)
	c.readLeft = max(c.readLeft, s.cfg.LingerBytesMax+1)
	c.readToEnd = true
	for drained := 0; ; {
		p, end, err := s.read(c, false)
		c.dropped += len(p)
		if drained += len(p); drained > s.cfg.LingerBytesMax {
			return false
		}
		switch end {
		case readMore:
			continue
		case readBudget:
			return false // not reached: the budget holds LingerBytesMax+1
		}
		s.discardEnd(c, end, err)
		return true
	}
}

// discardEnd handles the end of a leaving connection's reads: a FIN closes
// it once it was written everything (or its FIN), a reset closes it.
func (s *Server) discardEnd(c *conn, end readEnd, err error) {
	switch end {
	case readEOF:
		c.eof = true
		if c.wclosed || c.pendingAll(s.ring.end) == 0 {
			s.closeConn(c, c.reason, nil)
		}
	case readFailed:
		// A peer that resets after taking everything (and our FIN)
		// still got all it was owed: count the reason it left for.
		reason := ReasonReset
		if c.flushed(s.ring.end) {
			reason = c.reason
		}
		s.closeConn(c, reason, err)
	}
}

// consume takes input read from member c: it cuts data into frames,
// completing c's partial frame first, and broadcasts each while c is a
// member (each restarts c's idle timer: idle time is counted in complete
// frames). Bytes after a protocol error, or after the frame
// that closed c, are dropped with the connection; the frames before are
// already out.
func (s *Server) consume(c *conn, data []byte) error {
	// A partial frame left at the end began in data if c held none before
	// or completed one in it.
	frames, fresh := s.stats.FramesIn, len(c.partial) == 0
	err := s.cut(c, data)
	s.timeFrame(c, fresh || s.stats.FramesIn != frames)
	return err
}

// cut is consume's framing: it completes c's partial frame, then
// broadcasts every complete frame in data and keeps the start of the last
// one if it is incomplete.
func (s *Server) cut(c *conn, data []byte) error {
	if len(c.partial) > 0 {
		n, err := s.completePartial(c, data)
		if err != nil {
			return err
		}
		data = data[n:]
	}
	// A frame can close its own sender (it fell more than QueueBytesMax
	// behind its own echo): the rest of what it sent goes with it.
	for len(data) > 0 && c.state == stateMember {
		n, err := s.cfg.Framing.Scan(data, s.cfg.FrameBytesMax)
		if err != nil {
			return err
		}
		if n == 0 {
			s.keep(c, data)
			return nil
		}
		s.broadcast(c, data[:n], nil)
		data = data[n:]
	}
	return nil
}

// completePartial extends c's partial frame from data and broadcasts it once
// complete. It returns how many bytes of data it used.
func (s *Server) completePartial(c *conn, data []byte) (int, error) {
	f, bodyMax := s.cfg.Framing, s.cfg.FrameBytesMax
	used := 0
	if f == FramingMob && len(c.partial) < MobHeaderBytes {
		used = min(MobHeaderBytes-len(c.partial), len(data))
		if !s.keep(c, data[:used]) {
			return len(data), nil // evicted for the input budget: the rest goes with it
		}
		if len(c.partial) < MobHeaderBytes {
			return used, nil
		}
	}
	rest := data[used:]
	var need int
	if f == FramingMob {
		size, err := mobBodySize(c.partial, bodyMax)
		if err != nil {
			return used, err
		}
		need = MobHeaderBytes + size - len(c.partial)
	} else {
		// The partial line holds no newline; find the one that ends it.
		room := bodyMax - len(c.partial)
		if i := bytes.IndexByte(rest[:min(len(rest), room+1)], '\n'); i >= 0 {
			need = i + 1
		} else if len(rest) > room {
			return used, errLineTooLong(bodyMax)
		} else {
			need = len(rest) + 1 // not complete yet
		}
	}
	if len(rest) < need {
		s.keep(c, rest)
		return len(data), nil
	}
	s.broadcast(c, c.partial, rest[:need])
	if cap(c.partial) > s.cfg.PartialKeepBytesMax {
		s.setPartial(c, nil)
	} else {
		s.keepEmpty(c)
	}
	return used + need, nil
}

// drainBroken serves, first in a tick's read phase, the connections a write
// failed on in the tick before (see readBroken). Before the batch: no frame
// read in this tick can push one past the queue limit first.
func (s *Server) drainBroken() {
	round := s.brokenQ.take()
	for _, c := range round {
		s.readBroken(c)
	}
	s.brokenQ.done(round)
}

// readBroken reads what a member sent before its connection broke (a write
// to it failed), broadcasts those frames as had its read event come first,
// and closes it: frames sent ahead of a reset are not lost. The connection
// is closing either way, so an EOF here is not a FIN to leave for and a
// protocol error is not answered. A read budget cut leaves the rest for the
// next tick.
func (s *Server) readBroken(c *conn) {
	for c.state == stateMember {
		p, end, err := s.read(c, false) // it is closing: no rate to keep
		if len(p) > 0 && s.consume(c, p) != nil {
			break
		}
		switch end {
		case readMore:
			continue
		case readBudget:
			s.brokenQ.push(c)
			return
		case readFailed:
			s.closeConn(c, ReasonReset, err) // the read met the reset itself
			return
		}
		break
	}
	s.closeConn(c, ReasonWriteError, c.werr)
}
