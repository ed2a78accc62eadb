package bugs

var dropOnWouldBlock = Bug{
	Name: "drop-on-wouldblock",
	Seen: "common in naive event loops",
	What: "output is dropped instead of queued when a write would block",
	Hunks: []Hunk{{
		File: "server/write.go",
		Find: `
	if isWouldBlock(err) {
		c.wblocked = true
`,
		Replace: `
	if isWouldBlock(err) {
		if s.bugs.dropOnWouldblock {
			s.advance(c, to-c.cursor+uint64(len(c.tail)), to)
			return false
		}
		c.wblocked = true
`,
	}},
}
