package bugs

var partialWriteTail = Bug{
	Name: "partial-write-tail",
	Seen: "mob#21, evio#72",
	What: "a short write is treated as complete, losing its tail",
	Hunks: []Hunk{{
		File: "server/write.go",
		Find: `
		n, err := s.write(c, a, b)
`,
		Replace: `
		n, err := s.write(c, a, b)
		if s.bugs.partialWriteTail && n > 0 {
			n = len(a) + len(b) + len(c.tail)
		}
`,
	}},
}
