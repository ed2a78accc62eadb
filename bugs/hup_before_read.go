package bugs

var hupBeforeRead = Bug{
	Name: "hup-before-read",
	Seen: "mob",
	What: "a read-closed or hang-up hint closes the connection before the frames sent ahead of the FIN are read",
	Hunks: []Hunk{{
		File: "server/server.go",
		Find: `
	// Read first: a FIN or error hint comes with data sent before it.
`,
		Replace: `
	if s.bugs.hupBeforeRead && c.state == stateMember &&
		ev.Ready&(kernel.ReadyReadClosed|kernel.ReadyWriteClosed|kernel.ReadyError) != 0 {
		s.closeConn(c, ReasonEOF, nil)
		return
	}
	// Read first: a FIN or error hint comes with data sent before it.
`,
	}},
}
