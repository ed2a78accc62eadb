package bugs

var noDrainAccept = Bug{
	Name: "no-drain-accept",
	Seen: "mio#845",
	What: "one accept per listener event: connections left in the backlog are stranded",
	Hunks: []Hunk{{
		File: "server/accept.go",
		Find: `
		s.admit(st)
`,
		Replace: `
		s.admit(st)
		if s.bugs.noDrainAccept {
			return
		}
`,
	}},
}
