package server

import "fmt"

// check verifies the core's internal invariants: the places that should
// agree do. Tests and the simulator call it after every step; it is O(n).
func (s *Server) check() error {
	live, charged := 0, 0
	for slot, c := range s.tab.conns {
		if c == nil {
			continue
		}
		live++
		if slotOf(c.tok) != uint32(slot) || genOf(c.tok) != s.tab.gens[slot] {
			return fmt.Errorf("slot %d holds token %#x", slot, uint64(c.tok))
		}
		switch c.state {
		case stateMember:
			if c.memberIdx < 0 || c.memberIdx >= len(s.members) || s.members[c.memberIdx] != c {
				return fmt.Errorf("member %#x not at its member index", uint64(c.tok))
			}
		case stateLeaving:
		default:
			return fmt.Errorf("slot %d holds a connection in state %d", slot, c.state)
		}
		if owed := c.pending(s.ring.end); owed > uint64(s.cfg.QueueBytesMax) {
			return fmt.Errorf("connection %#x is owed %d bytes, over QueueBytesMax %d", uint64(c.tok), owed, s.cfg.QueueBytesMax)
		}
		if c.cursor < s.ring.head && c.pending(s.ring.end) > 0 {
			return fmt.Errorf("connection %#x is owed bytes the ring released", uint64(c.tok))
		}
		if c.heapIdx >= 0 && (c.heapIdx >= len(s.lag) || s.lag[c.heapIdx] != c) {
			return fmt.Errorf("connection %#x not at its heap index", uint64(c.tok))
		}
		if c.heapIdx < 0 && c.pending(s.ring.end) > 0 {
			return fmt.Errorf("connection %#x is owed ring bytes but is not in the lag heap", uint64(c.tok))
		}
		if err := s.checkCharge(c); err != nil {
			return err
		}
		charged += c.charged
	}
	if charged != s.inputHeld || s.inputHeld > s.cfg.InputBytesMax {
		return fmt.Errorf("input budget: connections charged %d bytes, the account says %d, InputBytesMax %d", charged, s.inputHeld, s.cfg.InputBytesMax)
	}
	if s.appended {
		return fmt.Errorf("frames appended after the tick's fan-out: nothing would flush them")
	}
	if live != s.tab.live {
		return fmt.Errorf("table counts %d live, holds %d", s.tab.live, live)
	}
	return s.checkRing()
}

// checkCharge verifies c's part of the input budget: a buffer holding
// part of a frame is charged its capacity and sits in the holders' heap;
// an empty one is charged nothing, or its capacity if its next frame
// has reserved it.
func (s *Server) checkCharge(c *conn) error {
	switch {
	case c.charged != 0 && c.charged != cap(c.partial),
		len(c.partial) > 0 && c.charged == 0:
		return fmt.Errorf("connection %#x: buffer of %d bytes (%d used) charged %d", uint64(c.tok), cap(c.partial), len(c.partial), c.charged)
	case (c.charged > 0) != (c.holdIdx >= 0) || (c.holdIdx >= 0 && (c.holdIdx >= len(s.holders) || s.holders[c.holdIdx] != c)):
		return fmt.Errorf("connection %#x: charged %d but holders' index %d", uint64(c.tok), c.charged, c.holdIdx)
	}
	return nil
}

// checkRing verifies the lag heap and the ring it bounds.
func (s *Server) checkRing() error {
	for i := 1; i < len(s.lag); i++ {
		if s.lag.less(i, (i-1)/2) {
			return fmt.Errorf("lag heap out of order at %d", i)
		}
	}
	head := s.ring.end
	if len(s.lag) > 0 {
		head = s.lag[0].cursor
	}
	if s.ring.head != head {
		return fmt.Errorf("ring head %d, but the cursor furthest behind is %d (a release was missed)", s.ring.head, head)
	}
	if s.ring.used() > uint64(len(s.ring.buf)) {
		return fmt.Errorf("ring holds %d bytes in a %d-byte buffer", s.ring.used(), len(s.ring.buf))
	}
	if s.ring.used() > uint64(s.cfg.QueueBytesMax) {
		return fmt.Errorf("ring retains %d bytes, over QueueBytesMax %d", s.ring.used(), s.cfg.QueueBytesMax)
	}
	return nil
}

// Check verifies the core's internal invariants (table, member list, lag
// heap, ring bounds). It is O(connections), for tests and the simulator.
func (s *Server) Check() error { return s.check() }
