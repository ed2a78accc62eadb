package bugs

var spuriousWritableCloses = Bug{
	Name: "spurious-writable-closes",
	Seen: "mob",
	What: "a writable event with nothing queued is taken as an error and closes a healthy connection",
	Hunks: []Hunk{{
		File: "server/server.go",
		Find: `
	if ev.Writable() && c.state != stateClosed {
`,
		Replace: `
	if ev.Writable() && c.state != stateClosed {
		if s.bugs.spuriousWritableCloses && c.state == stateMember && c.pendingAll(s.ring.end) == 0 {
			s.closeConn(c, ReasonWriteError, nil)
			return
		}
`,
	}},
}
