package bugs

var unboundedQueue = Bug{
	Name: "unbounded-queue",
	Seen: "mob, gnet",
	What: "no per-connection queue limit: a client that never reads grows the server's memory without bound",
	Hunks: []Hunk{{
		File: "server/write.go",
		Find: `
	for len(s.lag) > 0 && end-s.lag[0].cursor > limit {
`,
		Replace: `
	for len(s.lag) > 0 && end-s.lag[0].cursor > limit && !s.bugs.unboundedQueue {
`,
	}},
}
