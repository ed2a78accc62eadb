package bugs

var noWritableInterest = Bug{
	Name: "no-writable-interest",
	Seen: "common",
	What: "output is queued but writable interest is never registered, so nothing says when to flush it",
	Hunks: []Hunk{{
		File: "server/accept.go",
		Find: `
	if err := s.poller.Register(st, c.tok, kernel.InterestRead|kernel.InterestWrite); err != nil {
`,
		Replace: `
	interest := kernel.InterestRead | kernel.InterestWrite
	if s.bugs.noWritableInterest {
		interest = kernel.InterestRead
	}
	if err := s.poller.Register(st, c.tok, interest); err != nil {
`,
	}},
}
