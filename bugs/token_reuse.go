package bugs

var tokenReuse = Bug{
	Name: "token-reuse",
	Seen: "mio#172, redis#333, libuv#971",
	What: "the generation is ignored, so a slot freed and reused inside one batch receives the old connection's stale hang-up, which kills the new connection",
	Hunks: []Hunk{{
		File: "server/server.go",
		Find: `
	c := s.tab.get(ev.Token)
`,
		Replace: `
	c := s.tab.get(ev.Token)
	stale := false
	if s.bugs.tokenReuse && c == nil {
		c, stale = s.tab.bySlot(ev.Token), true
	}
`,
	}, {
		File: "server/server.go",
		Find: `
		s.readReady(c)
	}
`,
		Replace: `
		s.readReady(c)
	}
	if s.bugs.tokenReuse && stale && c.state != stateClosed &&
		ev.Ready&(kernel.ReadyReadClosed|kernel.ReadyWriteClosed|kernel.ReadyError) != 0 {
		s.closeConn(c, ReasonReset, nil) // the old connection's hang-up, believed
		return
	}
`,
	}},
	Files: []File{{
		Path: "server/bug_token_reuse.go",
		Text: `package server

import "github.com/mobsim/mobsim/kernel"

// bySlot returns the connection in tok's slot whatever its generation.
func (t *table) bySlot(tok kernel.Token) *conn {
	if slot := slotOf(tok); uint64(slot) < uint64(len(t.conns)) {
		return t.conns[slot]
	}
	return nil
}
`,
	}},
}
