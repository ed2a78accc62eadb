//go:build mobbugs

package main

import "github.com/mobsim/mobsim/server"

// bugsBuilt says whether -bug can work: this build has the bug catalog.
const bugsBuilt = true

// enableBug switches on a catalog bug in the child's server, to show that
// the soak's oracle catches it on real sockets.
func enableBug(s *server.Server, name string) error { return s.EnableBug(name) }
