package bugs

var missingToken = Bug{
	Name: "missing-token",
	Seen: "mob (hjr3/mob, 2015)",
	What: "an event is handled without checking its token is live: a batch holding a read and a write event for one connection panics when the read closes it",
	Hunks: []Hunk{{
		File: "server/server.go",
		Find: `
	c := s.tab.get(ev.Token)
`,
		Replace: `
	c := s.tab.get(ev.Token)
	if s.bugs.missingToken {
		c = s.tab.conns[slotOf(ev.Token)] // no liveness check: may be nil
	}
`,
	}},
}
