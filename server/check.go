package server

import "fmt"

// check verifies the core's internal invariants: the places that should
// agree do. Tests and the simulator call it after every step; it is O(n).
func (s *Server) check() error {
	live := 0
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
	}
	if s.appended {
		return fmt.Errorf("frames appended after the tick's fan-out: nothing would flush them")
	}
	if live != s.tab.live {
		return fmt.Errorf("table counts %d live, holds %d", s.tab.live, live)
	}
	return s.checkRing()
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
