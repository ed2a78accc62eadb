package bugs

var splitFrame = Bug{
	Name: "split-frame",
	Seen: `mob ("did not read enough bytes")`,
	What: "a frame is assumed to arrive in one read; the start of a split frame is thrown away",
	Hunks: []Hunk{{
		File: "server/read.go",
		Find: `
			s.keep(c, data)
`,
		Replace: `
			if !s.bugs.splitFrame {
				s.keep(c, data)
			}
`,
	}},
}
