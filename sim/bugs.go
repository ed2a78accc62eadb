package sim

import (
	"github.com/mobsim/mobsim/bugs"
	"github.com/mobsim/mobsim/server"
)

// EnableBugs switches on the named bugs of the catalog (package bugs) in s.
// Only the catalog build's server has them: in any other build a name is an
// error that says how to get that build.
func EnableBugs(s *server.Server, names []string) error { return bugs.Enable(s, names) }

// CheckBugs reports whether EnableBugs would accept names in this build,
// before any server exists: for flags.
func CheckBugs(names []string) error { return bugs.Check((*server.Server)(nil), names) }

// BugsBuilt reports whether this is the catalog build.
func BugsBuilt() bool { return bugs.Built((*server.Server)(nil)) }

// catalogCommand runs a go command on the catalog build.
const catalogCommand = bugs.Command
