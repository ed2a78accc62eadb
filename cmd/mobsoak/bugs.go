package main

import (
	"github.com/mobsim/mobsim/bugs"
	"github.com/mobsim/mobsim/server"
)

// bugsBuilt says whether -bug can work: only the catalog build's server has
// the knobs.
var bugsBuilt = bugs.Built((*server.Server)(nil))
