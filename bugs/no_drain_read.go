package bugs

var noDrainRead = Bug{
	Name: "no-drain-read",
	Seen: "mio docs; common in edge-triggered code",
	What: "one read per readable event: data left in the socket is stranded because no new edge comes",
	Hunks: []Hunk{{
		File: "server/read.go",
		Find: `
			if c.state != stateMember { // fell behind its own echo
				return
			}
`,
		Replace: `
			if c.state != stateMember { // fell behind its own echo
				return
			}
			if s.bugs.noDrainRead {
				return
			}
`,
	}},
}
