package bugs

var lifoQueue = Bug{
	Name: "lifo-queue",
	Seen: "mob, before it switched to a deque",
	What: "queued frames are sent last-in-first-out",
	Hunks: []Hunk{{
		File: "server/write.go",
		Find: `
	a, b = s.ring.slices(c.cursor, to)
`,
		Replace: `
	a, b = s.ring.slices(c.cursor, to)
	if s.bugs.lifoQueue {
		a, b = s.lifo(a, b)
	}
`,
	}},
	Files: []File{{
		Path: "server/bug_lifo_queue.go",
		Text: `package server

// lifo returns the pending bytes a+b with their frames in reverse order.
func (s *Server) lifo(a, b []byte) ([]byte, []byte) {
	all := append(append([]byte(nil), a...), b...)
	var frames [][]byte
	for rest := all; len(rest) > 0; {
		n, err := s.cfg.Framing.Scan(rest, s.cfg.FrameBytesMax)
		if err != nil || n == 0 {
			frames = append(frames, rest)
			break
		}
		frames = append(frames, rest[:n])
		rest = rest[n:]
	}
	out := make([]byte, 0, len(all))
	for i := len(frames) - 1; i >= 0; i-- {
		out = append(out, frames[i]...)
	}
	return out, nil
}
`,
	}},
}
