package bugs

var emfileStrandsBacklog = Bug{
	Name: "emfile-strands-backlog",
	Seen: "classic accept-loop bug (libevent, nginx mailing lists)",
	What: "on EMFILE the server stops accepting and never retries, stranding the backlog",
	Hunks: []Hunk{{
		File: "server/accept.go",
		Find: `
			s.pauseAccept(err)
`,
		Replace: `
			if s.bugs.emfileStrandsBacklog {
				return // and wait for an edge that will not come
			}
			s.pauseAccept(err)
`,
	}},
}
