package bugs

var fanoutErrorDropsSender = Bug{
	Name: "fanout-error-drops-sender",
	Seen: "mob",
	What: "a failed write to one peer closes the sender and skips the rest of the fan-out",
	Hunks: []Hunk{{
		File: "server/server.go",
		Find: `
	stats Stats
`,
		Replace: `
	stats Stats

	fanoutSender *conn // the latest frame's sender
	fanoutFailed bool  // a write failed since the last fan-out check
`,
	}, {
		File: "server/write.go",
		Find: `
func (s *Server) broadcast(from *conn, a, b []byte) {
`,
		Replace: `
func (s *Server) broadcast(from *conn, a, b []byte) {
	if s.bugs.fanoutErrorDropsSender {
		s.fanoutSender = from
	}
`,
	}, {
		File: "server/write.go",
		Find: `
			for _, c := range s.members { // a flush closes no member
				s.flush(c)
`,
		Replace: `
			for _, c := range s.members { // a flush closes no member
				s.flush(c)
				if s.bugs.fanoutErrorDropsSender && s.fanoutFailed {
					s.fanoutFailed = false
					if snd := s.fanoutSender; snd != nil && snd.state != stateClosed {
						s.closeConn(snd, ReasonWriteError, nil)
					}
					break // and skip the rest of the fan-out
				}
`,
	}, {
		// Through a batch every write is made already; the sender is
		// closed all the same.
		File: "server/write.go",
		Find: `
			if s.wrote(it.c, w.N, w.Err, it.to) {
				s.flush(it.c)
			}
`,
		Replace: `
			if s.wrote(it.c, w.N, w.Err, it.to) {
				s.flush(it.c)
			}
			if s.bugs.fanoutErrorDropsSender && s.fanoutFailed {
				s.fanoutFailed = false
				if snd := s.fanoutSender; snd != nil && snd.state != stateClosed {
					s.closeConn(snd, ReasonWriteError, nil)
				}
			}
`,
	}, {
		File: "server/write.go",
		Find: `
	c.werr = err
`,
		Replace: `
	if s.bugs.fanoutErrorDropsSender {
		s.fanoutFailed = true
	}
	c.werr = err
`,
	}},
}
