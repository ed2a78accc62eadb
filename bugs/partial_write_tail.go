package bugs

var partialWriteTail = Bug{
	Name: "partial-write-tail",
	Seen: "mob#21, evio#72",
	What: "a short write is treated as complete, losing its tail",
	Hunks: []Hunk{{
		File: "server/write.go",
		Find: `
func (s *Server) wrote(c *conn, n int, err error, to uint64) bool {
`,
		Replace: `
func (s *Server) wrote(c *conn, n int, err error, to uint64) bool {
	if s.bugs.partialWriteTail && n > 0 {
		n = int(to-c.cursor) + len(c.tail)
	}
`,
	}},
}
