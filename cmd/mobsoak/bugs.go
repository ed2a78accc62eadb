package main

import (
	"github.com/mobsim/mobsim/bugs"
	"github.com/mobsim/mobsim/server"
)

// bugsBuilt says whether -bug can work: only the catalog build's server has
// the knobs.
var bugsBuilt = bugs.Built((*server.Server)(nil))

// enableBug switches on a catalog bug in the child's server, to show that
// the soak's oracle catches it on real sockets.
func enableBug(s *server.Server, name string) error { return bugs.Enable(s, []string{name}) }
